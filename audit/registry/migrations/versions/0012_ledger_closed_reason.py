"""ledger_item.closed_reason: why an item was closed without the check of its rectification (设备已拆除: the
device was removed), None for a 销号 after the check. Added only where missing.

A removal now closes the device's open items and resolves its open problems (audit.registry.removal); those of
devices registered 拆除 before are closed and resolved here the same way, as of the upgrade day, by 系统升级, each
item with its event and change-log row.

Revision ID: 0012_ledger_closed_reason
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0012_ledger_closed_reason"
down_revision = "0011_store"
branch_labels = None
depends_on = None

CLOSED, REMOVED, USER = "已销号", "设备已拆除", "系统升级"  # item status, closing reason, user
BASIS = "系统升级时该设备已登记为拆除"
RESOLVED_INDEX = "ix_problem_resolved_on"
EVENT = sa.table("ledger_event", sa.column("item_id"), sa.column("at"), sa.column("user"), sa.column("from_status"),
                 sa.column("to_status"), sa.column("note"))
CHANGE = sa.table("change_log", sa.column("at"), sa.column("user"), sa.column("entity"), sa.column("entity_id"),
                  sa.column("device_code"), sa.column("action"), sa.column("field"), sa.column("before"),
                  sa.column("after"))
# The open items of removed devices.
OPEN_OF_REMOVED = ("ledger_item.status <> :closed AND ledger_item.device_id IN "
                   "(SELECT id FROM device WHERE status = :device_removed)")


def _columns() -> set[str] | None:
    inspector = sa.inspect(op.get_bind())
    if "ledger_item" not in inspector.get_table_names():
        return None  # no tables yet: init_db creates them from the models
    return {c["name"] for c in inspector.get_columns("ledger_item")}


def _settle_removed() -> None:
    bind = op.get_bind()
    keys = {"closed": CLOSED, "device_removed": "拆除"}
    bind.execute(sa.text("UPDATE problem SET resolved_on = :on, resolved_reason = :reason WHERE resolved_on IS NULL "
                         "AND device_id IN (SELECT id FROM device WHERE status = :device_removed)")
                 .bindparams(sa.bindparam("on", type_=sa.Date)),
                 keys | {"on": dt.datetime.now(dt.timezone.utc).date(), "reason": REMOVED})
    rows = bind.execute(sa.text(f"SELECT ledger_item.id, ledger_item.status, device.device_code FROM ledger_item "
                                f"JOIN device ON device.id = ledger_item.device_id WHERE {OPEN_OF_REMOVED} "
                                "ORDER BY ledger_item.id"), keys).all()
    if not rows:
        return
    at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    note = f"{REMOVED}（{BASIS}）"
    bind.execute(sa.insert(EVENT), [{"item_id": i, "at": at, "user": USER, "from_status": status,
                                     "to_status": CLOSED, "note": note} for i, status, _ in rows])
    bind.execute(sa.insert(CHANGE), [{"at": at, "user": USER, "entity": "ledger_item", "entity_id": i,
                                      "device_code": code, "action": "ledger", "field": "status", "before": status,
                                      "after": f"{CLOSED}：{note}"} for i, status, code in rows])
    bind.execute(sa.text(f"UPDATE problem SET open_item_id = NULL WHERE open_item_id IN "
                         f"(SELECT ledger_item.id FROM ledger_item WHERE {OPEN_OF_REMOVED})"), keys)
    bind.execute(sa.text(f"UPDATE ledger_item SET status = :closed, closed_on = :on, closed_by = :user, "
                         f"close_evidence = :basis, closed_reason = :reason WHERE {OPEN_OF_REMOVED}")
                 .bindparams(sa.bindparam("on", type_=sa.Date)),
                 keys | {"on": at.date(), "user": USER, "basis": BASIS, "reason": REMOVED})


def upgrade() -> None:
    columns = _columns()
    if columns is None:
        return
    if "closed_reason" not in columns:
        op.add_column("ledger_item", sa.Column("closed_reason", sa.String(100), nullable=True))
    # The open problems are those with no resolved_on (a removal resolves them with no run).
    if RESOLVED_INDEX not in {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("problem")}:
        op.create_index(RESOLVED_INDEX, "problem", ["resolved_on"])
    _settle_removed()


def downgrade() -> None:
    columns = _columns()
    if columns is not None and "closed_reason" in columns:
        op.drop_column("ledger_item", "closed_reason")
    if columns is not None and RESOLVED_INDEX in {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("problem")}:
        op.drop_index(RESOLVED_INDEX, table_name="problem")
