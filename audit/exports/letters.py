"""The bureau's documents to a department — 督办函, 建议书, 意见书, 决定书, 移送函 — each made from the problems it
cites and its deadline, and the work report and 通报; numbered in the register (audit.casework.register) when
issued, the file kept and the issue recorded on every problem cited.

`preview` writes a document without a number (〔　〕号) to read before issuing; `issue` takes the next number of
the prefix and year, writes the document with it and registers it.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from docx.document import Document as DocxDocument
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..casework import register
from ..casework.decisions import DecisionError, category_of
from ..casework.filings import plan_status
from ..casework.plan import current_plan
from ..registry.models import Decision, Department, Device, Finding, IssuedDocument, LedgerItem, Problem
from . import drafting, work_report
from .common import Col, Table, zh_date
from .data import ExportError, Options, rule_title
from .reports import Heading, Report, Text, render, require_filled
from .self_report import NO_BUREAU, plan_name

REPLY_DAYS = 30  # the reply date of an opinion letter exported without one
BASIS = "《中华人民共和国行政处罚法》、国务院《关于进一步规范和监督罚款设定与实施的指导意见》（国发〔2024〕5号）"
UNNUMBERED = "〔　　〕号"


@dataclass(frozen=True)
class Kind:
    name: str  # what people call it: 督办函
    title: str  # the document's title
    to_department: bool = True  # addressed about one department's problems
    needs_deadline: bool = True


KINDS: dict[str, Kind] = {
    "supervise": Kind("督办函", "行政执法监督督办函"),
    "advice": Kind("建议书", "行政执法监督建议书"),
    "opinion": Kind("意见书", "行政执法监督意见书"),
    "decision": Kind("决定书", "行政执法监督决定书"),
    "transfer": Kind("移送函", "问题线索移送函", needs_deadline=False),
    "work-report": Kind("工作报告", work_report.TITLES[work_report.REPORT], to_department=False, needs_deadline=False),
    "bulletin": Kind("通报", work_report.TITLES[work_report.BULLETIN], to_department=False, needs_deadline=False),
}
# Suggestions of the 建议书, by 问题类别.
ADVICE = {
    "未经法制和技术审核": "对在用设备逐台补办法制和技术审核，未经审核的设备不得用于采集违法事实；建立设备投入使用前的审核制度。",
    "投入使用前未向社会公布": "将全部在用设备的设置地点向社会公布，新设备在投入使用前公布，并在门户网站保持可查询。",
    "设置地点无明显可见标识": "在设备设置地点设置明显可见的标识，测速设备按规定距离设置测速警告标志。",
    "未经依法检定、逾期未检定或检定不合格": "对属于强制检定的设备按周期送检，检定合格且在有效期内方可使用；对无有效检定期间采集的违法记录逐案复核。",
    "设置地点、间距和数量不合理": "对设置地点、间距和数量开展论证评估，重复设置、超出辖区或密度过高的设备予以迁移或撤除。",
    "脱离实际监管需要随意设置": "补充设备的设置依据（事故、投诉等），对长期几乎无抓拍、无实际监管需要的设备予以撤除。",
    "违法事实采集量、罚款数额畸高": "对违法采集量、罚款数额畸高的设备开展核查，查明原因，杜绝“以罚代管”、逐利执法。",
}


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise ExportError(f"未知的文书“{kind}”，可选：{'、'.join(f'{k}（{v.name}）' for k, v in KINDS.items())}。")
    return KINDS[kind]


# ---- what each kind cites by default ---------------------------------------------------------------------

def _open(session: Session, department: str) -> list[Problem]:
    return [p for p in session.scalars(select(Problem).where(Problem.department == department,
                                                             Problem.resolved_on.is_(None))
                                       .order_by(Problem.device_code, Problem.rule))
            if not (p.verdict == "dismissed" and not p.stale)]


def default_problems(session: Session, kind: str, department: str, on: dt.date) -> list[Problem]:
    """The problems a document of this kind cites unless the auditor chooses others.

    督办函: those whose open ledger item is past its deadline; 建议书: rectify/review problems not yet decided on;
    意见书: serious problems; 决定书: problems whose action is 停用 on devices not removed; 移送函: confirmed serious
    problems."""
    _kind(kind)
    chosen = _open(session, department)
    if kind == "supervise":
        late = {i.id for i in session.scalars(select(LedgerItem).where(
            LedgerItem.department == department, LedgerItem.status.in_(["待整改", "整改中"]), LedgerItem.deadline < on))}
        return [p for p in chosen if p.open_item_id in late]
    if kind == "advice":
        return [p for p in chosen if p.action in ("整改", "核查") and p.decision_id is None]
    if kind == "opinion":
        return [p for p in chosen if p.severity == "严重" and not _handled(p)]
    if kind == "decision":
        return [p for p in chosen if p.action == "停用" and p.device.status != "拆除"]
    if kind == "transfer":
        return [p for p in chosen if p.severity == "严重" and p.verdict == "confirmed" and not p.stale]
    return []


def _handled(problem: Problem) -> bool:
    """Dealt with though not yet resolved by a run: the device removed, kept by decision, or its rectification
    checked and closed."""
    latest = problem.decision
    return problem.device.status == "拆除" or (latest is not None and latest.kind == "keep") or (
        latest is not None and latest.kind == "rectify" and problem.open_item_id is None)


# ---- the documents ---------------------------------------------------------------------------------------

@dataclass
class Request:
    """What a document is made of."""

    kind: str
    department: str | None
    problems: list[Problem]
    deadline: dt.date | None
    on: dt.date
    addressee: str
    issuer: str


def _where(device: Device) -> str:
    return "、".join(x for x in (device.name, device.road, device.address) if x)


def _item(session: Session, problem: Problem) -> LedgerItem | None:
    if problem.open_item_id is not None:
        return session.get(LedgerItem, problem.open_item_id)
    return None


def _problem_lines(session: Session, request: Request, extra: Callable[[Problem], str] | None = None) -> list[str]:
    lines = []
    for n, p in enumerate(request.problems, start=1):
        where = _where(p.device)
        text = f"{n}. 设备 {p.device_code}{f'（{where}）' if where else ''}：{rule_title(p.rule)}。{p.message}"
        lines.append(text + (extra(p) if extra else ""))
    return lines


def _problem_blocks(session: Session, request: Request) -> list:
    """One level-2 heading per problem — （一）设备 JL-001（its site） — with what was found and the basis cited."""
    blocks: list = []
    for n, p in enumerate(request.problems, start=1):
        where = _where(p.device)
        basis = session.scalar(select(Finding.basis).where(Finding.problem_id == p.id).order_by(Finding.id.desc())
                               .limit(1))
        blocks += [Heading(f"（{cn_number(n)}）设备 {p.device_code}{f'（{where}）' if where else ''}", 2),
                   Text(f"problem-{p.id}", f"问题 {n}", f"{rule_title(p.rule)}：{p.message}"
                        + (f"\n依据：{basis}。" if basis else ""))]
    return blocks


_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """Chinese numerals for 1–99: 一 … 九十九."""
    tens, ones = divmod(n, 10)
    if n < 10:
        return _DIGITS[n]
    return (("" if tens == 1 else _DIGITS[tens]) + "十" + ("" if ones == 0 else _DIGITS[ones])) if n < 100 else str(n)


def _late_tasks(session: Session, department: str, on: dt.date) -> list[str]:
    plan = current_plan(session)
    if plan is None:
        return []
    dept = session.scalar(select(Department).where(Department.name == department))
    return [f"“{s.task.deliverable}”（{s.task.title}）应于{zh_date(s.task.deadline)}前报送，已逾期 {s.days} 天。"
            for s in plan_status(session, plan, on, dept.id) if s.state == "late"]


def _supervise(session: Session, r: Request) -> list:
    def overdue(p: Problem) -> str:
        item = _item(session, p)
        if item is None:
            return ""
        days = (r.on - item.deadline).days
        return (f"整改台账第 {item.id} 项（{item.measure}）时限为{zh_date(item.deadline)}，"
                + (f"已逾期 {days} 天，" if days > 0 else "") + f"当前{item.status}。")

    tasks = _late_tasks(session, r.department, r.on)
    if not r.problems and not tasks:
        raise ExportError(f"“{r.department}”没有逾期未办结的整改事项或逾期未报送的材料，无需督办。")
    blocks: list = [Text("intro", "开头", f"根据{plan_name(session)}和罚款实施专项监督整改台账，你单位下列事项已超过时限，尚未办结：")]
    if r.problems:
        blocks += [Heading("一、逾期未完成的整改事项"), Text("items", "逾期未完成的整改事项", "\n".join(_problem_lines(session, r, overdue)))]
    if tasks:
        blocks += [Heading(f"{'二' if r.problems else '一'}、逾期未报送的材料"),
                   Text("tasks", "逾期未报送的材料", "\n".join(f"{n}. {t}" for n, t in enumerate(tasks, start=1)))]
    blocks.append(Text("requirement", "督办要求",
                       f"请你单位高度重视，于{zh_date(r.deadline)}前办结上述事项，并将办理情况书面报送本机关。"
                       "逾期仍未办结的，本机关将予以通报。\n特此函告。"))
    return blocks


def _advice(session: Session, r: Request) -> list:
    _require_problems(r)
    categories = list(dict.fromkeys(category_of(p.rule) for p in r.problems))
    return [
        Text("intro", "开头", f"本机关在罚款实施专项监督中，对你单位非现场执法设备的设置和使用情况进行了审查。根据{BASIS}等规定，"
                             "现提出如下监督建议："),
        Heading("一、发现的问题"), *_problem_blocks(session, r),
        Heading("二、监督建议"),
        Text("advice", "监督建议", "\n".join(f"{n}. {c}：{ADVICE.get(c, '逐项核实，依法整改。')}"
                                         for n, c in enumerate(categories, start=1))),
        Text("reply", "回复要求", f"请你单位认真研究，于{zh_date(r.deadline)}前将采纳和整改情况书面回复本机关。"),
    ]


def _opinion(session: Session, r: Request) -> list:
    _require_problems(r)

    def requirement(p: Problem) -> str:
        item = _item(session, p)
        parts = []
        if p.device.status == "停用":
            stopped = session.scalar(select(Decision.decided_on).where(Decision.device_id == p.device_id,
                                                                       Decision.kind == "suspend")
                                     .order_by(Decision.id.desc()).limit(1))
            parts.append(f"该设备已于{zh_date(stopped)}停用，停用期间不得用于采集违法事实" if stopped else
                         "该设备已停用，停用期间不得用于采集违法事实")
        elif p.action == "停用":
            parts.append("立即停用该设备，停用期间不得用于采集违法事实")
        if item is not None:
            parts.append(f"按整改台账第 {item.id} 项于{zh_date(item.deadline)}前完成整改（措施：{item.measure}；责任人："
                         f"{item.responsible}；当前状态：{item.status}）")
        else:
            parts.append(f"于{zh_date(r.deadline)}前核查评估并完成整改")
        return "；".join(parts) + "。"

    return [
        Text("intro", "开头", f"根据{BASIS}等规定，本机关对你单位非现场执法设备开展了罚款实施专项监督。经审查，你单位有以下 "
                             f"{len(r.problems)} 项问题尚未整改到位："),
        Heading("一、存在的问题"), *_problem_blocks(session, r),
        Heading("二、监督意见"),
        Text("opinion", "监督意见", "\n".join(f"{n}. 设备 {p.device_code}：{requirement(p)}"
                                          for n, p in enumerate(r.problems, start=1))),
        Text("reply", "回复要求", f"请你单位于{zh_date(r.deadline)}前将整改落实情况书面报送本机关；对停用设备应在核查评估、"
                                  "整改到位并经本机关核查销号后方可恢复使用。"),
    ]


def _decision(session: Session, r: Request) -> list:
    _require_problems(r)
    devices = list(dict.fromkeys(p.device for p in r.problems))
    return [
        Text("intro", "开头", "本机关在罚款实施专项监督中查明，你单位下列非现场执法设备存在应当立即停用的问题："),
        Text("found", "查明的问题", "\n".join(_problem_lines(session, r))),
        Text("basis", "决定依据", f"上述设备的使用不符合{BASIS}的规定。依照有关规定，本机关决定如下："),
        Text("decision", "决定事项", "\n".join([
            "一、自收到本决定书之日起，立即停止使用下列设备采集违法事实：" + "、".join(d.device_code for d in devices) + "。",
            f"二、于{zh_date(r.deadline)}前完成核查评估和整改；整改到位并经本机关核查销号后，方可恢复使用。",
            "三、对上述设备不符合规定期间采集的违法记录逐案复核，不得作为处罚的证据。",
            f"四、于{zh_date(r.deadline)}前将执行情况书面报送本机关。"])),
        Text("objection", "异议", "你单位对本决定有异议的，可以在执行期限内向本机关书面说明理由并提供证据。"),
    ]


def _transfer(session: Session, r: Request) -> list:
    _require_problems(r)

    def handling(p: Problem) -> str:
        item = _item(session, p)
        parts = []
        if p.decision is not None:
            parts.append(f"{zh_date(p.decision.decided_on)}作出{p.decision.kind_zh}决定")
        if item is not None:
            parts.append(f"整改时限{zh_date(item.deadline)}，当前{item.status}")
        return ("（" + "；".join(parts) + "）") if parts else ""

    return [
        Text("intro", "开头", f"本机关在罚款实施专项监督中发现，{r.department}在非现场执法设备的设置和使用中存在以下问题，"
                             "可能涉及有关人员违规违纪违法，需要追究责任："),
        Text("found", "问题线索", "\n".join(_problem_lines(session, r, handling))),
        Text("transfer", "移送事项", "根据有关规定，现将上述问题线索移送你单位，请依规依纪依法处理，并将处理结果反馈本机关。"
                                     "问题清单见附件。"),
    ]


def _require_problems(r: Request) -> None:
    if not r.problems:
        raise ExportError(f"{KINDS[r.kind].name}须引用至少一个问题：“{r.department}”没有可引用的问题，或未选择问题。")


BODIES = {"supervise": _supervise, "advice": _advice, "opinion": _opinion, "decision": _decision,
          "transfer": _transfer}
PROBLEM_COLUMNS = (Col("序号", 5, kind="int"), Col("设备编号", 12, kind="center"), Col("设备名称", 16),
                   Col("问题", 36), Col("严重程度", 8, kind="center"), Col("首次发现", 11, kind="date"),
                   Col("处理情况", 20))


def _problem_table(session: Session, r: Request) -> Table:
    rows = []
    for n, p in enumerate(r.problems, start=1):
        item = _item(session, p)
        handled = (f"{p.decision.kind_zh}（{p.decision.decided_on.isoformat()}）" if p.decision else "未作决定") + (
            f"；整改台账第 {item.id} 项 {item.status}" if item else "")
        rows.append([n, p.device_code, p.device.name, f"{rule_title(p.rule)}：{p.message}", p.severity,
                     p.first_seen_on, handled])
    return Table(title="问题清单", columns=PROBLEM_COLUMNS, rows=rows, unit="", date=None, sheet_name="问题清单")


def make(session: Session, request: Request, doc_no: str) -> Report:
    """The document of a request under a number (UNNUMBERED for a preview)."""
    kind = _kind(request.kind)
    if not kind.to_department:
        report = drafting.build(session, request.kind, Options(as_of=request.on, issuer=request.issuer))
        report.doc_no = doc_no
        if request.addressee:
            report.addressee = request.addressee
        return report
    blocks = BODIES[request.kind](session, request)
    attachments = [_problem_table(session, request)] if request.kind == "transfer" else []
    title = kind.title if request.kind != "transfer" else f"关于移送{request.department}有关问题线索的函"
    return Report(kind=request.kind, title=title, blocks=blocks, issuer=request.issuer, day=request.on,
                  addressee=request.addressee, doc_no=doc_no, attachments=attachments)


def request(session: Session, kind: str, *, department: str | None, problem_ids: list[int] | None = None,
            deadline: dt.date | None = None, on: dt.date | None = None, addressee: str | None = None,
            issuer: str | None = None) -> Request:
    """Check what a document is asked for (department, problems, deadline, addressee) and gather it."""
    spec = _kind(kind)
    on = on or dt.date.today()
    plan = current_plan(session)
    issuer = (issuer or "").strip() or (plan.issuer if plan else NO_BUREAU)
    if not spec.to_department:
        return Request(kind, None, [], None, on, (addressee or "").strip(), issuer)
    if not department:
        raise ExportError(f"{spec.name}须指明一个单位：请选择致送的单位。")
    if session.scalar(select(Department.id).where(Department.name == department)) is None:
        raise ExportError(f"没有名为“{department}”的单位。")
    if spec.needs_deadline:
        if deadline is None:
            raise ExportError(f"{spec.name}须写明期限（办结、回复或整改的日期）。")
        if deadline <= on:
            raise ExportError(f"期限 {deadline.isoformat()} 应晚于发文日期 {on.isoformat()}。")
    try:
        chosen = (register.citable(session, department, problem_ids) if problem_ids is not None
                  else default_problems(session, kind, department, on))
    except DecisionError as exc:
        raise ExportError(str(exc)) from exc
    addressee = (addressee or "").strip() or (department if kind != "transfer" else "")
    if not addressee:
        raise ExportError("移送函须写明主送机关（如县纪委监委、上级主管部门）。")
    if len(addressee) > 200:
        raise ExportError("主送机关超过 200 个字。")
    return Request(kind, department, chosen, deadline, on, addressee, issuer)


def write_opinion_preview(session: Session, path: Path, opts: Options) -> Path:
    """The 意见书 (export kind opinion-letter) as a preview: the department's serious problems, a reply date
    REPLY_DAYS after the date, no number."""
    if not opts.department:
        raise ExportError("监督意见书须指明一个单位：请选择要出具意见书的单位。")
    req = request(session, "opinion", department=opts.department, on=opts.day,
                  deadline=opts.day + dt.timedelta(days=REPLY_DAYS), issuer=opts.issuer)
    if not req.problems:
        raise ExportError(f"“{opts.department}”没有尚未整改的严重问题，无需出具监督意见书。")
    return preview(session, req, path)


def preview(session: Session, req: Request, path: Path) -> Path:
    report = make(session, req, UNNUMBERED)
    render(report).save(path)
    return path


def _bytes(document: DocxDocument) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def file_name(kind: str, doc_no: str, department: str | None) -> str:
    return f"{KINDS[kind].name}_{doc_no}_{department or '各执法单位'}.docx".replace("/", "_")


def issue(session: Session, req: Request, *, prefix: str | None, user: str, attempts: int = 5) -> IssuedDocument:
    """Number the document (the next of its prefix and year), write it and register it with the problems cited."""
    user = (user or "").strip()
    if not user:
        raise ExportError("请填写发文人。")
    plan = current_plan(session)
    try:
        prefix = register.check_prefix(prefix or (plan.doc_prefix if plan else None))
    except DecisionError as exc:
        raise ExportError(str(exc)) from exc
    spec = KINDS[req.kind]
    for _attempt in range(attempts):
        seq = register.next_seq(session, prefix, req.on.year)
        number = register.doc_no(prefix, req.on.year, seq)
        report = make(session, req, number)
        if not spec.to_department:
            require_filled(report)
        content = _bytes(render(report))
        try:
            with session.begin_nested():
                return register.record(session, kind=req.kind, prefix=prefix, year=req.on.year, seq=seq,
                                       title=report.title, addressee=report.addressee or "", department=req.department,
                                       issued_on=req.on, deadline=req.deadline, issued_by=user,
                                       filename=file_name(req.kind, number, req.department), content=content,
                                       problem_ids=[p.id for p in req.problems])
        except IntegrityError:
            continue  # the number was taken at the same moment: take the next
    raise ExportError("文号被同时占用，请稍后重试。")


__all__ = ["KINDS", "ADVICE", "Request", "request", "default_problems", "make", "preview", "issue", "file_name",
           "UNNUMBERED", "REPLY_DAYS", "write_opinion_preview"]
