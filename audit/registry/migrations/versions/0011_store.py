"""The audit's store: finding loses three single-column indexes that every write of a run's findings maintained and
no query needs. run_id and device_id lead the device list's indexes (ix_finding_run_severity, ix_finding_run_rule;
ix_finding_device_run, migration 0009), which serve every query by run or by device; rule is only ever asked
within a run (ix_finding_run_rule). Only the indexes present are dropped.

Revision ID: 0011_store
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_store"
down_revision = "0010_search"
branch_labels = None
depends_on = None

DROPPED = {"ix_finding_run_id": ["run_id"], "ix_finding_device_id": ["device_id"], "ix_finding_rule": ["rule"]}


def _present() -> set[str] | None:
    inspector = sa.inspect(op.get_bind())
    if "finding" not in inspector.get_table_names():
        return None  # no tables yet: init_db creates them from the models
    return {i["name"] for i in inspector.get_indexes("finding")}


def upgrade() -> None:
    present = _present()
    for name in DROPPED:
        if present is not None and name in present:
            op.drop_index(name, table_name="finding")


def downgrade() -> None:
    present = _present()
    for name, columns in DROPPED.items():
        if present is not None and name not in present:
            op.create_index(name, "finding", columns)
