"""ledger_item.closed_reason: why an item was closed without the check of its rectification (设备已拆除: the
device was removed), None for a 销号 after the check. Added only where missing.

Revision ID: 0012_ledger_closed_reason
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_ledger_closed_reason"
down_revision = "0011_store"
branch_labels = None
depends_on = None


def _columns() -> set[str] | None:
    inspector = sa.inspect(op.get_bind())
    if "ledger_item" not in inspector.get_table_names():
        return None  # no tables yet: init_db creates them from the models
    return {c["name"] for c in inspector.get_columns("ledger_item")}


def upgrade() -> None:
    columns = _columns()
    if columns is not None and "closed_reason" not in columns:
        op.add_column("ledger_item", sa.Column("closed_reason", sa.String(100), nullable=True))


def downgrade() -> None:
    columns = _columns()
    if columns is not None and "closed_reason" in columns:
        op.drop_column("ledger_item", "closed_reason")
