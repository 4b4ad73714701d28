"""What the documents are made of: a run's findings with their review, decisions and ledger status."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..registry.models import CLOSED, AuditRun, Decision, Department, Device, Finding, LedgerItem
from ..registry.models import Problem as ProblemRecord
from ..rules.findings import current_runs
from ..rules.profiles import profile_title
from .common import zh_date

NO_DEPARTMENT = "（未注明单位）"


class ExportError(ValueError):
    """An export that cannot be made, with a message for the user."""


@dataclass(frozen=True)
class Options:
    """What every document is asked for (see audit.exports.export)."""

    department: str | None = None
    as_of: dt.date | None = None
    run_id: int | None = None
    case_finding_id: int | None = None
    issuer: str | None = None

    @property
    def day(self) -> dt.date:
        return self.as_of or dt.date.today()


def latest_run(session: Session, department: str | None = None) -> AuditRun | None:
    """The department's current run (audit.findings.current_runs): its latest own run or the latest run of all
    departments, whichever is newer. Without a department, the latest run of all departments: a later run of one
    department does not cover the others."""
    run_id = current_runs(session).of(department)
    return None if run_id is None else session.get(AuditRun, run_id)


def resolve_run(session: Session, run_id: int | None, department: str | None = None) -> AuditRun:
    if run_id is None:
        run = latest_run(session, department)
        if run is None and not department and session.scalar(select(AuditRun.id).limit(1)) is not None:
            raise ExportError("还没有覆盖全部单位的审查记录（已有的审查只涉及单个单位）：请先对全部单位运行审查，"
                              "或指定单位后导出。")
        if run is None:
            raise ExportError("还没有审查记录：请先运行审查（网页“总览”中的运行审查，或命令 camaudit audit），再导出。")
        return run
    run = session.get(AuditRun, run_id)
    if run is None:
        raise ExportError(f"没有编号为 {run_id} 的审查记录。")
    if department and run.department and run.department != department:
        raise ExportError(f"第 {run_id} 次审查只涉及“{run.department}”，不含“{department}”。")
    return run


def check_department(session: Session, department: str | None) -> None:
    if department and session.scalar(select(Department.id).where(Department.name == department)) is None:
        raise ExportError(f"没有名为“{department}”的单位；请核对单位名称（已有单位见设备列表的单位筛选，或命令 camaudit departments）。")


def one_department(session: Session, opts: Options, document: str, purpose: str = "报送") -> str:
    """The one department a department's document is of (checked), or ExportError saying it must be chosen."""
    if not opts.department:
        raise ExportError(f"{document}须指明一个单位：请选择{purpose}的单位。")
    check_department(session, opts.department)
    return opts.department


def rule_title(rule: str) -> str:
    from ..rules import get_rule

    try:
        return get_rule(rule).title_zh
    except KeyError:
        return rule


@dataclass
class Handling:
    """How a problem has been handled: its latest ledger item and the latest suspend and keep decisions citing it."""

    item: LedgerItem | None = None
    suspend: Decision | None = None
    keep: Decision | None = None

    def status_text(self, device: Device | None) -> str:
        if self.item is not None:
            if self.item.status == CLOSED:
                return f"{self.item.status_text} {self.item.closed_on.isoformat()}"
            return self.item.status
        if device is not None and device.status == "拆除":
            return "已拆除"
        if self.suspend is not None and device is not None and device.status == "停用":
            return f"已停用 {self.suspend.decided_on.isoformat()}"
        if self.keep is not None:
            return "保留使用"
        return "未整改"


@dataclass
class Entry:
    """One line of a document: a finding (the run's observation of a problem, or a cannot-assess finding), its
    device, the problem with its verdict, and how the problem was handled.

    carried: the problem was decided on after an earlier run and the chosen run no longer reports it (rectified
    since, or the device is suspended and no longer examined as a device in use); the finding is its latest.
    """

    finding: Finding
    device: Device | None
    problem: ProblemRecord | None
    handling: Handling = field(default_factory=Handling)
    carried: bool = False

    @property
    def cannot_assess(self) -> bool:
        return bool((self.finding.evidence or {}).get("cannot_assess"))

    @property
    def review(self) -> str | None:
        """confirmed | dismissed | None (unreviewed, or reviewed on evidence that has since changed)."""
        if self.problem is None or self.problem.verdict_stale:
            return None
        return self.problem.verdict

    @property
    def is_open(self) -> bool:
        """A problem not dismissed and not resolved: its ledger item not closed, the device not removed or kept."""
        if self.problem is None or self.review == "dismissed":
            return False
        item = self.handling.item
        if item is not None:
            return item.status != CLOSED
        if self.problem.is_resolved:
            return False
        return not ((self.device is not None and self.device.status == "拆除") or self.handling.keep is not None)


