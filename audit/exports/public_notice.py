"""public-notice: 电子技术监控设备设置地点公告 (行政处罚法 第四十一条第一款), docx and xlsx.

Devices in use (在用) only, and only what the public is told: department, road, site, direction, type and the
violations captured, and for the public web page's map the site's position to 4 decimals (about 10 m); no codes,
exact coordinates, review numbers or counts. `notice_rows` feeds the public web page.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from .common import (
    Col,
    Table,
    add_paragraph,
    add_signature,
    add_table,
    add_title,
    new_document,
    text_width_mm,
    write_xlsx,
)
from .data import Options, check_department, devices_of

TITLE = "电子技术监控设备设置地点公告"
PUBLIC_KEYS = ("department", "road", "address", "direction", "device_type", "violation_kinds", "lon", "lat")
SITE_DECIMALS = 4  # a published site on a map: about 10 m, not the registry's surveyed position
COLUMNS = (
    Col("序号", 6, kind="int"),
    Col("执法单位", 18),
    Col("道路名称", 14, "设置地点"),
    Col("具体位置", 26, "设置地点"),
    Col("方向", 10, "设置地点", kind="center"),
    Col("设备类型", 10, kind="center"),
    Col("抓拍违法行为", 22),
)
BASIS = "《中华人民共和国行政处罚法》第四十一条第一款"


def notice_rows(session: Session, department: str | None = None) -> list[dict[str, Any]]:
    """The public list: one dict per device in use with only the keys in PUBLIC_KEYS."""
    check_department(session, department)
    return [{"department": d.department.name, "road": d.road, "address": d.address, "direction": d.direction,
             "device_type": d.device_type, "violation_kinds": d.violation_kinds,
             "lon": None if d.lon is None else round(d.lon, SITE_DECIMALS),
             "lat": None if d.lat is None else round(d.lat, SITE_DECIMALS)}
            for d in devices_of(session, department, status="在用")]


def build(session: Session, opts: Options) -> Table:
    rows = [[n, r["department"], r["road"], r["address"], r["direction"], r["device_type"], r["violation_kinds"]]
            for n, r in enumerate(notice_rows(session, opts.department), start=1)]
    return Table(title=TITLE, columns=COLUMNS, rows=rows, unit=opts.department or "", date=opts.day,
                 attachment="附件", sheet_name="设置地点公告")


def write_xlsx_file(session: Session, path: Path, opts: Options) -> Path:
    return write_xlsx(path, [build(session, opts)])


def write_docx_file(session: Session, path: Path, opts: Options) -> Path:
    table = build(session, opts)
    issuer = opts.issuer or opts.department or "（发布机关）"
    doc = new_document()
    add_title(doc, f"关于{opts.department or ''}{TITLE[:-2]}的公告")
    add_paragraph(doc, f"根据{BASIS}“电子技术监控设备设置地点应当向社会公布”的规定，现将"
                       f"{'本单位' if opts.department else '本辖区'}在用电子技术监控设备的设置地点公告如下"
                       f"（共 {len(table.rows)} 处）：")
    add_table(doc, table.columns, table.rows, text_width_mm(doc))
    add_paragraph(doc, "特此公告。")
    add_signature(doc, issuer, opts.day)
    doc.save(path)
    return path
