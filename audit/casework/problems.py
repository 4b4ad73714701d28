"""Problems (问题) that live across audit runs: each finding observes one; verdicts attach to the problem.

A problem is identified by device, rule and the finding's evidence key (audit.rules.base). After every run,
`record_run` files the run's findings under their problems and looks at the open problems of every device the run
covered: a problem observed again keeps its verdict (unless its material evidence changed, which sends it back to
review with the earlier verdict shown); one the run could not assess (missing data, a device the rule does not
examine) stays open; one the run no longer finds is resolved by that run (已消除, with the run and date). A device's
removal resolves its problems itself, as of its day, by no run (audit.registry.removal).
Cannot-assess findings are requests for data, not problems: they get no problem and no verdict.

A suspended device is not examined by the rules about devices in use, yet its rectification must be re-checked
before it may be restored: `recheck_suspended` runs the rules of its open problems once more as if it were back in
use, and adds what they still find to the run, marked as such; what they no longer find is resolved.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

import geopandas as gpd
import pandas as pd
from sqlalchemy import ARRAY, Date, String, and_, any_, bindparam, select, text, update
from sqlalchemy.orm import Session, aliased

from .. import forkserver
from ..registry.bulk import Col, loader_for
from ..registry.models import (
    DEVICE_REMOVED,
    NOT_ASSESSED,
    OBSERVED,
    RESOLVED,
    REVIEW_ZH,
    AuditRun,
    ChangeLog,
    Department,
    Device,
    Finding,
    Problem,
    ProblemReview,
)
from ..registry.store import device_count, load_status_history
from ..rules.base import IN_USE, RETIRED, all_rules, get_rule, service_state
from ..rules.chunks import CHUNK_DEVICES, TotalsByDevice
from ..rules.context import AuditContext
from ..rules.engine import audit_findings, load_inputs, run_audit
from ..rules.findings import insert_findings, json_texts
from ..rules.parallel import audit_workers
from ..rules.profiles import load_profile
from ..rules.schema import empty_findings
from ..rules.service import status_on
from .decisions import DecisionError

CHUNK = 5000
RESOLVED_NOT_FOUND = "复查未再发现"
RESOLVED_RECHECKED = "停用设备按恢复使用的条件复查，未再发现"
RESOLVED_REMOVED = DEVICE_REMOVED
RECHECK_NOTE = "（设备已停用，按恢复使用的条件复查）"


def identity(device_id: int, rule: str, key: str | None) -> str:
    return f"{device_id}|{rule}|{key or ''}"


def material_of(rule: str, severity: str, action: str, evidence: dict[str, Any] | None) -> dict[str, Any]:
    """What a verdict rests on: the severity, the action and the rule's material evidence fields."""
    fields = get_rule(rule).material_evidence
    evidence = evidence or {}
    return {"severity": severity, "action": action} | {k: evidence.get(k) for k in fields}


@dataclass
class RunProblems:
    """What a run did to the problems: counts by outcome, and the problems sent back to review."""

    new: int = 0
    observed: int = 0
    reappeared: int = 0
    back_to_review: list[int] = field(default_factory=list)
    resolved: int = 0
    not_assessed: int = 0

    def text(self) -> str:
        return (f"问题：新发现 {self.new} 个，复查仍存在 {self.observed} 个（其中证据变化、退回重新核查 "
                f"{len(self.back_to_review)} 个，再次出现 {self.reappeared} 个），复查已消除 {self.resolved} 个，"
                f"本次未能判断 {self.not_assessed} 个。")


