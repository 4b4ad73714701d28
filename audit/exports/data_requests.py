"""data-requests: 补报资料清单, what each department must supply before the audit can assess its devices.

From the current run's cannot-assess findings (无法评估): one row per department and missing item (a column the
upload did not have or left empty where the rule needs it, or data not reported at all), with the rules waiting for
it and the devices concerned. Cannot-assess is a request for data, never a problem: it has no verdict.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from sqlalchemy import Select, Text, cast, select
from sqlalchemy.orm import Session

from ..intake.columns import DEVICE_COLUMNS
from ..registry.models import Finding
from .common import Col, Table
from .data import (NO_DEPARTMENT, ExportError, Options, check_department, device_list, resolve_run, rule_title,
                   run_label)

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


def _cannot_assess(session: Session, query: Select[Any], run_id: int, department: str | None
                   ) -> Iterator[tuple[Any, ...]]:
    """The rows of `query` (columns of findings) for the run's cannot-assess findings of the department (or all),
    each with its evidence. Such a finding never observes a problem, so only the findings without one are read;
    their evidence repeats (the same missing column on every device), so each distinct text is decoded once."""
    text = cast(Finding.evidence, Text)
    query = query.add_columns(text).where(Finding.run_id == run_id, Finding.problem_id.is_(None))
    if department:
        query = query.where(Finding.department == department)
    decoded: dict[str | None, dict[str, Any]] = {}
    for *columns, raw in session.execute(query):
        evidence = decoded.get(raw)
        if evidence is None:
            evidence = decoded[raw] = (json.loads(raw) if raw else None) or {}
        if evidence.get("cannot_assess"):
            yield (*columns, evidence)


def request_counts(session: Session, departments: list[str]) -> dict[str, int]:
    """How many rows each department's 补报资料清单 has (none before any run), for the to-do overview: one read
    per current run, not one per department."""
    by_run: dict[int, list[str]] = {}
    for name in departments:
        try:
            by_run.setdefault(resolve_run(session, None, name).id, []).append(name)
        except ExportError:
            continue
    items: dict[str, set[str]] = {name: set() for name in departments}
    for run_id, names in by_run.items():
        query = select(Finding.department).distinct().where(Finding.department.in_(names))
        for department, evidence in _cannot_assess(session, query, run_id, None):
            items[department].add(what_to_supply(evidence))
    return {name: len(found) for name, found in items.items()}


def build(session: Session, opts: Options) -> Table:
    check_department(session, opts.department)
    run = resolve_run(session, opts.run_id, opts.department)
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    query = select(Finding.department, Finding.rule, Finding.device_code).order_by(Finding.id)
    for department, rule, device_code, evidence in _cannot_assess(session, query, run.id, opts.department):
        key = (department or NO_DEPARTMENT, what_to_supply(evidence))
        group = groups.setdefault(key, {"rules": [], "devices": []})
        if rule not in group["rules"]:
            group["rules"].append(rule)
        if device_code:
            group["devices"].append(device_code)
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
