"""Audit runs and their findings, stored so that a run can be shown, exported and reproduced."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..registry.models import AuditRun, Device, Finding
from .base import get_rule
from .profiles import Profile
from .schema import FINDING_COLUMNS, RULESET_VERSION


def _none(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _device_ids(session: Session, codes: Iterable[str]) -> dict[str, int]:
    wanted = sorted({c for c in codes if c is not None})
    ids: dict[str, int] = {}
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start:start + 5000]
        ids.update(session.execute(select(Device.device_code, Device.id).where(Device.device_code.in_(chunk))).all())
    return ids


def store_run(session: Session, findings: pd.DataFrame, *, as_of: dt.date, profile: Profile | str,
              batch_ids: list[int], department: str | None, device_count: int, user: str,
              ruleset_version: str | None = None, layers: dict[str, Any] | None = None) -> AuditRun:
    """Store a run and its findings (in the session's transaction; the caller commits)."""
    if ruleset_version is None:
        ruleset_version = RULESET_VERSION
    name = profile.name if isinstance(profile, Profile) else str(profile)
    digest = profile.digest() if isinstance(profile, Profile) else None
    run = AuditRun(as_of=as_of, profile=name, profile_digest=digest, ruleset_version=ruleset_version,
                   batch_ids=[int(b) for b in batch_ids], department=department, device_count=int(device_count),
                   finding_count=len(findings), user=user, layers=layers or {})
    session.add(run)
    session.flush()
    _insert_findings(session, run, findings)
    return run


def add_findings(session: Session, run: AuditRun, findings: pd.DataFrame) -> None:
    """Add findings to a stored run (a second pass of some rules on some devices; see casework.problems)."""
    _insert_findings(session, run, findings)
    run.finding_count = int(run.finding_count or 0) + len(findings)
    session.flush()


def _insert_findings(session: Session, run: AuditRun, findings: pd.DataFrame) -> None:
    ids = _device_ids(session, findings["device_code"].tolist())
    rows = [{"run_id": run.id, "rule": r.rule, "device_id": ids.get(_none(r.device_code)),
             "device_code": _none(r.device_code), "department": _none(r.department), "severity": r.severity,
             "action": r.action, "message": r.message, "evidence": r.evidence, "basis": r.basis,
             "threshold": _none(r.threshold)}
            for r in findings[FINDING_COLUMNS].itertuples(index=False)]
    for start in range(0, len(rows), 20_000):
        session.execute(insert(Finding), rows[start:start + 20_000])


def findings_frame(session: Session, run_id: int) -> pd.DataFrame:
    """A stored run's findings in the fixed schema (the same table run_rules returned), in stored order."""
    run = session.get(AuditRun, run_id)
    if run is None:
        raise KeyError(f"没有编号为 {run_id} 的审查记录。")
    t = Finding.__table__
    rows = session.execute(select(t.c.rule, t.c.device_code, t.c.department, t.c.severity, t.c.action,
                                  t.c.message, t.c.evidence, t.c.basis, t.c.threshold)
                           .where(t.c.run_id == run_id).order_by(t.c.id)).all()
    frame = pd.DataFrame(rows, columns=["rule", "device_code", "department", "severity", "action", "message",
                                        "evidence", "basis", "threshold"], dtype=object)
    titles = {code: get_rule(code) for code in frame["rule"].unique()}
    frame["profile"] = run.profile
    frame["title_zh"] = [titles[c].title_zh for c in frame["rule"]]
    frame["title_en"] = [titles[c].title_en for c in frame["rule"]]
    return frame[FINDING_COLUMNS].astype(object)


def list_runs(session: Session) -> list[AuditRun]:
    return list(session.scalars(select(AuditRun).order_by(AuditRun.id.desc())))


@dataclass
class CurrentRuns:
    """Which run is current for each department: the latest run covering all departments (full), and the later
    runs of single departments that supersede it for their department (own: department → run id)."""

    full: int | None
    own: dict[str, int]

    def of(self, department: str | None) -> int | None:
        """The current run of the department (of all departments when None)."""
        return self.own.get(department, self.full) if department else self.full


def current_runs(session: Session) -> CurrentRuns:
    full = None
    own: dict[str, int] = {}
    for run_id, department in session.execute(select(AuditRun.id, AuditRun.department).order_by(AuditRun.id)):
        if department is None:
            full = run_id
            own.clear()
        else:
            own[department] = run_id
    return CurrentRuns(full, own)


__all__ = ["CurrentRuns", "store_run", "add_findings", "findings_frame", "list_runs", "current_runs"]


def is_cannot_assess(findings: pd.DataFrame) -> pd.Series:
    return findings["evidence"].map(lambda e: bool(isinstance(e, dict) and e.get("cannot_assess")))

