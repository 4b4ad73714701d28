"""work-report and bulletin: the bureau's 专项监督工作报告 across departments — the figures of each department,
good practice, outstanding problems, next steps — and its 通报 version addressed to the departments (good practice
commended, problems named, with requirements). Every text is editable before issuing."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..casework.filings import by_department, plan_status
from ..casework.plan import current_plan
from ..casework.problems import open_problems, suspension_proposals
from ..registry.models import CLOSED, Department, Device
from . import figures
from .common import Col, zh_date
from .data import Options, examined_devices, latest_run, run_label
from .reports import PLACEHOLDER, Grid, Heading, Report, Text
from .self_report import NO_BUREAU, plan_name

REPORT, BULLETIN = "work-report", "bulletin"
TITLES = {REPORT: "关于罚款实施专项监督工作情况的报告", BULLETIN: "关于罚款实施专项监督工作情况的通报"}
COLUMNS = (
    Col("单位", 24),
    Col("设备（台）", 8, kind="int"),
    Col("发现问题", 8, kind="int"),
    Col("其中严重", 8, kind="int"),
    Col("停用设备", 8, kind="int"),
    Col("整改事项", 8, "整改台账", "int"),
    Col("已销号", 8, "整改台账", "int"),
    Col("因拆除销号", 8, "整改台账", "int"),
    Col("逾期未整改", 9, "整改台账", "int"),
    Col("按时报送", 8, "方案任务", "int"),
    Col("逾期", 7, "方案任务", "int"),
    Col("未到期", 7, "方案任务", "int"),
)


@dataclass
class Standing:
    """One department's figures for the report."""

    name: str
    devices: int
    problems: int
    serious: int
    suspended: int
    items: int
    closed: int  # rectified: closed after the check
    removed: int  # closed because the device was removed
    overdue: int
    on_time: int
    late: list  # TaskStatus: late, or filed late
    due: int

    def row(self) -> list:
        return [self.name, self.devices, self.problems, self.serious, self.suspended, self.items, self.closed,
                self.removed, self.overdue, self.on_time, len(self.late), self.due]


def standings(session: Session, day: dt.date) -> list[Standing]:
    plan = current_plan(session)
    tasks = {d.department.name: d for d in by_department(plan_status(session, plan, day))} if plan else {}
    open_by_dept: dict[str, list] = {}
    for p in open_problems(session):
        if not (p.verdict == "dismissed" and not p.stale):
            open_by_dept.setdefault(p.department, []).append(p)
    status = Counter(session.execute(select(Department.name, Device.status).join(Device)).all())
    out = []
    for dept in session.scalars(select(Department).order_by(Department.name)):
        items = figures.ledger_of(session, dept.name)
        found = open_by_dept.get(dept.name, [])
        t = tasks.get(dept.name)
        total = sum(n for (name, _), n in status.items() if name == dept.name)
        if not total and not items and t is None:
            continue
        out.append(Standing(
            dept.name, total, len(found), sum(p.severity == "严重" for p in found), status[(dept.name, "停用")],
            len(items), sum(i.rectified for i in items), sum(i.status == CLOSED and not i.rectified for i in items),
            sum(i.status in ("待整改", "整改中") and i.deadline < day for i in items),
            t.count("filed") if t else 0,
            [s for s in t.statuses if s.state in ("late", "filed_late")] if t else [], t.count("due") if t else 0))
    return out


def _good(rows: list[Standing], planned: bool) -> list[str]:
    lines = []
    for s in rows:
        parts = []
        if planned and s.on_time and not s.late:
            parts.append(f"按时报送方案要求的材料 {s.on_time} 项")
        if s.items and s.closed == s.items:
            parts.append(f"整改台账 {s.items} 项全部核查销号")
        elif s.items and s.closed and s.closed + s.removed == s.items:
            parts.append(f"整改台账 {s.items} 项全部销号（核查销号 {s.closed} 项、因设备拆除销号 {s.removed} 项）")
        elif s.items and not s.overdue and s.closed:
            parts.append(f"整改台账 {s.items} 项已销号 {s.closed} 项、无逾期")
        if parts:
            lines.append(f"{s.name}{'，'.join(parts)}。")
    return lines or [f"{PLACEHOLDER}工作成效和好的做法。）"]