def _chunks(values: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _of_identities(session: Session, query: Any, identities: list[str]) -> Iterable[Any]:
    """The rows of `query` of the problems of these identities: one array parameter on PostgreSQL (a quarter of
    the time of IN lists of CHUNK bound parameters, most of it the driver's), IN lists of CHUNK elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        if identities:
            yield from session.execute(query.where(Problem.identity == any_(
                bindparam("identities", identities, type_=ARRAY(String)))))
        return
    for chunk in _chunks(identities):
        yield from session.execute(query.where(Problem.identity.in_(chunk)))


def _examined(rule_examines: str, state: str, status: str | None) -> bool:
    if rule_examines == "all":
        return True
    if rule_examines == "not_retired":
        return status not in RETIRED
    return state == IN_USE


@dataclass
class Observation:
    """A finding as a problem sees it; material and key are read back from the finding's stored JSON."""

    device_id: int
    rule: str
    key: str
    department: str
    device_code: str
    severity: str
    action: str
    message: str
    material: dict[str, Any]

    @property
    def identity(self) -> str:
        return identity(self.device_id, self.rule, self.key)


def observations(rules: list[str], device_ids: list[int | None], codes: list[str | None],
                 departments: list[str | None], severities: list[str], actions: list[str], messages: list[str],
                 evidences: list[dict[str, Any] | None]) -> tuple[list[Observation | None], set[tuple[int, str]]]:
    """What each finding observes (None: a department-level or cannot-assess finding), and the (device, rule)
    pairs a cannot-assess finding stands for. The evidence may be the rules' own: its key and material fields go
    through JSON as the stored finding's would (a tuple becomes a list), in one dumps and loads."""
    unassessed: set[tuple[int, str]] = set()
    wanted = []
    for i, (device, rule, evidence) in enumerate(zip(device_ids, rules, evidences)):
        if device is None:
            continue
        evidence = evidence or {}
        if evidence.get("cannot_assess"):
            unassessed.add((device, rule))
            continue
        wanted.append((i, evidence.get("key"), material_of(rule, severities[i], actions[i], evidence)))
    stored = json.loads(json.dumps([[key, material] for _, key, material in wanted]))
    out: list[Observation | None] = [None] * len(rules)
    for (i, _, _), (key, material) in zip(wanted, stored):
        out[i] = Observation(device_ids[i], rules[i], str(key or ""), departments[i] or "", codes[i] or "",
                             severities[i], actions[i], messages[i], material)
    return out, unassessed


PROBLEM_NEW = [Col("identity", "text"), Col("device_id", "int"), Col("rule", "text"), Col("key", "text"),
               Col("department", "text"), Col("device_code", "text"), Col("severity", "text"), Col("action", "text"),
               Col("message", "text"), Col("material", "json"), Col("first_run_id", "int"),
               Col("first_seen_on", "date"), Col("last_run_id", "int"), Col("last_seen_on", "date"),
               Col("last_check", "text"), Col("checked_run_id", "int"), Col("stale", "bool"),
               Col("created_at", "datetime")]
# later: observed on its latest day yet (its description and last_seen_on follow); earlier: on a day before the
# first one seen; current: the problem's check follows this run; reopen: resolved and found again.
PROBLEM_SEEN = [Col("id", "int"), Col("department", "text"), Col("device_code", "text"), Col("severity", "text"),
                Col("action", "text"), Col("message", "text"), Col("material", "json"), Col("stale", "bool"),
                Col("later", "bool"), Col("earlier", "bool"), Col("current", "bool"), Col("reopen", "bool")]


def file_observations(session: Session, run: AuditRun, found: list[Observation | None],
                      unassessed: set[tuple[int, str]], rechecked: set[tuple[int, str]] = frozenset()
                      ) -> tuple[RunProblems, list[int | None]]:
    """File a run's observations under their problems, set-based (the caller commits): a new problem for an
    identity never seen, the others observed again (re-opened if resolved; back to review when the material
    evidence of their verdict changed); then every open problem of the run's devices it did not observe
    (_check_unobserved). Returns the outcome and each finding's problem id (None where it observes none).

    A problem's first_seen_on and last_seen_on are the earliest and latest days it was observed, whatever the
    order of the runs; its description (severity, action, message, material) is that of its latest day, and its
    check that of the run of the latest day that examined it. A run of an earlier day than a problem's resolution
    does not reopen it, nor a run of a day before its device's removal (the removal resolved its problems as of its
    day, audit.registry.removal; one found again since is resolved by the next run that does not find it,
    whatever the run's day, _check_unobserved)."""
    out = RunProblems()
    observed: dict[str, Observation] = {}
    for o in found:
        if o is not None:
            observed[o.identity] = o  # the last finding of an identity gives the problem's state
    existing: dict[str, Any] = {}
    checked = aliased(AuditRun)
    query = (select(Problem.id, Problem.identity, Problem.resolved_on, Problem.stale,
                    Problem.first_seen_on, Problem.last_seen_on, checked.as_of.label("checked_on"),
                    Device.device_code.label("code"), Device.status.label("status"),
                    ProblemReview.id.label("review_id"), ProblemReview.material.label("review_material"))
             .join(Device, Device.id == Problem.device_id)
             .join(checked, checked.id == Problem.checked_run_id)
             .outerjoin(ProblemReview, ProblemReview.id == Problem.verdict_review_id))
    existing.update((r.identity, r) for r in _of_identities(session, query, sorted(observed)))
    not_yet_removed = _removed_after(session, {r.code for r in existing.values()
                                               if r.resolved_on is not None and r.status == "拆除"}, run.as_of)
    fresh: list[Observation] = []
    seen: dict[str, list[Any]] = {c.name: [] for c in PROBLEM_SEEN}
    for ident, o in observed.items():
        problem = existing.get(ident)
        if problem is None:
            fresh.append(o)
            continue
        later = run.as_of >= problem.last_seen_on
        resolved = problem.resolved_on is not None
        held = resolved and (run.as_of < problem.resolved_on or problem.code in not_yet_removed)
        reopen = resolved and not held
        if reopen:
            out.reappeared += 1
        stale = problem.review_id is not None and problem.review_material is not None \
            and problem.review_material != o.material
        if later and stale and not problem.stale:
            out.back_to_review.append(problem.id)
        for name, value in (("id", problem.id), ("department", o.department), ("device_code", o.device_code),
                            ("severity", o.severity), ("action", o.action), ("message", o.message),
                            ("material", o.material), ("stale", stale), ("later", later),
                            ("earlier", run.as_of < problem.first_seen_on),
                            ("current", reopen or (not resolved and run.as_of >= problem.checked_on)),
                            ("reopen", reopen)):
            seen[name].append(value)
    out.new, out.observed = len(fresh), len(seen["id"])
    loader = loader_for(session)
    if fresh:
        n = len(fresh)
        loader.append("problem", PROBLEM_NEW, {
            "identity": [o.identity for o in fresh], "device_id": [o.device_id for o in fresh],
            "rule": [o.rule for o in fresh], "key": [o.key for o in fresh],
            "department": [o.department for o in fresh], "device_code": [o.device_code for o in fresh],
            "severity": [o.severity for o in fresh], "action": [o.action for o in fresh],
            "message": [o.message for o in fresh], "material": json_texts(o.material for o in fresh),
            "first_run_id": [run.id] * n, "first_seen_on": [run.as_of] * n, "last_run_id": [run.id] * n,
            "last_seen_on": [run.as_of] * n, "last_check": [OBSERVED] * n, "checked_run_id": [run.id] * n,
            "stale": [False] * n, "created_at": [run.created_at] * n})
    if seen["id"]:
        seen["material"] = json_texts(seen["material"])
        _update_seen(session, loader, run, seen)
    ids = dict(existing_ids(session, sorted(observed)))
    _check_unobserved(session, run, set(observed), unassessed, out, rechecked)
    # The bulk writes bypass the identity map: loaded problems and findings are read again on next access.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (Problem, Finding)):
            session.expire(obj)
    return out, [None if o is None else ids[o.identity] for o in found]


def _removed_after(session: Session, codes: set[str], day: dt.date) -> set[str]:
    """Of these devices removed now, those whose removal took effect after `day` (by their status history)."""
    if not codes:
        return set()
    listed = sorted(codes)
    frame = status_on(pd.DataFrame({"device_code": listed, "status": ["拆除"] * len(listed)}),
                      load_status_history(session, listed), day)
    return {c for c, status in zip(listed, frame["status"].tolist()) if status != "拆除"}


def _update_seen(session: Session, loader: Any, run: AuditRun, seen: dict[str, list[Any]]) -> None:
    """The problems observed again, from a staging table in one UPDATE … FROM (the flags: PROBLEM_SEEN)."""
    material = "s.material" if loader.sqlite else "CAST(s.material AS JSON)"

    def when(flag: str, value: str, column: str) -> str:
        return f"{column} = CASE WHEN s.{flag} THEN {value} ELSE problem.{column} END"

    sets = [*(when("later", f"s.{c}", c) for c in ("severity", "action", "message", "stale")),
            when("later", material, "material"), when("later", ":run", "last_run_id"),
            when("later", ":on", "last_seen_on"), when("earlier", ":run", "first_run_id"),
            when("earlier", ":on", "first_seen_on"), when("current", ":check", "last_check"),
            when("current", ":run", "checked_run_id"),
            # A problem found again after it was resolved awaits a decision of its own: the earlier one was carried
            # out (a rectification closed, a suspension lifted) on the earlier occurrence.
            *(when("reopen", "NULL", c) for c in ("decision_id", "resolved_run_id", "resolved_on", "resolved_reason"))]
    with loader.staged("problem_seen", PROBLEM_SEEN, seen) as stage:
        session.execute(text(
            f"UPDATE problem SET department = s.department, device_code = s.device_code, {', '.join(sets)} "
            f"FROM {stage} AS s WHERE problem.id = s.id").bindparams(bindparam("on", type_=Date)),
            {"run": run.id, "on": run.as_of, "check": OBSERVED})


def record_run(session: Session, run: AuditRun, rechecked: set[tuple[int, str]] = frozenset()) -> RunProblems:
    """File the stored findings of a run under their problems (file_observations) and point each finding at its
    problem (in the session's transaction; the caller commits). rechecked: (device, rule) pairs of suspended
    devices that recheck_suspended examined as if in use."""
    rows = session.execute(select(Finding.id, Finding.rule, Finding.device_id, Finding.device_code, Finding.department,
                                  Finding.severity, Finding.action, Finding.message, Finding.evidence,
                                  Finding.problem_id)
                           .where(Finding.run_id == run.id, Finding.device_id.isnot(None))
                           .order_by(Finding.id)).all()
    found, unassessed = observations(*([getattr(r, c) for r in rows] for c in (
        "rule", "device_id", "device_code", "department", "severity", "action", "message", "evidence")))
    out, problem_ids = file_observations(session, run, found, unassessed, rechecked)
    changed = {"fid": [], "pid": []}
    for r, pid in zip(rows, problem_ids):
        if pid is not None and r.problem_id != pid:
            changed["fid"].append(r.id)
            changed["pid"].append(pid)
    if changed["fid"]:
        with loader_for(session).staged("finding_problem", [Col("fid", "int"), Col("pid", "int")], changed) as stage:
            session.execute(text(f"UPDATE finding SET problem_id = s.pid FROM {stage} AS s WHERE finding.id = s.fid"))
    return out


def existing_ids(session: Session, identities: list[str]) -> Iterable[tuple[str, int]]:
    yield from _of_identities(session, select(Problem.identity, Problem.id), identities)


def _check_unobserved(session: Session, run: AuditRun, observed: set[str], unassessed: set[tuple[int, str]],
                      out: RunProblems, rechecked: set[tuple[int, str]]) -> None:
    """The open problems of the run's devices that it did not observe: resolved, or not assessed.

    A run says nothing of a problem observed as of a later day than its own (an audit of an earlier date), nor,
    when it audits one department, of a problem of a rule that compares devices across the departments (its reach
    "audit": the other departments' devices were not in the run)."""
    query = (select(Problem.id, Problem.identity, Problem.device_id, Problem.rule, Device.device_code, Device.status,
                    Device.in_service_on)
             .join(Device, Device.id == Problem.device_id)
             .where(Problem.resolved_on.is_(None), Problem.last_seen_on <= run.as_of))
    if run.department:
        query = query.join(Department, Department.id == Device.department_id).where(Department.name == run.department)
        across = [r.code for r in all_rules() if r.reach != "department"]
        query = query.where(Problem.rule.not_in(across))
    rows = [r for r in session.execute(query).all() if r.identity not in observed]
    if not rows:
        return
    codes = sorted({r.device_code for r in rows})
    frame = status_on(pd.DataFrame({"device_code": [r.device_code for r in rows],
                                    "status": [r.status for r in rows],
                                    "in_service_on": pd.to_datetime([r.in_service_on for r in rows])}),
                      load_status_history(session, codes), run.as_of)
    states = service_state(frame, run.as_of).tolist()
    examines = {}
    updates = []
    # Removed now resolves whatever the run's day; whether the run examined a problem, by the status on its day.
    for r, state, status in zip(rows, states, frame["status"].tolist()):
        rule = examines.setdefault(r.rule, get_rule(r.rule).examines)
        if r.status == "拆除":
            reason: str | None = RESOLVED_REMOVED
        elif (r.device_id, r.rule) in unassessed:
            reason = None
        elif (r.device_id, r.rule) in rechecked:
            reason = RESOLVED_RECHECKED
        elif not _examined(rule, state, status):
            reason = None
        else:
            reason = RESOLVED_NOT_FOUND
        if reason is None:
            out.not_assessed += 1
            updates.append({"id": r.id, "last_check": NOT_ASSESSED, "checked_run_id": run.id})
        else:
            out.resolved += 1
            updates.append({"id": r.id, "last_check": RESOLVED, "checked_run_id": run.id, "resolved_run_id": run.id,
                            "resolved_on": run.as_of, "resolved_reason": reason})
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for u in updates:
        by_keys.setdefault(tuple(sorted(u)), []).append(u)
    for group in by_keys.values():
        session.execute(update(Problem), group)


def recheck_suspended(session: Session, run: AuditRun, *, areas: gpd.GeoDataFrame | None = None,
                      roads: gpd.GeoDataFrame | None = None, chunk_devices: int | None = None,
                      kept: TotalsByDevice | None = None,
                      inputs: tuple[gpd.GeoDataFrame, AuditContext] | None = None, workers: int | None = None
                      ) -> tuple[pd.DataFrame, set[tuple[int, str]]]:
    """Run the rules of the open problems of devices suspended (停用) on the run's day once more, those devices
    taken as in use,
    and give the findings that observe those problems, to add to the run (message and evidence say it was a
    recheck).
    The rules about one department run only on the chunks holding a suspended device; kept: the service totals of
    the run's own pass (run_audit), which the peer rules read for the other chunks instead of their rows; inputs:
    the registry frame and context (without daily rows) that pass read, loaded again otherwise; workers: the
    processes that run the rules (audit.rules.engine.audit_findings).

    Returns those findings and the (device, rule) pairs examined (a cannot-assess one is not examined).
    """
    query = (select(Problem.identity, Problem.device_id, Problem.rule, Device.device_code)
             .join(Device, Device.id == Problem.device_id)
             .where(Problem.resolved_on.is_(None), Device.status == "停用"))
    if run.department:
        query = query.where(Problem.department == run.department)
    # A rule that examines every device saw the suspended ones in the run already.
    rows = [r for r in session.execute(query).all() if get_rule(r.rule).examines != "all"]
    if not rows:
        return empty_findings(), set()
    devices, ctx = inputs or load_inputs(session, as_of=run.as_of, profile=load_profile(run.profile),
                                         department=run.department, areas=areas, roads=roads, daily_rows=False)
    # A device suspended after the run's day was in use on it: the run examined it as such.
    then = set(devices["device_code"][devices["status"] == "停用"])
    rows = [r for r in rows if r.device_code in then]
    if not rows:
        return empty_findings(), set()
    devices = devices.copy()
    suspended = {r.device_code for r in rows}
    devices.loc[devices["device_code"].isin(suspended), "status"] = "在用"
    found = audit_findings(session, devices, ctx, rules=sorted({r.rule for r in rows}), chunk_devices=chunk_devices,
                           focus={r.device_id for r in rows}, kept=kept, workers=workers)
    found = found[found["device_code"].isin(suspended)].reset_index(drop=True)
    ids = dict(session.execute(select(Device.device_code, Device.id).where(Device.device_code.in_(sorted(suspended))))
               .all())
    wanted = {r.identity for r in rows}
    cannot = found["evidence"].map(lambda e: bool(e.get("cannot_assess")))
    keys = [identity(ids[c], rule, (e or {}).get("key")) for c, rule, e in
            zip(found["device_code"], found["rule"], found["evidence"])]
    skipped = {(ids[c], rule) for c, rule, no in zip(found["device_code"], found["rule"], cannot) if no}
    mask = pd.Series([k in wanted and not no for k, no in zip(keys, cannot)], index=found.index, dtype=bool)
    keep = found.loc[mask].copy()
    keep["message"] = RECHECK_NOTE + keep["message"]
    keep["evidence"] = [e | {"recheck_while_suspended": True} for e in keep["evidence"]]
    examined = {(r.device_id, r.rule) for r in rows} - skipped
    return keep, examined


def audit_and_record(session: Session, *, as_of: dt.date, profile_name: str = "national",
                     department: str | None = None, user: str = "cli", areas: gpd.GeoDataFrame | None = None,
                     roads: gpd.GeoDataFrame | None = None, progress: Any = None, chunk_devices: int | None = None,
                     workers: int | None = None) -> tuple[AuditRun, pd.DataFrame, RunProblems]:
    """Run the audit (audit.rules.engine.run_audit), recheck the problems of suspended devices as if they were
    back in use, file the findings under their problems and store them, each pointing at its problem (caller
    commits). chunk_devices: the devices of a chunk of the audit (audit.rules.chunks); workers: the processes that
    run the chunks' rules (audit.rules.parallel.audit_workers by default)."""
    workers = audit_workers(workers)
    if workers > 1 and device_count(session, department) > (chunk_devices or CHUNK_DEVICES):
        forkserver.start()  # the workers' server imports while the registry loads
    kept = TotalsByDevice()
    profile = load_profile(profile_name)
    inputs = load_inputs(session, as_of=as_of, profile=profile, department=department, areas=areas, roads=roads,
                         daily_rows=False)
    run, findings = run_audit(session, as_of=as_of, profile_name=profile, department=department, user=user,
                              areas=areas, roads=roads, progress=progress, chunk_devices=chunk_devices, kept=kept,
                              inputs=inputs, store_findings=False, workers=workers)
    extra, rechecked = recheck_suspended(session, run, areas=areas, roads=roads, chunk_devices=chunk_devices,
                                         kept=kept, inputs=inputs, workers=workers)
    if len(extra):
        findings = pd.concat([findings, extra], ignore_index=True)
        run.finding_count = len(findings)
    device_of = dict(zip(inputs[0]["device_code"].tolist(), inputs[0]["id"].tolist()))
    return run, findings, file_and_store(session, run, findings, device_of, rechecked)


def file_and_store(session: Session, run: AuditRun, findings: pd.DataFrame, device_of: dict[str, int],
                   rechecked: set[tuple[int, str]] = frozenset()) -> RunProblems:
    """File a run's findings (the rules' table, not yet stored) under their problems, then append them to the run,
    each pointing at its problem (caller commits). device_of: device code → id (a code it lacks stores no device,
    as store_run does); rechecked: see record_run."""
    codes = [None if c is None or c != c else c for c in findings["device_code"].tolist()]
    device_ids = [device_of.get(c) for c in codes]
    found, unassessed = observations(findings["rule"].tolist(), device_ids, codes, findings["department"].tolist(),
                                     findings["severity"].tolist(), findings["action"].tolist(),
                                     findings["message"].tolist(), findings["evidence"].tolist())
    outcome, problem_ids = file_observations(session, run, found, unassessed, rechecked)
    insert_findings(session, run, findings, problem_ids=problem_ids, device_ids=device_ids)
    session.flush()
    return outcome


# ---- reviews ---------------------------------------------------------------------------------------------

def get_problem(session: Session, problem_id: int) -> Problem:
    problem = session.get(Problem, problem_id)
    if problem is None:
        raise DecisionError(f"没有编号为 {problem_id} 的问题。")
    return problem


def problem_of_finding(session: Session, finding_id: int) -> Problem:
    """The problem a finding observes (a cannot-assess finding has none: it asks for data, not a verdict)."""
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise DecisionError(f"没有编号为 {finding_id} 的审查发现。")
    if finding.problem_id is None:
        if (finding.evidence or {}).get("cannot_assess"):
            raise DecisionError(f"第 {finding_id} 条是“无法评估”（缺少资料），不是问题：请补报资料后重新审查，无需核查。")
        raise DecisionError(f"第 {finding_id} 条审查发现尚未归入问题：请重新运行审查。")
    return get_problem(session, finding.problem_id)


def latest_finding_id(session: Session, problem_id: int) -> int | None:
    return session.scalar(select(Finding.id).where(Finding.problem_id == problem_id).order_by(Finding.id.desc())
                          .limit(1))


def review_problem(session: Session, problem_id: int, *, confirm: bool, reason: str | None, user: str
                   ) -> ProblemReview:
    """Confirm a problem, or dismiss it with a reason. The same verdict again (same reason, evidence unchanged) is
    not recorded twice; a verdict given meanwhile by someone else is not overwritten unseen."""
    problem = get_problem(session, problem_id)
    user = (user or "").strip()
    if not user:
        raise DecisionError("请填写核查人。")
    status = "confirmed" if confirm else "dismissed"
    text = (reason or "").strip() or None
    if not confirm and text is None:
        raise DecisionError("排除问题须说明理由。")
    current = problem.verdict_review
    if current is not None and current.status == status and current.reason == text and not problem.verdict_stale:
        return current
    review = ProblemReview(problem_id=problem.id, status=status, reason=text, user=user,
                           finding_id=latest_finding_id(session, problem.id), material=dict(problem.material or {}))
    previous_id = problem.verdict_review_id
    savepoint = session.begin_nested()
    session.add(review)
    session.flush()
    # Compare and set: a verdict recorded meanwhile by another process makes this UPDATE match no row.
    claimed = session.execute(
        update(Problem).where(Problem.id == problem.id,
                              Problem.verdict_review_id.is_(None) if previous_id is None
                              else Problem.verdict_review_id == previous_id)
        .values(verdict=status, verdict_review_id=review.id, stale=False)
        .execution_options(synchronize_session=False)).rowcount
    if claimed == 1:
        savepoint.commit()
    else:
        savepoint.rollback()
        session.refresh(problem)
        now = problem.verdict_review
        if now is not None and now.status == status and now.reason == text:
            return now
        raise DecisionError(f"问题 {problem.id}（{problem.device_code} {problem.rule}）刚由他人核查为"
                            f"“{REVIEW_ZH.get(problem.verdict or '', '待核查')}”；请刷新页面查看后再决定。")
    session.add(ChangeLog(user=user, entity="problem", entity_id=problem.id, device_code=problem.device_code,
                          action="review", field="review", before=current and REVIEW_ZH[current.status],
                          after=REVIEW_ZH[status] + (f"：{text}" if text else "")))
    session.expire(problem)
    return review


def review_problems(session: Session, problem_ids: Iterable[int], *, confirm: bool, reason: str | None,
                    user: str) -> list[ProblemReview]:
    """The same verdict on several problems (bulk confirm, or bulk dismiss with one reason)."""
    ids = sorted({int(i) for i in problem_ids})
    if not ids:
        raise DecisionError("请至少选择一个问题。")
    return [review_problem(session, i, confirm=confirm, reason=reason, user=user) for i in ids]


def reviews_of(session: Session, problem_id: int) -> list[ProblemReview]:
    return list(session.scalars(select(ProblemReview).where(ProblemReview.problem_id == problem_id)
                                .order_by(ProblemReview.id)))


# ---- what is open -----------------------------------------------------------------------------------------

def open_problems(session: Session, department: str | None = None, *, device_ids: Iterable[int] | None = None
                  ) -> list[Problem]:
    """Problems not resolved (of one department, or of some devices), by department, device code and rule."""
    query = select(Problem).where(Problem.resolved_on.is_(None))
    if department:
        query = query.where(Problem.department == department)
    if device_ids is not None:
        ids = sorted(set(device_ids))
        out: list[Problem] = []
        for chunk in _chunks(ids):
            out += session.scalars(query.where(Problem.device_id.in_(chunk)))
        return sorted(out, key=lambda p: (p.department, p.device_code, p.rule, p.key))
    return list(session.scalars(query.order_by(Problem.department, Problem.device_code, Problem.rule, Problem.key)))


def is_pending(problem: Problem) -> bool:
    """Awaiting the auditor: open, not decided on, and unreviewed or reviewed on evidence that has changed."""
    return not problem.is_resolved and problem.decision_id is None and \
        problem.review_state in ("unreviewed", "stale")


@dataclass
class Proposal:
    """A device the audit proposes to suspend (拟停用): its open 停用 problems, neither decided nor dismissed."""

    device: Device
    problems: list[Problem]

    @property
    def rules(self) -> list[str]:
        return sorted({p.rule for p in self.problems})


def suspension_proposals(session: Session, department: str | None = None) -> list[Proposal]:
    """Devices with open problems whose recommended action is 停用, not dismissed, not decided on, and not
    already 停用 or 拆除; by department and device code."""
    query = (select(Problem).join(Device, Device.id == Problem.device_id)
             .where(Problem.resolved_on.is_(None), Problem.action == "停用", Problem.decision_id.is_(None),
                    and_(Problem.verdict.is_(None) | (Problem.verdict != "dismissed")),
                    Device.status.is_(None) | Device.status.not_in(RETIRED))
             .order_by(Problem.department, Problem.device_code, Problem.rule))
    if department:
        query = query.where(Problem.department == department)
    by_device: dict[int, list[Problem]] = {}
    for p in session.scalars(query):
        by_device.setdefault(p.device_id, []).append(p)
    devices = {d.id: d for chunk in _chunks(sorted(by_device))
               for d in session.scalars(select(Device).where(Device.id.in_(chunk)))}
    return [Proposal(devices[i], ps) for i, ps in by_device.items()]


def counts(session: Session, department: str | None = None) -> Counter[str]:
    """Open problems by review state (pending, confirmed, dismissed, decided) and resolved ones."""
    out: Counter[str] = Counter()
    query = select(Problem)
    if department:
        query = query.where(Problem.department == department)
    for p in session.scalars(query):
        if p.is_resolved:
            out["resolved"] += 1
        elif p.decision_id is not None:
            out["decided"] += 1
        elif p.review_state in ("unreviewed", "stale"):
            out["pending"] += 1
        else:
            out[p.review_state] += 1
    return out


__all__ = ["RunProblems", "Proposal", "record_run", "audit_and_record", "file_and_store", "review_problem", "review_problems",
           "problem_of_finding", "get_problem", "open_problems", "suspension_proposals", "is_pending", "counts",
           "identity", "material_of", "reviews_of"]
