"""Append-only tables guarded by the database itself: triggers refuse UPDATE and DELETE (and, on PostgreSQL,
TRUNCATE), so that neither a Core statement nor a SQL client can rewrite the record the ORM already refuses to
change (models._change_log_is_append_only, _decisions_are_append_only, _register_is_append_only).

`install_append_only(connection)` creates them idempotently; init_db runs it on every start and migration
0004_hardening on an upgrade. A table added to APPEND_ONLY is guarded from the next start on.
"""
from __future__ import annotations

from sqlalchemy import Connection, text

# The change log and the casework record; evidence files; the register of issued documents and the annual site review.
APPEND_ONLY = ("change_log", "decision", "problem_review", "ledger_event", "attachment", "issued_document",
               "issued_document_problem", "site_assessment")
MESSAGE = "append-only table: rows cannot be changed or deleted"


def install_append_only(connection: Connection, tables: tuple[str, ...] = APPEND_ONLY) -> None:
    if connection.dialect.name == "postgresql":
        present = set(connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
        tables = tuple(t for t in tables if not {f"{t}_append_only", f"{t}_no_truncate"} <= present)
        if not tables:
            return  # nothing to do: no catalogue change on an ordinary start
        connection.execute(text(f"""
            CREATE OR REPLACE FUNCTION camaudit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% %: {MESSAGE}', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
            END $$"""))
        for table in tables:
            connection.execute(text(f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                                    "FOR EACH ROW EXECUTE FUNCTION camaudit_append_only()"))
            connection.execute(text(f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                                    "FOR EACH STATEMENT EXECUTE FUNCTION camaudit_append_only()"))
        return
    for table in tables:
        for op in ("UPDATE", "DELETE"):
            connection.execute(text(f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                                    f"BEGIN SELECT RAISE(ABORT, '{op} {table}: {MESSAGE}'); END"))