def _chunks(ids: list[int], size: int = 5000):  # type: ignore[no-untyped-def]
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def handling_index(session: Session, department: str | None = None) -> dict[int, Handling]:
    """Problem id → how it was handled, from the decisions citing it and their ledger items."""
    query = select(Decision).order_by(Decision.id)
    if department:
        query = query.join(Device).join(Department).where(Department.name == department)
    decisions = list(session.scalars(query))
    items = {i.decision_id: i for i in session.scalars(select(LedgerItem).where(
        LedgerItem.decision_id.in_([d.id for d in decisions if d.kind == "rectify"])))} if decisions else {}
    index: dict[int, Handling] = {}
    for d in decisions:
        for problem_id in d.problem_ids or []:
            h = index.setdefault(int(problem_id), Handling())
            if d.kind == "rectify":
                h.item = items.get(d.id)
            elif d.kind == "suspend":
                h.suspend = d
            elif d.kind == "keep":
                h.keep = d
    return index


def problems(session: Session, run: AuditRun, department: str | None = None, *,
             carry_over: bool = False) -> list[Entry]:
    """The run's findings (of one department, or all) in the run's order, with devices, problems and handling.

    carry_over: also the problems decided on that this run no longer reports (Entry.carried), with their latest
    finding.
    """
    query = select(Finding).where(Finding.run_id == run.id).order_by(Finding.id)
    if department:
        query = query.where(Finding.department == department)
    findings = list(session.scalars(query))
    index = handling_index(session, department)
    seen = {f.problem_id for f in findings if f.problem_id is not None}
    carried_ids = sorted(set(index) - seen) if carry_over else []
    carried: list[Finding] = []
    for chunk in _chunks(carried_ids):
        latest = (select(func.max(Finding.id)).where(Finding.problem_id.in_(chunk)).group_by(Finding.problem_id))
        carried += session.scalars(select(Finding).where(Finding.id.in_(latest)).order_by(Finding.id))
    problem_ids = sorted(seen | {f.problem_id for f in carried if f.problem_id is not None})
    records: dict[int, ProblemRecord] = {}
    for chunk in _chunks(problem_ids):
        records.update((p.id, p) for p in session.scalars(select(ProblemRecord).where(ProblemRecord.id.in_(chunk))))
    device_ids = sorted({f.device_id for f in findings + carried if f.device_id is not None})
    devices: dict[int, Device] = {}
    for chunk in _chunks(device_ids):
        devices.update((d.id, d) for d in session.scalars(select(Device).where(Device.id.in_(chunk))))

    def entry(f: Finding, is_carried: bool) -> Entry:
        problem = records.get(f.problem_id) if f.problem_id is not None else None
        handling = index.get(f.problem_id, Handling()) if f.problem_id is not None else Handling()
        return Entry(f, devices.get(f.device_id) if f.device_id is not None else None, problem, handling, is_carried)

    return [entry(f, False) for f in findings] + [entry(f, True) for f in carried]


def devices_of(session: Session, department: str | None = None, status: str | None = None) -> list[Device]:
    query = select(Device).join(Department).order_by(Department.name, Device.device_code)
    if department:
        query = query.where(Department.name == department)
    if status:
        query = query.where(Device.status == status)
    return list(session.scalars(query))


def run_label(run: AuditRun) -> str:
    return f"第 {run.id} 次审查（审查基准日{zh_date(run.as_of)}，{profile_title(run.profile)}审查配置）"


def layers_text(run: AuditRun) -> str:
    """How the run measured placement: along which road network and over which township map, as a sentence
    (empty for runs stored before the layers were recorded). Layers are named by their title, never by a file
    name."""
    if run.layers is None:
        return ""
    roads, areas = run.layers.get("roads"), run.layers.get("areas")
    spacing = (f"设备间距沿路网{_titled(roads)}（{roads['features']} 条道路）计算" if roads
               else "设备间距按直线距离计算（未加载路网）")
    density = (f"设备密度按乡镇（街道）边界{_titled(areas)}（{areas['features']} 个乡镇、街道）计算" if areas
               else "未加载乡镇（街道）边界，未按乡镇审查设备密度")
    return f"本次审查{spacing}，{density}。"


def _titled(layer: dict) -> str:
    title = layer.get("title")
    return f"“{title}”" if title else ""


def examined_devices(session: Session, run: AuditRun, department: str | None = None) -> int:
    """How many devices of the department (or of all) the run examined: the run's own count for the run's scope,
    else the department's devices registered by the run's import batches."""
    if department is None or run.department == department:
        return run.device_count
    last = max((int(b) for b in run.batch_ids or []), default=0)
    return session.scalar(select(func.count()).select_from(Device).join(Department).where(
        Department.name == department,
        or_(Device.created_batch_id.is_(None), Device.created_batch_id <= last))) or 0


def discovery(problem: Entry) -> str:
    f = problem.finding
    text = f"第 {f.run_id} 次审查（{f.rule}）" if problem.carried else f"系统审查（{f.rule}）"
    return text + ("，经核实" if problem.review == "confirmed" else "")


def device_list(codes: list[str | None], limit: int = 50) -> str:
    """Device codes joined with 、, each once (a long list cut, with the total of devices); findings without a
    device are not listed."""
    values = list(dict.fromkeys(c for c in codes if c))
    if not values:
        return "—"
    shown = "、".join(values[:limit])
    return shown + (f" 等（共 {len(values)} 台）" if len(values) > limit else
                    (f"（共 {len(values)} 台）" if len(values) > 1 else ""))
