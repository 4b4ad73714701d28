"""The files the demo loads, written as departments really send them (template layout, system export, GBK CSV,
GCJ-02 coordinates), byte-identical on every rebuild; and the manifest camaudit demo reads."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
from openpyxl import Workbook, load_workbook

from audit.intake.columns import DEVICE_COLUMNS, TABLES
from audit.intake.template import FIRST_DATA_ROW, TITLE_ROW, UNIT_ROW, write_template
from audit.intake.xlsxsafe import set_cell
from geo.crs import wgs84_to_gcj02

from .county import CG, FILED_ON, FILES, HB, HIGHWAYS, JJ, JT, PERIOD_END, URBAN, County

# --- writers ----------------------------------------------------------------------------------------------------------

KEYS = [c.key for c in DEVICE_COLUMNS]
DATE_KEYS = {c.key for c in DEVICE_COLUMNS if c.kind == "date"}


def rows_of(county: County, dept: str, crs: str) -> list[dict]:
    rows = []
    for dev in county.devices:
        if dev.dept != dept:
            continue
        lon, lat = dev.lonlat
        if crs == "GCJ02":
            glon, glat = wgs84_to_gcj02(lon, lat)
            lon, lat = round(float(glon), 6), round(float(glat), 6)
        row = {k: v for k, v in dev.fields.items() if not k.startswith("_")}
        row |= {"device_code": dev.code, "department": dept, "lon": lon, "lat": lat, "crs": crs}
        rows.append({k: row.get(k) for k in KEYS})
    return rows


def save_stable(wb: Workbook, path: Path) -> None:
    """Save with fixed document and zip timestamps, so that rebuilding gives byte-identical files."""
    stamp = dt.datetime(FILED_ON.year, FILED_ON.month, FILED_ON.day)
    wb.properties.created = stamp
    buf = io.BytesIO()
    wb.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.isoformat().encode() + b"Z", data)
            dst.writestr(zipfile.ZipInfo(item.filename, stamp.timetuple()[:6]), data, zipfile.ZIP_DEFLATED)
    path.write_bytes(out.getvalue())


def write_template_file(path: Path, kind: str, title: str, unit: str, rows: list[dict]) -> None:
    """Fill the blank form: the clerk's title and unit line, then one row per record."""
    write_template(kind, path)
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    ws.cell(TITLE_ROW, 1).value = title
    ws.cell(UNIT_ROW, 1).value = unit
    keys = [c.key for c in TABLES[kind].columns]
    for r, row in enumerate(rows, start=FIRST_DATA_ROW):
        for c, key in enumerate(keys, start=1):
            value = row.get(key)
            if value is not None:
                set_cell(ws.cell(r, c), value)
    save_stable(wb, path)


def unit_line(dept: str) -> str:
    return f"填报单位（盖章）：{dept}        填报日期：{FILED_ON.year}年{FILED_ON.month}月{FILED_ON.day}日"


def write_jj(county: County, path: Path) -> None:
    write_template_file(path, "devices", f"{JJ}非现场执法设备登记表", unit_line(JJ), rows_of(county, JJ, "CGCS2000"))


def write_jt(county: County, path: Path) -> None:
    """A system export: English alias headers in row 1, dates and numbers as text, no title."""
    wb = Workbook()
    ws = wb.active
    ws.title = "devices"
    ws.append(KEYS)
    for row in rows_of(county, JT, "WGS84"):
        ws.append([_text_date(row[k]) if k in DATE_KEYS else row[k] for k in KEYS])
    save_stable(wb, path)


def _text_date(value) -> str | None:
    return None if value is None else value.strftime("%Y/%m/%d")


