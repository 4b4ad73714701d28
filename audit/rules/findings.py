"""Audit runs and their findings, stored so that a run can be shown, exported and reproduced."""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..registry.bulk import Col, loader_for
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
              ruleset_version: str | None = None, layers: dict[str, Any] | None = None,
              store_findings: bool = True) -> AuditRun:
    """Store a run and its findings (in the session's transaction; the caller commits). store_findings False: the
    run only (its finding_count says how many), the caller inserts them (insert_findings) once it knows their
    problems (audit.casework.problems)."""
    if ruleset_version is None:
        ruleset_version = RULESET_VERSION
    name = profile.name if isinstance(profile, Profile) else str(profile)
    digest = profile.digest() if isinstance(profile, Profile) else None
    run = AuditRun(as_of=as_of, profile=name, profile_digest=digest, ruleset_version=ruleset_version,
                   batch_ids=[int(b) for b in batch_ids], department=department, device_count=int(device_count),
                   finding_count=len(findings), user=user, layers=layers or {})
    session.add(run)
    session.flush()
    if store_findings:
        insert_findings(session, run, findings)
    return run


FINDING_TABLE = [Col("run_id", "int"), Col("rule", "text"), Col("device_id", "int"), Col("device_code", "text"),
                 Col("department", "text"), Col("severity", "text"), Col("action", "text"), Col("message", "text"),
                 Col("evidence", "json"), Col("basis", "text"), Col("threshold", "json"), Col("problem_id", "int")]


def json_texts(values: Iterable[Any]) -> list[str]:
    """Each value as the JSON text SQLAlchemy's JSON type stores (json.dumps; None as the JSON null), a value
    held by several rows (the thresholds of a device type) dumped once (the values must outlive the call)."""
    done: dict[int, str] = {}
    out = []
    for value in values:
        text = done.get(id(value))
        if text is None:
            text = done[id(value)] = json.dumps(value)
        out.append(text)
    return out


def insert_findings(session: Session, run: AuditRun, findings: pd.DataFrame,
                    problem_ids: list[int | None] | None = None, device_ids: list[int | None] | None = None) -> None:
    """Append the findings to the run in their order, by the database's bulk path (audit.registry.bulk: COPY on
    PostgreSQL, executemany elsewhere); problem_ids: the problem each observes (None: none), device_ids: each
    one's device (looked up by code otherwise)."""
    n = len(findings)
    if not n:
        return
    codes = [_none(c) for c in findings["device_code"].tolist()]
    if device_ids is None:
        ids = _device_ids(session, codes)
        device_ids = [ids.get(c) for c in codes]
    data = {"run_id": [run.id] * n, "device_id": device_ids, "device_code": codes,
            "department": [_none(d) for d in findings["department"].tolist()],
            "evidence": json_texts(findings["evidence"].tolist()),
            "threshold": json_texts([_none(t) for t in findings["threshold"].tolist()]),
            "problem_id": problem_ids if problem_ids is not None else [None] * n}
    for key in ("rule", "severity", "action", "message", "basis"):
        data[key] = findings[key].tolist()
    loader_for(session).append("finding", FINDING_TABLE, data)


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


_RUNS = select(AuditRun.id, AuditRun.department).order_by(AuditRun.id)  # built once (read on every list request)


def current_runs(session: Session) -> CurrentRuns:
    full = None
    own: dict[str, int] = {}
    for run_id, department in session.execute(_RUNS):
        if department is None:
            full = run_id
            own.clear()
        else:
            own[department] = run_id
    return CurrentRuns(full, own)


__all__ = ["CurrentRuns", "store_run", "insert_findings", "json_texts", "findings_frame", "list_runs", "current_runs"]


def is_cannot_assess(findings: pd.DataFrame) -> pd.Series:
    return findings["evidence"].map(lambda e: bool(isinstance(e, dict) and e.get("cannot_assess")))

