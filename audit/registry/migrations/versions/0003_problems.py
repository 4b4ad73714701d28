"""Problems that live across audit runs; department keys; columns never supplied.

- problem / problem_review: each finding observes a problem (device + rule + evidence key); verdicts, decisions
  and ledger items attach to the problem. Existing findings are grouped into problems (in run order), the reviews
  of findings become reviews of their problems, decisions cite the problems of the findings they cited, and each
  open ledger item is the open item of its problems.
- department.key: the normalised name (audit.registry.names), unique.
- device.unsupplied: inventory columns no upload of the device had (unknown for devices imported earlier).
- finding_review is dropped once its rows are copied.

Revision ID: 0003
"""
import json
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from audit.registry.names import department_key

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RETIRED_OR_PLANNED = ("停用", "拆除", "拟建")


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def _json(value):  # type: ignore[no-untyped-def]
    if value is None or isinstance(value, (dict, list)):
        return value
    return json.loads(value)


def upgrade() -> None:
    if "key" not in _columns("department"):
        op.add_column("department", sa.Column("key", sa.String(200), nullable=True))
        _fill_department_keys()
        op.create_index("uq_department_key", "department", ["key"], unique=True)
    if "unsupplied" not in _columns("device"):
        op.add_column("device", sa.Column("unsupplied", sa.JSON(), nullable=True))
    if "problem_ids" not in _columns("decision"):
        op.add_column("decision", sa.Column("problem_ids", sa.JSON(), nullable=True))
    tables = _tables()
    if "problem" not in tables:
        op.create_table(
            "problem",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("identity", sa.String(400), nullable=False, unique=True),
            sa.Column("device_id", sa.Integer(), sa.ForeignKey("device.id"), nullable=False, index=True),
            sa.Column("rule", sa.String(10), nullable=False, index=True),
            sa.Column("key", sa.String(200), nullable=False),
            sa.Column("department", sa.String(200), nullable=False, index=True),
            sa.Column("device_code", sa.String(100), nullable=False),
            sa.Column("severity", sa.String(10), nullable=False),
            sa.Column("action", sa.String(10), nullable=False),
            sa.Column("message", sa.Text(), nullable=False),
            sa.Column("material", sa.JSON(), nullable=False),
            sa.Column("first_run_id", sa.Integer(), sa.ForeignKey("audit_run.id"), nullable=False),
            sa.Column("last_run_id", sa.Integer(), sa.ForeignKey("audit_run.id"), nullable=False),
            sa.Column("first_seen_on", sa.Date(), nullable=False),
            sa.Column("last_seen_on", sa.Date(), nullable=False),
            sa.Column("last_check", sa.String(20), nullable=False),
            sa.Column("checked_run_id", sa.Integer(), sa.ForeignKey("audit_run.id"), nullable=False),
            sa.Column("resolved_run_id", sa.Integer(), sa.ForeignKey("audit_run.id"), nullable=True, index=True),
            sa.Column("resolved_on", sa.Date(), nullable=True),
            sa.Column("resolved_reason", sa.String(100), nullable=True),
            sa.Column("verdict", sa.String(10), nullable=True),
            sa.Column("verdict_review_id", sa.Integer(), nullable=True),
            sa.Column("stale", sa.Boolean(), nullable=False, server_default=sa.false()),
            sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decision.id"), nullable=True),
            sa.Column("open_item_id", sa.Integer(), sa.ForeignKey("ledger_item.id"), nullable=True),
            sa.Column("created_at", sa.DateTime(), nullable=False),
        )
    if "problem_review" not in tables:
        op.create_table(
            "problem_review",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("problem_id", sa.Integer(), sa.ForeignKey("problem.id"), nullable=False, index=True),
            sa.Column("status", sa.String(10), nullable=False),
            sa.Column("reason", sa.Text(), nullable=True),
            sa.Column("user", sa.String(100), nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("finding_id", sa.Integer(), sa.ForeignKey("finding.id"), nullable=True),
            sa.Column("material", sa.JSON(), nullable=True),
        )
    if "problem_id" not in _columns("finding"):
        op.add_column("finding", sa.Column("problem_id", sa.Integer(), nullable=True))
        op.create_index("ix_finding_problem_id", "finding", ["problem_id"])
        _group_findings()
    if "finding_review" in _tables():
        op.drop_table("finding_review")


def _fill_department_keys() -> None:
    bind = op.get_bind()
    seen: set[str] = set()
    for dept_id, name in bind.execute(sa.text("SELECT id, name FROM department ORDER BY id")).all():
        key = department_key(name)
        if key in seen:  # two stored spellings of one name: the later keeps no key (the earlier is matched)
            continue
        seen.add(key)
        bind.execute(sa.text("UPDATE department SET key = :key WHERE id = :id"), {"key": key, "id": dept_id})


def _group_findings() -> None:
    """Problems from the stored findings, and the reviews, decisions and ledger items moved onto them."""
    bind = op.get_bind()
    runs = {r.id: r for r in bind.execute(sa.text("SELECT id, as_of, department FROM audit_run ORDER BY id"))}
    current: dict[str | None, int] = {}
    for run_id, run in runs.items():
        if run.department is None:
            current = {None: run_id}
        else:
            current[run.department] = run_id
    devices = {d.id: d for d in bind.execute(sa.text("SELECT id, status FROM device"))}
    problems: dict[str, dict] = {}
    finding_problem: dict[int, str] = {}
    unassessed: set[tuple[int, int, str]] = set()  # (run, device, rule) with a cannot-assess finding
    rows = bind.execute(sa.text("SELECT id, run_id, rule, device_id, device_code, department, severity, action, "
                                "message, evidence FROM finding WHERE device_id IS NOT NULL ORDER BY run_id, id"))
    for f in rows:
        evidence = _json(f.evidence) or {}
        if evidence.get("cannot_assess"):
            unassessed.add((f.run_id, f.device_id, f.rule))
            continue
        identity = f"{f.device_id}|{f.rule}|{evidence.get('key') or ''}"
        finding_problem[f.id] = identity
        as_of = runs[f.run_id].as_of
        p = problems.setdefault(identity, {"identity": identity, "device_id": f.device_id, "rule": f.rule,
                                           "key": evidence.get("key") or "", "first_run_id": f.run_id,
                                           "first_seen_on": as_of})
        p.update(department=f.department or "", device_code=f.device_code or "", severity=f.severity,
                 action=f.action, message=f.message, last_run_id=f.run_id, last_seen_on=as_of)
    for p in problems.values():
        covering = current.get(p["department"], current.get(None, p["last_run_id"]))
        p.update(material=json.dumps({}), checked_run_id=covering, last_check="observed",
                 resolved_run_id=None, resolved_on=None, resolved_reason=None)
        status = devices[p["device_id"]].status if p["device_id"] in devices else None
        if covering == p["last_run_id"]:
            continue
        if (covering, p["device_id"], p["rule"]) in unassessed or status in ("停用", "拟建"):
            p["last_check"] = "not_assessed"
        else:
            p.update(last_check="resolved", resolved_run_id=covering, resolved_on=runs[covering].as_of,
                     resolved_reason="设备已拆除" if status == "拆除" else "复查未再发现")
    ids: dict[str, int] = {}
    for p in problems.values():
        values = dict(p)
        new_id = bind.execute(sa.text(
            "INSERT INTO problem (identity, device_id, rule, key, department, device_code, severity, action, "
            "message, material, first_run_id, last_run_id, first_seen_on, last_seen_on, last_check, checked_run_id, "
            "resolved_run_id, resolved_on, resolved_reason, created_at) VALUES (:identity, :device_id, :rule, :key, "
            ":department, :device_code, :severity, :action, :message, :material, :first_run_id, :last_run_id, "
            ":first_seen_on, :last_seen_on, :last_check, :checked_run_id, :resolved_run_id, :resolved_on, "
            ":resolved_reason, CURRENT_TIMESTAMP) RETURNING id"), values).scalar_one()
        ids[p["identity"]] = new_id
    for finding_id, identity in finding_problem.items():
        bind.execute(sa.text("UPDATE finding SET problem_id = :p WHERE id = :f"), {"p": ids[identity], "f": finding_id})
    _move_reviews(bind, finding_problem, ids)
    _move_decisions(bind, finding_problem, ids)


def _move_reviews(bind, finding_problem: dict[int, str], ids: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    if "finding_review" not in _tables():
        return
    latest: dict[int, tuple[int, str]] = {}
    for r in bind.execute(sa.text("SELECT id, finding_id, status, reason, \"user\", at FROM finding_review "
                                  "ORDER BY id")):
        identity = finding_problem.get(r.finding_id)
        if identity is None:
            continue
        review_id = bind.execute(sa.text(
            "INSERT INTO problem_review (problem_id, status, reason, \"user\", at, finding_id, material) "
            "VALUES (:p, :s, :r, :u, :at, :f, NULL) RETURNING id"),
            {"p": ids[identity], "s": r.status, "r": r.reason, "u": r.user, "at": r.at, "f": r.finding_id}).scalar_one()
        latest[ids[identity]] = (review_id, r.status)
    for problem_id, (review_id, status) in latest.items():
        bind.execute(sa.text("UPDATE problem SET verdict = :s, verdict_review_id = :r WHERE id = :p"),
                     {"s": status, "r": review_id, "p": problem_id})


def _move_decisions(bind, finding_problem: dict[int, str], ids: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    cited: dict[int, list[int]] = {}
    for d in bind.execute(sa.text("SELECT id, finding_ids FROM decision ORDER BY id")):
        problem_ids = sorted({ids[finding_problem[int(f)]] for f in (_json(d.finding_ids) or [])
                              if int(f) in finding_problem})
        cited[d.id] = problem_ids
        bind.execute(sa.text("UPDATE decision SET problem_ids = :p WHERE id = :d"),
                     {"p": json.dumps(problem_ids), "d": d.id})
        for problem_id in problem_ids:
            bind.execute(sa.text("UPDATE problem SET decision_id = :d WHERE id = :p"), {"d": d.id, "p": problem_id})
    taken: set[int] = set()
    by_item = defaultdict(list)
    for item in bind.execute(sa.text("SELECT id, decision_id FROM ledger_item WHERE status <> '已销号' ORDER BY id")):
        by_item[item.id] = [p for p in cited.get(item.decision_id, []) if p not in taken]
        taken.update(by_item[item.id])
    for item_id, problem_ids in by_item.items():
        for problem_id in problem_ids:
            bind.execute(sa.text("UPDATE problem SET open_item_id = :i WHERE id = :p"),
                         {"i": item_id, "p": problem_id})


def downgrade() -> None:
    raise NotImplementedError("0003 cannot be undone: finding reviews were moved onto problems")
