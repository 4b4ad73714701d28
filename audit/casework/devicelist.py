"""The device list (设备列表), one page at a time, done in SQL: the registry's filters, the filters by the current
open findings (a rule, a severity, a cannot-assess finding), the count, the sort and the page; then only the
columns the list shows, for the page's devices only, and their open findings.

The count and the page are cut from every matching id in the list's order (matching_ids): a count and a late page
each read as many rows as those ids (at 50,000 devices 2–28 ms on PostgreSQL for a plain page, whose index of
codes does not hold the ids; 20–40 ms for a text found in many devices or a severity on either backend), so a
caller that keeps the ids per state of the registry (the web app) reads them once.

An open finding of one rule or severity is selective (a few percent of a run's findings), so its devices are
listed once (IN); a cannot-assess finding is common (most devices lack some column), so each device is probed
(EXISTS, on the index of findings by device and run).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import ColumnElement, Row, bindparam, exists, or_, select
from sqlalchemy.orm import Session

from ..registry.models import Department, Device, Finding
from ..registry.search import candidates
from .current import cannot_assess_condition, current_condition, open_condition

SORTS = {
    "code": Device.device_code,
    "name": Device.name,
    "type": Device.device_type,
    "department": Department.name,
    "road": Device.road,
    "status": Device.status,
    "in_service": Device.in_service_on,
}

# What the list shows (plain columns: no ORM objects to build per row).
LIST_COLUMNS = (Device.id, Device.device_code, Device.name, Device.device_type, Device.road, Device.status,
                Device.in_service_on, Device.missing_since_batch_id, Department.name.label("department"))
# A page's rows by id, built once (neither the statement nor its cache key made again per request).
_PAGE_ROWS = select(*LIST_COLUMNS).join(Department).where(Device.id.in_(bindparam("ids", expanding=True)))


@dataclass
class DeviceCriteria:
    """What the list is filtered by; empty values filter nothing."""

    q: str = ""
    department_id: int | None = None
    device_type: str = ""
    status: str = ""
    rule: str = ""
    severity: str = ""
    pending: bool = False  # 待核实: missing from the department's last uploaded inventory
    unassessed: bool = False  # with a cannot-assess finding in the current run

    def registry_conditions(self) -> list[ColumnElement[bool]]:
        """The filters on the registry itself (department, type, status, 待核实, text: also looked up in the search
        index, which lists the same devices)."""
        out: list[ColumnElement[bool]] = []
        if self.department_id is not None:
            out.append(Device.department_id == self.department_id)
        if self.device_type:
            out.append(Device.device_type == self.device_type)
        if self.status:
            out.append(Device.status == self.status)
        if self.pending:
            out.append(Device.missing_since_batch_id.isnot(None))
        if self.q:
            like = {"autoescape": True}
            found = candidates(Device.id, self.q)  # audit.registry.search
            if found is not None:
                out.append(found)
            out.append(or_(Device.device_code.contains(self.q, **like), Device.name.contains(self.q, **like),
                           Device.road.contains(self.q, **like), Device.address.contains(self.q, **like)))
        return out

    def finding_conditions(self, current: ColumnElement[bool]) -> list[ColumnElement[bool]]:
        """The filters by the current findings (current: current_condition): an open one of the rule and/or
        severity, a cannot-assess one."""
        out: list[ColumnElement[bool]] = []
        if self.rule or self.severity:
            matching = select(Finding.device_id).where(current, open_condition())
            if self.rule:
                matching = matching.where(Finding.rule == self.rule)
            if self.severity:
                matching = matching.where(Finding.severity == self.severity)
            out.append(Device.id.in_(matching))
        if self.unassessed:
            out.append(exists().where(Finding.device_id == Device.id, current, cannot_assess_condition()))
        return out

    def conditions(self, current: ColumnElement[bool], scope: int | None) -> list[ColumnElement[bool]]:
        """Every filter (current: the current findings' condition, current_condition), within the department a
        user is confined to (scope; None: all departments)."""
        confined = [] if scope is None else [Device.department_id == scope]
        return confined + self.registry_conditions() + self.finding_conditions(current)


@dataclass
class DevicePage:
    rows: list[Row[Any]]  # LIST_COLUMNS, in the page's order
    total: int
    page: int
    pages: int
    findings: list[tuple[int, str, str]]  # the page's open current findings: device id, rule, severity


def ordered(query: Any, sort: str, desc: bool) -> Any:
    """The list's order: the sort column (empty values last), then the device code."""
    if sort not in SORTS or sort == "code":  # never empty, and unique
        return query.order_by(Device.device_code.desc() if desc else Device.device_code)
    column = SORTS[sort]
    return query.order_by((column.desc() if desc else column.asc()).nulls_last(), Device.device_code)


def _matching(session: Session, criteria: DeviceCriteria, scope: int | None, sort: str, desc: bool,
              current: ColumnElement[bool]) -> list[int]:
    keys = select(Device.id).where(*criteria.conditions(current, scope))
    return list(session.scalars(ordered(keys.join(Department) if sort == "department" else keys, sort, desc)))


def matching_ids(session: Session, criteria: DeviceCriteria, *, scope: int | None, sort: str = "code",
                 desc: bool = False) -> list[int]:
    """Every device the list finds, in its order."""
    return _matching(session, criteria, scope, sort, desc, current_condition(session))


def device_page(session: Session, criteria: DeviceCriteria, *, scope: int | None, sort: str = "code",
                desc: bool = False, page: int = 1, per_page: int = 50,
                matches: Sequence[int] | None = None) -> DevicePage:
    """One page of the list: the page asked for, or the last one when it is past the end. matches: every id the
    same criteria, scope and order find in the registry's current state (matching_ids, kept by the caller); read
    here when not given."""
    current = current_condition(session)  # one reading of the current runs, for the filters and the findings
    if matches is None:
        matches = _matching(session, criteria, scope, sort, desc, current)
    total = len(matches)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    ids = list(matches[(page - 1) * per_page:page * per_page])
    if not ids:
        return DevicePage([], total, page, pages, [])
    found = {r.id: r for r in session.execute(_PAGE_ROWS, {"ids": ids})}
    return DevicePage([found[i] for i in ids], total, page, pages, open_findings_of(session, ids, current))


_DEPARTMENTS = select(Department.id, Department.name).order_by(Department.name)
_DEPARTMENT = _DEPARTMENTS.where(Department.id == bindparam("department_id"))


def department_choices(session: Session, confined_to: int | None, confined: bool) -> list[Row[Any]]:
    """The departments the list may be filtered by (id, name; not their boundaries): all, or when the user is
    confined, only its own (confined_to; none when it has none)."""
    if not confined:
        return list(session.execute(_DEPARTMENTS))
    return list(session.execute(_DEPARTMENT, {"department_id": confined_to}))


def open_findings_of(session: Session, device_ids: list[int], current: ColumnElement[bool]
                     ) -> list[tuple[int, str, str]]:
    """The open current findings (current: current_condition) of these devices (a page of them): device id, rule,
    severity."""
    rows = session.execute(select(Finding.device_id, Finding.rule, Finding.severity).where(
        Finding.device_id.in_(device_ids), current, open_condition()))
    return [(int(d), str(r), str(s)) for d, r, s in rows]
