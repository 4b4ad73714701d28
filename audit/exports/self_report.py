"""self-report: a department's 自查报告 — what was checked, the problems by kind, the devices suspended, the
rectification plan — with the 突出问题清单 (self-inspection) as its attachment. Every text is editable before
filing (audit.exports.reports)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..casework.plan import current_plan
from ..casework.problems import suspension_proposals
from . import figures, self_inspection
from .common import zh_date
from .data import (
    Options,
    examined_devices,
    layers_text,
    one_department,
    problems,
    resolve_run,
    run_label,
)
from .reports import Grid, Heading, Report, Text

KIND = "self-report"
TITLE = "关于罚款实施专项监督自查情况的报告"
NO_BUREAU = "（行政执法监督机构）"


def addressee(session: Session) -> str:
    """The bureau the departments report to: the current plan's issuer."""
    plan = current_plan(session)
    return plan.issuer if plan is not None else NO_BUREAU


def plan_name(session: Session) -> str:
    plan = current_plan(session)
    return f"《{plan.title}》" + (f"（{plan.doc_no}）" if plan.doc_no else "") if plan is not None else "专项监督工作方案"


def build(session: Session, opts: Options) -> Report:
    department = one_department(session, opts, "自查报告", "报告")
    run = resolve_run(session, opts.run_id, department)
    found = problems(session, run, department, carry_over=True)
    real = figures.real_problems(found)
    unassessed = sum(p.cannot_assess for p in found)
    counts = figures.device_counts(session, department)
    day = opts.day
    stopped = figures.suspended(session, department)
    proposed = suspension_proposals(session, department)
    items = figures.ledger_of(session, department)
    open_items = [i for i in items if i.is_open]

    checked = (f"截至{zh_date(day)}，我单位登记非现场执法设备 {sum(counts.values())} 台（{figures.status_text(counts)}），"
               f"其中{figures.type_text(session, department) or '无'}。依据{run_label(run)}，对 {examined_devices(session, run, department)} "
               f"台设备逐台核查了{figures.CHECKED}等方面的情况。{layers_text(run)}")
    found_text = (f"自查共发现问题 {len(real)} 项，涉及设备 {figures.device_total(real)} 台，其中{figures.severity_text(real)}。"
                  + (f"另有 {unassessed} 项因登记资料不全未能审查，已列入补报资料清单，补报后重新审查。" if unassessed else "")
                  + "问题分类情况如下：")
    if stopped:
        decided = [s for s in stopped if s.decision is not None]
        stop_text = (f"对应当立即停用的问题，我单位已停用设备 {len(stopped)} 台"
                     + (f"（其中 {len(decided)} 台依停用决定停用）" if decided and len(decided) < len(stopped) else "")
                     + "，停用期间不再用于采集违法事实，整改到位并经核查销号后方可恢复使用。")
    else:
        stop_text = "自查中未停用设备。"
    if proposed:
        stop_text += f"另有 {len(proposed)} 台设备审查建议停用、尚待决定（见附件，整改状态为“未整改”的停用类问题）。"
    if stopped:
        stop_text += "已停用的设备如下："
    if items:
        last = max(i.deadline for i in open_items) if open_items else None
        plan_text = (f"{figures.progress_text(items, day)}。"
                     + (f"尚未完成的 {len(open_items)} 项问题最迟于{zh_date(last)}前整改到位，逐项整改、逐项销号，"
                        "整改计划如下：" if last else
                        "列入台账的问题已全部整改销号。" if all(i.rectified for i in items) else "列入台账的问题已全部销号。"))
    else:
        plan_text = "尚未列入整改台账的问题，将逐项明确整改措施、整改时限和责任人，列入整改台账，逐项整改、逐项销号。"
    next_text = "\n".join(x for x in (
        f"一是对尚未整改到位的 {len(open_items)} 项问题，按整改台账明确的时限和措施逐项整改、逐项销号。" if open_items else
        "一是巩固整改成果，对已销号的问题开展“回头看”，防止问题反弹。",
        f"二是补报 {unassessed} 项缺失的登记资料，补报后申请重新审查。" if unassessed else
        "二是做好设备登记资料的日常更新，新增、迁移、停用设备及时报送。",
        "三是完善非现场执法设备设置论证、审核、公布和计量检定的管理制度，杜绝“以罚代管”、违规设置和使用监控设备。",
    ) if x)
    blocks = [
        Text("intro", "开头", f"根据{plan_name(session)}的要求，我单位对本单位设置和使用的非现场执法设备开展了自查。"
                             "现将自查情况报告如下："),
        Heading("一、自查工作开展情况"),
        Text("checked", "一、自查工作开展情况", checked),
        Heading("二、自查发现的问题"),
        Text("found", "二、自查发现的问题", found_text),
        Grid(figures.CATEGORY_COLUMNS, figures.category_rows(real)),
        Heading("三、已停用设备情况"),
        Text("suspended", "三、已停用设备情况", stop_text),
    ]
    if stopped:
        blocks.append(Grid(figures.SUSPENDED_COLUMNS, figures.suspended_rows(stopped)))
    blocks += [Heading("四、整改计划"), Text("plan", "四、整改计划", plan_text)]
    if open_items:
        blocks.append(Grid(figures.PLAN_COLUMNS, figures.rectification_rows(open_items)))
    blocks += [Heading("五、下一步工作"), Text("next", "五、下一步工作", next_text)]
    return Report(kind=KIND, title=f"{department}{TITLE}", blocks=blocks, issuer=department, day=day,
                  addressee=addressee(session), attachments=[self_inspection.build(session, opts)])


def period(opts: Options) -> str:
    return str(opts.day.year)


__all__ = ["KIND", "TITLE", "build", "period", "addressee", "plan_name"]