def _problems(session: Session, rows: list[Standing], day: dt.date) -> list[str]:
    lines = []
    for s in rows:
        parts = []
        for t in s.late:
            parts.append(f"“{t.task.deliverable}”" + (f"逾期 {t.days} 天未报送" if t.state == "late" else f"逾期 {t.days} 天报送"))
        if s.overdue:
            parts.append(f"{s.overdue} 项整改事项超过时限未完成")
        if s.serious:
            parts.append(f"{s.serious} 项严重问题尚未解决")
        if parts:
            lines.append(f"{s.name}：{'；'.join(parts)}。")
    proposed = Counter(p.device.department.name for p in suspension_proposals(session))
    if proposed:
        lines.append("审查建议停用、尚待决定的设备：" + "、".join(f"{d} {n} 台" for d, n in sorted(proposed.items())) + "。")
    return lines or [f"截至{zh_date(day)}，各单位没有逾期未报送的材料和逾期未整改的事项。"]


def build(session: Session, opts: Options, variant: str = REPORT) -> Report:
    day = opts.day
    plan = current_plan(session)
    issuer = opts.issuer or (plan.issuer if plan else NO_BUREAU)
    rows = standings(session, day)
    run = latest_run(session)
    devices = sum(s.devices for s in rows)
    problems = sum(s.problems for s in rows)
    basic = (f"按照{plan_name(session)}的部署，本机关组织 {len(rows)} 个执法单位开展罚款实施专项监督。截至{zh_date(day)}，"
             f"各单位登记非现场执法设备 {devices} 台；"
             + (f"{run_label(run)}审查设备 {examined_devices(session, run)} 台，" if run else "")
             + f"尚未解决的问题 {problems} 项（其中严重 {sum(s.serious for s in rows)} 项），停用设备 "
             f"{sum(s.suspended for s in rows)} 台，列入整改台账 {sum(s.items for s in rows)} 项、已核查销号 "
             f"{sum(s.closed for s in rows)} 项"
             + (f"、因设备拆除销号 {removed} 项" if (removed := sum(s.removed for s in rows)) else "")
             + "。各单位情况如下：")
    good, bad = _good(rows, plan is not None), _problems(session, rows, day)
    if variant == BULLETIN:
        blocks = [
            Text("intro", "开头", f"为规范非现场执法设备的设置和使用，本机关按照{plan_name(session)}开展了罚款实施专项监督。"
                                 "现将工作情况通报如下："),
            Heading("一、基本情况"), Text("basic", "一、基本情况", basic), Grid(COLUMNS, [s.row() for s in rows]),
            Heading("二、好的做法"), Text("good", "二、好的做法", "\n".join(good)),
            Heading("三、存在的问题"), Text("problems", "三、存在的问题", "\n".join(bad)),
            Heading("四、工作要求"), Text("requirements", "四、工作要求",
                                        "各单位要对照本通报指出的问题，逐项整改、逐项销号：逾期未报送材料的，立即补报；"
                                        "超过时限未完成整改的，说明原因并限期办结；审查建议停用的设备，立即停用核查。"
                                        "本机关将适时开展“回头看”，对整改不力的单位予以督办。"),
        ]
        addressee = "各执法单位"
    else:
        blocks = [
            Heading("一、工作开展情况"), Text("basic", "一、工作开展情况", basic), Grid(COLUMNS, [s.row() for s in rows]),
            Heading("二、工作成效和好的做法"), Text("good", "二、工作成效和好的做法", "\n".join(good)),
            Heading("三、存在的突出问题"), Text("problems", "三、存在的突出问题", "\n".join(bad)),
            Heading("四、下一步工作"), Text("next", "四、下一步工作",
                                        "一是对逾期未整改、未报送的单位发出督办函，限期办结；二是对审查建议停用的设备督促立即停用核查；"
                                        "三是开展年度评估，对每台在用设备作出保留、迁移或拆除的评估结论；四是建立非现场执法设备"
                                        "设置、审核、公布和检定的常态化监督机制。"),
        ]
        addressee = (issuer[:-3] + "人民政府") if issuer.endswith("司法局") else f"{PLACEHOLDER}主送机关）"
    return Report(kind=variant, title=TITLES[variant], blocks=blocks, issuer=issuer, day=day, addressee=addressee)


def build_bulletin(session: Session, opts: Options) -> Report:
    return build(session, opts, BULLETIN)


def period(opts: Options) -> str:
    return str(opts.day.year)


__all__ = ["REPORT", "BULLETIN", "TITLES", "build", "build_bulletin", "period", "standings"]
