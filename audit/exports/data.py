"""What the documents are made of: a run's findings with their review, decisions and ledger status."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..casework.decisions import latest_reviews
from ..registry.models import CLOSED, AuditRun, Decision, Department, Device, Finding, LedgerItem
from ..rules.findings import current_runs
from ..rules.profiles import profile_title

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


def rule_title(rule: str) -> str:
    from ..rules import get_rule

    try:
        return get_rule(rule).title_zh
    except KeyError:
        return rule


@dataclass
class Handling:
    """How a (device, rule) problem has been handled: the latest ledger item and decisions citing it, and the
    latest finding they cite."""

    item: LedgerItem | None = None
    suspend: Decision | None = None
    keep: Decision | None = None
    finding: Finding | None = None

    def status_text(self, device: Device | None) -> str:
        if self.item is not None:
            if self.item.status == CLOSED:
                return f"已销号 {self.item.closed_on.isoformat()}"
            return self.item.status
        if device is not None and device.status == "拆除":
            return "已拆除"
        if self.suspend is not None and device is not None and device.status == "停用":
            return f"已停用 {self.suspend.decided_on.isoformat()}"
        if self.keep is not None:
            return "保留使用"
        return "未整改"


@dataclass
class Problem:
    """One finding with its device and how it has been handled.

    carried: the finding is from an earlier run, cited by a decision, and the chosen run no longer reports it
    (rectified since, or the device is suspended and no longer examined as a device in use).
    """

    finding: Finding
    device: Device | None
    review: str | None  # confirmed | dismissed | None
    handling: Handling = field(default_factory=Handling)
    carried: bool = False

    @property
    def cannot_assess(self) -> bool:
        return bool((self.finding.evidence or {}).get("cannot_assess"))

    @property
    def is_open(self) -> bool:
        """Not dismissed, assessable, and not resolved: ledger item closed, device removed, or kept."""
        item = self.handling.item
        if self.review == "dismissed" or self.cannot_assess:
            return False
        if item is not None:
            return item.status != CLOSED
        return not ((self.device is not None and self.device.status == "拆除") or self.handling.keep is not None)


def _chunks(ids: list[int], size: int = 5000):  # type: ignore[no-untyped-def]
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def handling_index(session: Session, department: str | None = None,
                   known: dict[int, Finding] | None = None) -> dict[tuple[int, str], Handling]:
    """(device id, rule) → how it was handled, from the decisions and the findings they cite (of any run).

    known: findings already loaded, by id (not fetched again).
    """
    query = select(Decision).order_by(Decision.id)
    if department:
        query = query.join(Device).join(Department).where(Department.name == department)
    decisions = list(session.scalars(query))
    cited: dict[int, Finding] = {}
    wanted = {int(i) for d in decisions for i in (d.finding_ids or [])}
    if known:
        cited.update((i, known[i]) for i in wanted if i in known)
    for chunk in _chunks(sorted(wanted - set(cited))):
        cited.update((f.id, f) for f in session.scalars(select(Finding).where(Finding.id.in_(chunk))))
    items = {i.decision_id: i for i in session.scalars(select(LedgerItem).where(
        LedgerItem.decision_id.in_([d.id for d in decisions if d.kind == "rectify"])))} if decisions else {}
    index: dict[tuple[int, str], Handling] = {}
    for d in decisions:
        item = items.get(d.id)
        found = [cited[i] for i in d.finding_ids or [] if i in cited]
        for code in {f.rule for f in found} | set(item.rules if item else []):
            h = index.setdefault((d.device_id, code), Handling())
            if d.kind == "rectify":
                h.item = item
            elif d.kind == "suspend":
                h.suspend = d
            elif d.kind == "keep":
                h.keep = d
            for f in found:
                if f.rule == code and (h.finding is None or f.id > h.finding.id):
                    h.finding = f
    return index


def problems(session: Session, run: AuditRun, department: str | None = None, *,
             carry_over: bool = False) -> list[Problem]:
    """The run's findings (of one department, or all) in the run's order, with devices, reviews and handling.

    carry_over: also the problems decided on earlier that this run no longer reports (Problem.carried).
    """
    query = select(Finding).where(Finding.run_id == run.id).order_by(Finding.id)
    if department:
        query = query.where(Finding.department == department)
    findings = list(session.scalars(query))
    index = handling_index(session, department, {f.id: f for f in findings})
    seen = {(f.device_id, f.rule) for f in findings if f.device_id is not None}
    carried = [h.finding for key, h in sorted(index.items()) if key not in seen and h.finding is not None] \
        if carry_over else []
    device_ids = sorted({f.device_id for f in findings + carried if f.device_id is not None})
    devices: dict[int, Device] = {}
    for chunk in _chunks(device_ids):
        devices.update((d.id, d) for d in session.scalars(select(Device).where(Device.id.in_(chunk))))
    reviews = {k: r.status for k, r in latest_reviews(session, None).items()}

    def problem(f: Finding, is_carried: bool) -> Problem:
        if f.device_id is None:
            return Problem(f, None, reviews.get(f.id), Handling(), is_carried)
        return Problem(f, devices.get(f.device_id), reviews.get(f.id), index.get((f.device_id, f.rule), Handling()),
                       is_carried)

    return [problem(f, False) for f in findings] + [problem(f, True) for f in carried]


def devices_of(session: Session, department: str | None = None, status: str | None = None) -> list[Device]:
    query = select(Device).join(Department).order_by(Department.name, Device.device_code)
    if department:
        query = query.where(Department.name == department)
    if status:
        query = query.where(Device.status == status)
    return list(session.scalars(query))


def run_label(run: AuditRun) -> str:
    return f"第 {run.id} 次审查（审查基准日 {run.as_of.isoformat()}，{profile_title(run.profile)}审查配置）"


def layers_text(run: AuditRun) -> str:
    """How the run measured placement: along which road network and over which township map, as a sentence
    (empty for runs stored before the layers were recorded)."""
    if run.layers is None:
        return ""
    roads, areas = run.layers.get("roads"), run.layers.get("areas")
    spacing = (f"设备间距沿路网（{roads.get('source') or '已加载路网'}，{roads['features']} 条道路）计算"
               if roads else "设备间距按直线距离计算（未加载路网）")
    density = (f"设备密度按乡镇（街道）边界（{areas.get('source') or '已加载边界'}，{areas['features']} 个）计算"
               if areas else "未加载乡镇（街道）边界，未按乡镇审查设备密度")
    return f"本次审查{spacing}，{density}。"


def discovery(problem: Problem) -> str:
    f = problem.finding
    text = f"第 {f.run_id} 次审查（{f.rule}）" if problem.carried else f"系统审查（{f.rule}）"
    return text + ("，经核实" if problem.review == "confirmed" else "")


def device_list(codes: list[str | None], limit: int = 50) -> str:
    """Device codes joined with 、 (a long list cut, with the total); findings without a device are not listed."""
    values = [c for c in codes if c]
    if not values:
        return "—"
    shown = "、".join(values[:limit])
    return shown + (f" 等（共 {len(values)} 台）" if len(values) > limit else
                    (f"（共 {len(values)} 台）" if len(values) > 1 else ""))
