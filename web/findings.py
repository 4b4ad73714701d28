"""Which findings the pages show: the current and open ones (audit.casework.current), as the current user sees
them, summarised per device for lists, popups and the map."""
from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, NamedTuple

from flask import current_app
from flask_login import current_user
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from audit.casework.current import cannot_assess_condition, current_condition, open_condition
from audit.registry.models import AuditRun, Finding, Problem, ProblemReview
from audit.rules import all_rules

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


def problem_label(problem: Any) -> str:
    """A problem as people name it: the device, the rule and its title (not the database id)."""
    rule = f"{problem.rule} {rule_titles().get(problem.rule, '')}".strip()
    return f"{device_label(problem.device)} · {rule}"


def rule_titles() -> dict[str, str]:
    """Rule code → title in the current language."""
    return _titles(get_locale() == "en")


@lru_cache(maxsize=2)
def _titles(english: bool) -> dict[str, str]:
    return {r.code: (r.title_en if english else r.title_zh) for r in all_rules()}


def visible_condition() -> ColumnElement[bool]:
    """Findings of the departments the current user sees."""
    if current_user.role in DECIDERS:
        return Finding.id.isnot(None)
    return Finding.department == (current_user.department_name or "")


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


class OpenFindings:
    """A snapshot of every open current finding, with the indexes the pages filter and count by."""

    def __init__(self, rows: list[Row], unassessed_devices: set[int]) -> None:
        self.rows = rows
        self.devices_by: dict[tuple[str, str], set[int]] = defaultdict(set)  # (rule, severity) -> device ids
        self.unassessed_devices = unassessed_devices  # devices with a cannot-assess finding (data to supply)
        for row in rows:
            if row.device_id is not None:
                self.devices_by[(row.rule, row.severity)].add(row.device_id)
        self.by_device = summarise_rows((r.device_id, r.rule, r.severity) for r in rows if r.device_id is not None)

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

    Runs, findings and reviews are append-only, so their largest ids (and the number of verdicts sent back to
    review) tell whether anything changed.
    """
    state = tuple(db.execute(select(select(func.max(AuditRun.id)).scalar_subquery(),
                                    select(func.max(Finding.id)).scalar_subquery(),
                                    select(func.max(ProblemReview.id)).scalar_subquery(),
                                    select(func.count(Problem.id)).where(Problem.stale.is_(True))
                                    .scalar_subquery())).one())
    cached = current_app.extensions.get(_CACHE)
    if cached is not None and cached[0] == state:
        return cached[1]
    with _LOCK:
        cached = current_app.extensions.get(_CACHE)
        if cached is not None and cached[0] == state:  # built by another request meanwhile
            return cached[1]
        rows = [Row(*r) for r in db.execute(select(
            Finding.device_id, Finding.rule, Finding.severity, Finding.department, Finding.action)
            .where(current_condition(db), open_condition()))]
        unassessed = set(db.scalars(select(Finding.device_id).where(
            current_condition(db), cannot_assess_condition(), Finding.device_id.isnot(None)).distinct()))
        snapshot = OpenFindings(rows, unassessed)
        current_app.extensions[_CACHE] = (state, snapshot)
    return snapshot


def cannot_assess_counts(db: Session) -> list[tuple[str | None, int]]:
    """Cannot-assess findings of the current runs by department (what departments must supply), for the user."""
    rows = db.execute(select(Finding.department, func.count()).where(current_condition(db), cannot_assess_condition(),
                                                                    visible_condition())
                      .group_by(Finding.department).order_by(Finding.department)).all()
    return [(d, int(n)) for d, n in rows]


def problems_of(db: Session, findings: Iterable[Finding]) -> dict[int, Problem]:
    """Finding id → the problem it observes (cannot-assess findings have none)."""
    wanted = {f.problem_id for f in findings if f.problem_id is not None}
    if not wanted:
        return {}
    by_id = {p.id: p for p in db.scalars(select(Problem).where(Problem.id.in_(sorted(wanted))))}
    return {f.id: by_id[f.problem_id] for f in findings if f.problem_id in by_id}


def summarise_rows(rows: Iterable[tuple[int, str, str]]) -> dict[int, DeviceFindings]:
    """Open findings (device id, rule, severity) per device, rules in code order."""
    by_device: dict[int, DeviceFindings] = defaultdict(DeviceFindings)
    for device_id, rule, severity in sorted(rows, key=lambda r: r[1]):
        by_device[device_id].add(rule, severity)
    return by_device


def summarise(db: Session, device_ids: Iterable[int] | None = None) -> dict[int, DeviceFindings]:
    """Open current findings per device (the given devices, or all)."""
    by_device = open_findings(db).by_device
    if device_ids is None:
        return dict(by_device)
    return {i: by_device[i] for i in device_ids if i in by_device}
