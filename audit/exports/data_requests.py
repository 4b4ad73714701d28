"""data-requests: 补报资料清单, what each department must supply before the audit can assess its devices.

From the current run's cannot-assess findings (无法评估): one row per department and missing item (a column the
upload did not have or left empty where the rule needs it, or data not reported at all), with the rules waiting for
it and the devices concerned. Cannot-assess is a request for data, never a problem: it has no verdict.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..intake.columns import DEVICE_COLUMNS
from .common import Col, Table
from .data import NO_DEPARTMENT, Options, check_department, device_list, problems, resolve_run, rule_title, run_label

TITLE = "非现场执法设备补报资料清单"
HEADERS = {c.key: c.header for c in DEVICE_COLUMNS}
COLUMNS = (
    Col("序号", 6, kind="int"),
    Col("单位", 18),
    Col("需补报的资料", 30),
    Col("无法审查的事项", 34),
    Col("涉及设备", 30),
    Col("设备数", 8, kind="int"),
)


def what_to_supply(evidence: dict[str, Any]) -> str:
    """The missing item of a cannot-assess finding: the columns it names, else the reason given."""
    missing = [HEADERS.get(k, k) for k in evidence.get("missing") or []]
    if missing:
        return "、".join(f"“{m}”" for m in missing)
    return str(evidence.get("reason") or "相关资料")


def build(session: Session, opts: Options) -> Table:
    check_department(session, opts.department)
    run = resolve_run(session, opts.run_id, opts.department)
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    for entry in problems(session, run, opts.department):
        if not entry.cannot_assess:
            continue
        f = entry.finding
        key = (f.department or NO_DEPARTMENT, what_to_supply(f.evidence or {}))
        group = groups.setdefault(key, {"rules": [], "devices": []})
        if f.rule not in group["rules"]:
            group["rules"].append(f.rule)
        if f.device_code:
            group["devices"].append(f.device_code)
    rows = []
    for n, key in enumerate(sorted(groups), start=1):
        dept, item = key
        group = groups[key]
        devices = list(dict.fromkeys(group["devices"]))
        rows.append([n, dept, item, "；".join(f"{r} {rule_title(r)}" for r in sorted(group["rules"])),
                     device_list(devices) if devices else "本单位全部相关设备", len(devices)])
    notes = [f"说明：依据{run_label(run)}中“无法评估”的事项生成；请按清单补报资料（补填登记表相应列或导入相关统计），"
             "然后重新审查。文件中没有某列时视为未报送该项资料；已有该列但单元格为空的，视为登记表如实记载“未办理”，"
             "不在本清单中，而作为问题审查。"]
    return Table(title=TITLE, columns=COLUMNS, rows=rows, unit=opts.department or "", date=opts.day,
                 attachment="附件", sheet_name="补报资料清单", notes=notes)