def write_cg(county: County, path: Path) -> None:
    """GBK CSV saved from Excel: two title rows, Chinese headers without '*', dates as 2022/3/5."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    width = len(DEVICE_COLUMNS)
    w.writerow([f"{CG}非现场执法设备清单"] + [""] * (width - 1))
    w.writerow([f"填报单位：{CG}", "", "", f"填报日期：{FILED_ON.isoformat()}"] + [""] * (width - 4))
    w.writerow([c.header for c in DEVICE_COLUMNS])
    for row in rows_of(county, CG, "WGS84"):
        w.writerow(["" if row[k] is None else
                    f"{row[k].year}/{row[k].month}/{row[k].day}" if k in DATE_KEYS else
                    _num(row[k]) for k in KEYS])
    path.write_bytes(buf.getvalue().encode("gbk"))


def _num(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_hb(county: County, path: Path) -> None:
    """One title row, header in row 2, GCJ02 coordinates copied from 高德地图 (stated in 坐标系)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "尾气遥感设备"
    ws.append([f"{HB}机动车尾气遥感监测设备登记表"])
    ws.append([c.label for c in DEVICE_COLUMNS])
    for row in rows_of(county, HB, "GCJ02"):
        ws.append([row[k] for k in KEYS])
    for cells in ws.iter_rows(min_row=3):
        for cell in cells:
            if isinstance(cell.value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    save_stable(wb, path)


def write_verifications(county: County, path: Path) -> None:
    rows = [{"device_code": dev.code} | r for dev in county.devices for r in dev.verifications]
    write_template_file(path, "verifications", "将乐县非现场执法设备计量检定记录表", unit_line("将乐县司法局（汇总）"),
                        rows)


def write_violations(table: pd.DataFrame, path: Path) -> None:
    out = table.copy()
    out["罚款金额"] = out["罚款金额"].map("{:.2f}".format)
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def write_rejected(path: Path) -> None:
    """Six rows with the mistakes clerks make most, each of which the importer reports."""
    header = [c.label for c in DEVICE_COLUMNS]
    blank = dict.fromkeys(KEYS, "")
    rows = [
        blank | {"device_code": "JL-XX-0001", "device_type": "固定测速", "lon": "117.47312", "lat": "26.72851",
                 "in_service_on": "2023-13-05"},
        blank | {"device_code": "JL-XX-0001", "device_type": "闯红灯", "lon": "117.48012", "lat": "26.73102"},
        blank | {"device_code": "", "device_type": "违法停车", "lon": "117.46001", "lat": "26.74003"},
        blank | {"device_code": "JL-XX-0003", "device_type": "测速", "lon": "117.46", "lat": "26.74"},
        blank | {"device_code": "JL-XX-0004", "device_type": "违法停车", "lon": "", "lat": "26.74"},
        blank | {"device_code": "JL-XX-0005", "device_type": "违法停车", "lon": "117,46", "lat": "26.74",
                 "status": "正常"},
    ]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow([row[k] for k in KEYS])
    path.write_text(buf.getvalue(), encoding="utf-8")


MANIFEST = f"""# What `camaudit demo` loads, in order (paths relative to data/). Written by data/demo/build_demo.py.

[audit]
as_of = "{PERIOD_END.isoformat()}"
profile = "national"
areas = "boundaries/jiangle_350428_townships.geojson"
roads = "demo/roads.geojson"

# After the audit, the demo walks the casework once: the auditor suspends every device proposed for suspension in
# one department, that department uploads its old inventory again (the suspensions hold), one problem is dismissed
# with a reason, and the audit is run again with the same data (the verdicts hold).
[casework]
auditor = "auditor"
suspend_department = "{JT}"
reupload = "demo/{FILES[JT]}"
dismiss_rule = "PLC04"
dismiss_reason = "设置依据见该点位建设档案（2021年事故统计），登记表漏填，已要求补填"

# The bureau's supervision plan (专项监督工作方案). Its calendar is laid around the day the demo is loaded (the
# *_days values count from that day), so that the overview shows a plan in progress: the self-inspection is past
# due, and every department but {JT} filed on time; the rest is due.
[plan]
title = "将乐县罚款实施专项监督工作方案（演示）"
issuer = "将乐县司法局"
doc_no = "将司〔2025〕12号"
doc_prefix = "将司监督"

[[plan.phases]]
name = "自查"
start_days = -70
end_days = -10

[[plan.phases]]
name = "整改"
start_days = -9
end_days = 80

[[plan.phases]]
name = "总结"
start_days = 81
end_days = 110

[[plan.tasks]]
title = "完成自查，报送自查报告及突出问题清单"
deliverable = "自查报告"
deadline_days = -10
phase = "自查"
departments = ["{JJ}", "{JT}", "{CG}", "{HB}"]

[[plan.tasks]]
title = "报送整改台账，逐项明确整改措施、时限和责任人"
deliverable = "整改台账"
deadline_days = 5
phase = "整改"
departments = ["{JJ}", "{JT}", "{CG}", "{HB}"]

[[plan.tasks]]
title = "报送本季度专项监督工作情况"
deliverable = "季度报告"
deadline_days = 20
phase = "整改"
departments = ["{JJ}", "{JT}"]

[[plan.tasks]]
title = "报送工作总结，附详细整改台账、一个典型案例和追责问责、容错免责情况的专题说明"
deliverable = "工作总结"
deadline_days = 110
phase = "总结"
departments = ["{JJ}", "{JT}", "{CG}", "{HB}"]

# Filings: the task (its place in the list above), the department, and the day filed counted from the deadline.
[[plan.filings]]
task = 1
department = "{JJ}"
days = -3

[[plan.filings]]
task = 1
department = "{CG}"
days = -1

[[plan.filings]]
task = 1
department = "{HB}"
days = -5

# The bureau urges the late department with a 督办函 (numbered in the register), to act within the days given.
[[plan.letters]]
kind = "supervise"
department = "{JT}"
deadline_days = 7

# The annual site review (年度评估) of a few devices, by the auditor.
[[assessments]]
device = "JL-JJ-0001"
outcome = "keep"
reason = "近一年抓拍量平稳，所在路口事故多发，设置依据仍然成立"

[[assessments]]
device = "JL-JJ-0002"
outcome = "relocate"
reason = "设置依据缺失，所在路段已改造，建议迁至事故多发的路口"

# Demo logins for the web application (demo database only): login, role, department, 姓名, 职务 (invented).
[users]
password = "camaudit-demo"
accounts = [
    ["admin", "admin", "", "王磊", "信息中心系统管理员"],
    ["auditor", "auditor", "", "林建华", "县司法局行政执法协调监督股股长"],
    ["jiaojing", "department", "{JJ}", "陈志强", "交警大队法制员"],
    ["chengguan", "department", "{CG}", "张丽", "城管局法规股科员"],
]

[[boundary]]
file = "boundaries/jiangle_350428_townships.geojson"
departments = ["{JJ}", "{JT}", "{CG}", "{HB}"]

[[import]]
kind = "devices"
file = "demo/{FILES[JJ]}"
department = "{JJ}"

[[import]]
kind = "devices"
file = "demo/{FILES[JT]}"
department = "{JT}"

[[import]]
kind = "devices"
file = "demo/{FILES[CG]}"
department = "{CG}"

[[import]]
kind = "devices"
file = "demo/{FILES[HB]}"
department = "{HB}"

[[import]]
kind = "verifications"
file = "demo/verifications.xlsx"

[[import]]
kind = "violations"
file = "demo/violations.csv"

[[import]]
kind = "devices"
file = "chicago/chicago_speed_devices.csv"
department = "Chicago Department of Transportation (CDOT)"

[[import]]
kind = "violations"
file = "chicago/chicago_speed_violations_2019.csv"

[[rejected]]
kind = "devices"
file = "demo/rejected_example.csv"
department = "示例单位"
note = "常见填报错误：日期不存在、编号重复或为空、设备类型不在列表中、缺少经度、经度用逗号、状态不在列表中"
"""


def write_roads(path: Path) -> None:
    """The invented road network as a GeoJSON line file (WGS-84), as a road export would give it."""
    features = [{"type": "Feature", "properties": {"name": name, "kind": kind},
                 "geometry": {"type": "LineString", "coordinates": [list(c) for c in coords]}}
                for kind, roads in (("城区道路", URBAN), ("公路", HIGHWAYS)) for name, coords in roads.items()]
    text = json.dumps({"type": "FeatureCollection", "name": "将乐县（虚构）路网", "features": features},
                      ensure_ascii=False, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")
