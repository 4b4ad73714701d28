"""Which findings the pages show: per department, those of its latest audit run, open unless dismissed on review.

A run covers all departments (department None) or one; for each department the latest run that covers it is its
current run. A finding is open while its latest review is not 'dismissed'.
"""
from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, NamedTuple

from flask import current_app
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from audit.registry.models import FindingReview
from audit.rules import all_rules
from audit.registry.models import AuditRun, Finding
from audit.rules.findings import current_runs

from .access import DECIDERS
from .i18n import get_locale

# Finding groups (map layers) by rule-code prefix.
GROUPS = {"REV": "审核", "PUB": "公布", "SGN": "标识", "CAL": "检定", "PLC": "设置", "VIO": "采集量"}
SEVERITIES = ("严重", "较重", "一般")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def group_of(rule: str) -> str:
    return GROUPS.get(rule[:3], "其他")


def device_label(device: Any) -> str:
    """A device as people name it: its code and name (JA-001 水南大道测速)."""
    return " ".join(x for x in (device.device_code, device.name) if x)


def finding_label(finding: Finding, device: Any = None) -> str:
    """A finding as people name it: the device, the rule and its title (not the database id)."""
    rule = f"{finding.rule} {rule_titles().get(finding.rule, '')}".strip()
    if device is not None:
        return f"{device_label(device)} · {rule}"
    return f"{finding.department or ''} · {rule}".lstrip(" ·")


def rule_titles() -> dict[str, str]:
    """Rule code → title in the current language."""
    return _titles(get_locale() == "en")


@lru_cache(maxsize=2)
def _titles(english: bool) -> dict[str, str]:
    return {r.code: (r.title_en if english else r.title_zh) for r in all_rules()}


def dismissed_ids() -> Select[Any]:
    latest = select(func.max(FindingReview.id)).group_by(FindingReview.finding_id)
    return select(FindingReview.finding_id).where(FindingReview.id.in_(latest), FindingReview.status == "dismissed")


def visible_condition() -> ColumnElement[bool]:
    """Findings of the departments the current user sees."""
    if current_user.role in DECIDERS:
        return Finding.id.isnot(None)
    return Finding.department == (current_user.department_name or "")


def current_condition(db: Session, run_id: int | None = None) -> ColumnElement[bool]:
    """Findings of one run, or of each department's current run."""
    if run_id is not None:
        return Finding.run_id == run_id
    runs = current_runs(db)
    own = [and_(Finding.run_id == rid, Finding.department == name) for name, rid in runs.own.items()]
    if runs.full is not None:
        superseded = list(runs.own)
        own.append(and_(Finding.run_id == runs.full, or_(Finding.department.is_(None),
                                                          Finding.department.not_in(superseded)))
                   if superseded else Finding.run_id == runs.full)
    return or_(*own) if own else false()


def open_condition() -> ColumnElement[bool]:
    return Finding.id.not_in(dismissed_ids())


def unassessed_condition() -> ColumnElement[bool]:
    """A cannot-assess finding (the rule lacked data; audit.rules.base.Rule.cannot_assess)."""
    return Finding.evidence["cannot_assess"].as_boolean()


@dataclass
class DeviceFindings:
    """The open findings of one device, summarised for lists, popups and the map."""

    worst: str | None = None
    rules: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, rule: str, severity: str) -> None:
        self.count += 1
        if rule not in self.rules:
            self.rules.append(rule)
        if self.worst is None or SEVERITY_RANK.get(severity, 9) < SEVERITY_RANK.get(self.worst, 9):
            self.worst = severity

    @property
    def groups(self) -> list[str]:
        order = [*GROUPS.values(), "其他"]
        return sorted({group_of(r) for r in self.rules}, key=order.index)


class Row(NamedTuple):
    device_id: int | None
    rule: str
    severity: str
    department: str | None
    action: str
    unassessed: bool | None  # a cannot-assess finding (无法评估: data missing)


class OpenFindings:
    """A snapshot of every open current finding, with the indexes the pages filter and count by."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self.by_device: dict[int, DeviceFindings] = defaultdict(DeviceFindings)
        self.devices_by: dict[tuple[str, str], set[int]] = defaultdict(set)  # (rule, severity) -> device ids
        self.unassessed_devices: set[int] = set()  # devices with a cannot-assess finding
        for row in sorted(rows, key=lambda r: r.rule):
            if row.device_id is not None:
                self.by_device[row.device_id].add(row.rule, row.severity)
                self.devices_by[(row.rule, row.severity)].add(row.device_id)
                if row.unassessed:
                    self.unassessed_devices.add(row.device_id)

    def device_ids(self, rule: str = "", severity: str = "") -> set[int]:
        """Devices with an open finding of this rule and/or severity."""
        out: set[int] = set()
        for (r, sev), ids in self.devices_by.items():
            if rule in ("", r) and severity in ("", sev):
                out |= ids
        return out

    def count_by(self, key: str) -> list[tuple[Any, int]]:
        """Counts of the findings the current user sees, by rule, severity, department or action."""
        if current_user.role in DECIDERS:
            rows: Iterable[Row] = self.rows
        else:
            rows = (r for r in self.rows if r.department == current_user.department_name)
        counts = Counter(getattr(r, key) for r in rows)
        return sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))


_CACHE = "camaudit.open_findings"
_LOCK = threading.Lock()


def open_findings(db: Session) -> OpenFindings:
    """The snapshot, rebuilt only when a run, a finding or a review was added since the last one.

    Runs, findings and reviews are append-only, so their largest ids tell whether anything changed.
    """
    state = tuple(db.execute(select(select(func.max(AuditRun.id)).scalar_subquery(),
                                    select(func.max(Finding.id)).scalar_subquery(),
                                    select(func.max(FindingReview.id)).scalar_subquery())).one())
    cached = current_app.extensions.get(_CACHE)
    if cached is not None and cached[0] == state:
        return cached[1]
    with _LOCK:
        cached = current_app.extensions.get(_CACHE)
        if cached is not None and cached[0] == state:  # built by another request meanwhile
            return cached[1]
        rows = [Row(*r) for r in db.execute(select(
            Finding.device_id, Finding.rule, Finding.severity, Finding.department, Finding.action,
            unassessed_condition()).where(current_condition(db), open_condition()))]
        snapshot = OpenFindings(rows)
        current_app.extensions[_CACHE] = (state, snapshot)
    return snapshot


def summarise(db: Session, device_ids: Iterable[int] | None = None) -> dict[int, DeviceFindings]:
    """Open current findings per device (the given devices, or all)."""
    by_device = open_findings(db).by_device
    if device_ids is None:
        return dict(by_device)
    return {i: by_device[i] for i in device_ids if i in by_device}
