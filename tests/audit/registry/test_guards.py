"""The append-only tables refuse a Core UPDATE or DELETE in the database itself, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DatabaseError

from audit.registry.guards import APPEND_ONLY, install_append_only
from audit.registry.models import Base, ChangeLog


def seed(conn) -> None:
    """One row in every append-only table (and the rows they point to)."""
    now = dt.datetime(2025, 6, 30, 9)
    conn.execute(text("INSERT INTO department (id, name, created_at) VALUES (1, '甲县公安局', :t)"), {"t": now})
    conn.execute(text("INSERT INTO device (id, device_code, department_id, device_type) VALUES (1, 'JL-1', 1, '固定测速')"))
    conn.execute(text("INSERT INTO audit_run (id, created_at, as_of, profile, ruleset_version, batch_ids, device_count, "
                      "finding_count, \"user\") VALUES (1, :t, '2025-06-30', 'national', '1', '[]', 1, 1, 'a')"), {"t": now})
    conn.execute(text("INSERT INTO finding (id, run_id, rule, severity, action, message, evidence, basis) VALUES "
                      "(1, 1, 'REV01', '严重', '停用', 'm', '{}', 'b')"))
    conn.execute(insert(ChangeLog).values(user="a", entity="device", action="create", at=now))
    conn.execute(text("INSERT INTO problem (id, identity, device_id, rule, key, department, device_code, severity, "
                      "action, message, material, first_run_id, last_run_id, first_seen_on, last_seen_on, last_check, "
                      "checked_run_id, stale, created_at) VALUES (1, '1|REV01|', 1, 'REV01', '', '甲', 'JL-1', '严重', "
                      "'停用', 'm', '{}', 1, 1, '2025-06-30', '2025-06-30', 'observed', 1, false, :t)"), {"t": now})
    conn.execute(text("INSERT INTO problem_review (problem_id, status, \"user\", at, finding_id) "
                      "VALUES (1, 'confirmed', 'a', :t, 1)"), {"t": now})
    conn.execute(text("INSERT INTO decision (id, device_id, kind, decided_on, reason, decided_by, finding_ids, "
                      "problem_ids, created_at) VALUES (1, 1, 'rectify', '2025-06-30', 'r', 'a', '[]', '[]', :t)"),
                 {"t": now})
    conn.execute(text("INSERT INTO ledger_item (id, device_id, decision_id, department, problem, category, rules, "
                      "measure, requirement, deadline, responsible, status, created_at) VALUES (1, 1, 1, '甲', 'p', 'c', "
                      "'[]', 'm', 'r', '2025-07-30', 'z', '待整改', :t)"), {"t": now})
    conn.execute(text("INSERT INTO ledger_event (item_id, at, \"user\", to_status) VALUES (1, :t, 'a', '待整改')"),
                 {"t": now})
    conn.execute(text("INSERT INTO attachment (device_id, sha256, kind, mime, size, filename, purpose, \"user\", at) "
                      "VALUES (1, :h, 'pdf', 'application/pdf', 10, 'a.pdf', '审核文书', 'a', :t)"), {"h": "0" * 64, "t": now})
    conn.execute(text("INSERT INTO issued_document (id, kind, prefix, year, seq, doc_no, title, addressee, issued_on, "
                      "issued_by, filename, content, sha256, created_at) VALUES (1, 'opinion', '将司监督', 2025, 1, "
                      "'将司监督〔2025〕1号', 't', '甲', '2025-06-30', 'a', 'x.docx', :c, :h, :t)"),
                 {"c": b"PK", "h": "0" * 64, "t": now})
    conn.execute(text("INSERT INTO issued_document_problem (document_id, problem_id) VALUES (1, 1)"))
    conn.execute(text("INSERT INTO site_assessment (device_id, assessed_on, outcome, reason, evidence, assessed_by, "
                      "created_at) VALUES (1, '2025-06-30', 'keep', 'r', '{}', 'a', :t)"), {"t": now})


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_update_and_delete_are_refused_by_the_database(db_engine, table):
    with db_engine.begin() as conn:
        seed(conn)
    target = Base.metadata.tables[table]
    # A text column to tamper with; the link table has only its keys, set to the value they hold.
    column = next((c for c in target.c if c.name in ("user", "reason", "note", "decided_by", "issued_by")),
                  target.c.get("problem_id"))
    tampered = 1 if column.name == "problem_id" else "tampered"
    for statement in (update(target).values({column.name: tampered}), delete(target)):
        with pytest.raises(DatabaseError, match="append-only"):
            with db_engine.begin() as conn:
                conn.execute(statement)
    with db_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(target)) == 1
        if tampered == "tampered":
            assert conn.scalar(select(func.count()).select_from(target).where(column == "tampered")) == 0
    with db_engine.begin() as conn:
        install_append_only(conn)  # again: idempotent


def test_truncate_is_refused_on_postgresql(db_engine):
    if db_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    with db_engine.begin() as conn:
        seed(conn)
    with pytest.raises(DatabaseError, match="append-only"):
        with db_engine.begin() as conn:
            conn.execute(text("TRUNCATE change_log"))
