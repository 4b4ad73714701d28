"""accountability-note: a department's 专题说明 on accountability (追责问责、容错免责). The facts come from the data
(problems confirmed, devices suspended or removed, rectifications late); what was done about the people
responsible is the author's to write before filing."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..casework.ledger import overdue_items
from ..registry.models import Decision, Department, Device, Problem
from .common import zh_date
from .data import Options, one_department
from .reports import Heading, Report, Text
from .self_report import addressee

KIND = "accountability-note"
TITLE = "关于罚款实施专项监督追责问责和容错免责情况的专题说明"


def build(session: Session, opts: Options) -> Report:
    department = one_department(session, opts, "专题说明")
    confirmed = Counter(session.scalars(select(Problem.severity).where(
        Problem.department == department, Problem.verdict == "confirmed", Problem.stale.is_(False))))
    decided = Counter(session.scalars(select(Decision.kind).join(Device).join(Department)
                                      .where(Department.name == department)))
    overdue = overdue_items(session, opts.day, department)
    facts = (f"截至{zh_date(opts.day)}，本次专项监督中我单位经核查确认的问题 {sum(confirmed.values())} 项（其中严重 "
             f"{confirmed['严重']} 项）；作出停用决定 {decided['suspend']} 项、拆除 {decided['remove']} 项；"
             f"逾期未整改的事项 {len(overdue)} 项。")
    return Report(kind=KIND, title=f"{department}{TITLE}", issuer=department, day=opts.day,
                  addressee=addressee(session), blocks=[
                      Heading("一、基本情况"), Text("facts", "一、基本情况", facts),
                      Heading("二、追责问责情况"),
                      Text("accountability", "二、追责问责情况",
                           "（请填写对违规设置、使用非现场执法设备负有责任的单位和人员的处理情况，包括处理依据和结果。）"),
                      Heading("三、容错免责情况"),
                      Text("exemption", "三、容错免责情况",
                           "（请填写符合容错免责情形、予以免责的认定情况及理由；没有的，写明“无”。）")])


def period(opts: Options) -> str:
    return str(opts.day.year)


__all__ = ["KIND", "TITLE", "build", "period"]
