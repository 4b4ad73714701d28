"""new-devices: 年度新增非现场执法设备情况报告 (国发〔2024〕5号 asks for it each year) — the devices that went into
service in the year of the as-of date (up to it), with their legal and technical reviews, publication and
verification, and the problems the audit still finds on them; docx (editable texts, the list attached) or xlsx
(the list)."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..registry.models import Department, Device, LedgerItem, Problem, VerificationRecord
from ..rules.profiles import load_profile
from .common import Col, Table, write_xlsx, zh_date
from .data import Options, check_department, latest_run, rule_title
from .reports import Heading, Report, Text
from .self_report import addressee

KIND = "new-devices"
COLUMNS = (
    Col("序号", 5, kind="int"),
    Col("单位", 16),
    Col("设备编号", 12, kind="center"),
    Col("设备名称", 16),
    Col("设备类型", 8, kind="center"),
    Col("设置地点", 18),
    Col("启用日期", 11, kind="date"),
    Col("法制审核", 16, "审核"),
    Col("技术审核", 11, "审核", kind="center"),
    Col("社会公布", 16),
    Col("计量检定", 18),
    Col("审查发现的问题", 22),
)


def title(opts: Options) -> str:
    return f"{opts.department or ''}{opts.day.year}年度新增非现场执法设备情况报告"


def new_devices(session: Session, opts: Options) -> list[Device]:
    start = dt.date(opts.day.year, 1, 1)
    query = (select(Device).join(Department).options(selectinload(Device.department))
             .where(Device.in_service_on >= start, Device.in_service_on <= opts.day)
             .order_by(Department.name, Device.in_service_on, Device.device_code))
    if opts.department:
        query = query.where(Department.name == opts.department)
    return list(session.scalars(query))


def _reviewed(day: dt.date | None, started: dt.date, number: str | None = None) -> str:
    if day is None:
        return "未审核"
    text = day.isoformat() + (f"（{number}）" if number else "")
    return text + ("，晚于启用日期" if day > started else "")


def _verification(device: Device, latest: VerificationRecord | None, required: bool) -> str:
    if not required:
        return "不属强制检定"
    verified = latest.verified_on if latest else device.verified_on
    until = latest.valid_until if latest else device.verification_valid_until
    result = latest.result if latest else device.verification_result
    if verified is None:
        return "未检定"
    return f"{verified.isoformat()} {result or ''}" + (f"，有效期至 {until.isoformat()}" if until else "")


def table(session: Session, opts: Options) -> tuple[Table, dict[str, int]]:
    check_department(session, opts.department)
    devices = new_devices(session, opts)
    run = latest_run(session, opts.department)
    profile = load_profile(run.profile if run is not None else "national")
    required = profile.get("verification_required")
    ids = [d.id for d in devices]
    records: dict[int, VerificationRecord] = {}
    problems: dict[int, list[str]] = {}
    ledgered: set[int] = set()
    if ids:
        ledgered = set(session.scalars(select(LedgerItem.device_id).where(LedgerItem.device_id.in_(ids))))
        for r in session.scalars(select(VerificationRecord).where(VerificationRecord.device_id.in_(ids))
                                 .order_by(VerificationRecord.verified_on)):
            records[r.device_id] = r
        for p in session.scalars(select(Problem).where(Problem.device_id.in_(ids), Problem.resolved_on.is_(None))
                                 .order_by(Problem.rule)):
            if not (p.verdict == "dismissed" and not p.stale):
                problems.setdefault(p.device_id, []).append(f"{p.rule} {rule_title(p.rule)}")
    tally: Counter = Counter()
    rows = []
    for n, d in enumerate(devices, start=1):
        needs = bool(required.for_type(d.device_type))
        tally["legal"] += d.legal_review_on is not None and d.legal_review_on <= d.in_service_on
        tally["tech"] += d.tech_review_on is not None and d.tech_review_on <= d.in_service_on
        tally["published"] += d.published_on is not None and d.published_on <= d.in_service_on
        tally["required"] += needs
        latest = records.get(d.id)
        until = latest.valid_until if latest else d.verification_valid_until
        result = latest.result if latest else d.verification_result
        tally["verified"] += needs and result == "合格" and until is not None and until >= opts.day
        if d.id in problems:
            tally["with_problems"] += 1
            tally["stopped" if d.status == "停用" else "ledgered" if d.id in ledgered else "unhandled"] += 1
        rows.append([n, d.department.name, d.device_code, d.name, d.device_type,
                     "、".join(x for x in (d.road, d.address) if x), d.in_service_on,
                     _reviewed(d.legal_review_on, d.in_service_on, d.legal_review_no),
                     _reviewed(d.tech_review_on, d.in_service_on),
                     (f"{d.published_on.isoformat()} {d.publication_channel or ''}".strip()
                      + ("，晚于启用日期" if d.published_on > d.in_service_on else "")) if d.published_on else "未公布",
                     _verification(d, latest, needs), "；".join(problems.get(d.id, [])) or "无"])
    tally["total"] = len(devices)
    notes = [f"说明：启用日期在{opts.day.year}年1月1日至{zh_date(opts.day)}之间的设备；“审查发现的问题”为尚未消除、未经核查排除的问题。"]
    return Table(title=f"{opts.day.year}年度新增非现场执法设备情况表", columns=COLUMNS, rows=rows,
                 unit=opts.department or "", date=opts.day, sheet_name="新增设备", notes=notes), tally


def build(session: Session, opts: Options) -> Report:
    attached, tally = table(session, opts)
    scope = opts.department or "各执法单位"
    devices = new_devices(session, opts)
    by_type = Counter(d.device_type for d in devices)
    by_dept = Counter(d.department.name for d in devices)
    total = tally["total"]
    overview = (f"{opts.day.year}年1月1日至{zh_date(opts.day)}，{scope}新增投入使用非现场执法设备 {total} 台"
                + (f"，其中{'、'.join(f'{t} {n} 台' for t, n in sorted(by_type.items(), key=lambda r: (-r[1], r[0])))}" if total else "")
                + "。" + ("分单位：" + "、".join(f"{d} {n} 台" for d, n in sorted(by_dept.items())) + "。"
                         if not opts.department and by_dept else ""))
    checks = (f"投入使用前经法制审核的 {tally['legal']} 台、经技术审核的 {tally['tech']} 台，投入使用前向社会公布设置地点的 "
              f"{tally['published']} 台；属强制检定的 {tally['required']} 台中，检定合格且在有效期内的 {tally['verified']} 台。"
              if total else "本年度没有新增设备。")
    issues = (f"新增设备中有 {tally['with_problems']} 台仍存在审查发现的问题，详见附件“审查发现的问题”一栏"
              + handling_text(tally) if tally["with_problems"] else "新增设备未发现尚未消除的问题。")
    return Report(kind=KIND, title=title(opts), issuer=opts.issuer or opts.department or "（报告单位）", day=opts.day,
                  addressee=addressee(session), attachments=[attached], blocks=[
                      Heading("一、新增设备总体情况"), Text("overview", "一、新增设备总体情况", overview),
                      Heading("二、审核、公布和检定情况"), Text("checks", "二、审核、公布和检定情况", checks),
                      Heading("三、存在的问题和整改情况"), Text("issues", "三、存在的问题和整改情况", issues)])


def handling_text(tally: Counter) -> str:
    """How the new devices with problems are handled, as the registry and the ledger say: 停用, on the ledger,
    or neither yet."""
    handled = "、".join(text for key, text in (("stopped", f"已停用 {tally['stopped']} 台"),
                                                ("ledgered", f"已列入整改台账 {tally['ledgered']} 台"))
                        if tally[key])
    text = f"，其中{handled}" if handled else ""
    if tally["unhandled"]:
        text += (f"{'；' if handled else '，其中'}尚未停用、也未列入整改台账 {tally['unhandled']} 台，"
                 "将逐台核查，按规定停用或列入整改台账")
    return text + "。"


def period(opts: Options) -> str:
    return str(opts.day.year)


def write_xlsx_file(session: Session, path: Path, opts: Options) -> Path:
    return write_xlsx(path, [table(session, opts)[0]])


__all__ = ["KIND", "build", "period", "table", "write_xlsx_file", "new_devices"]
