"""The device list's indexes: the devices by type, name and road (then code), a run's findings by severity and by
rule, a device's findings by run, and the problems by verdict, so that the list filters, sorts and summarises a
page from the indexes alone (audit.casework.devicelist). Only the indexes missing are created.

Partitioning the daily counts is not a migration: it is the operator's command `camaudit db partition`
(audit.registry.partition), for a database that has outgrown one table.

Revision ID: 0009_partition
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_partition"
down_revision = "0008_scale"
branch_labels = None
depends_on = None

INDEXES = {
    "device": {"ix_device_type_code": ["device_type", "device_code"], "ix_device_name_code": ["name", "device_code"],
               "ix_device_road_code": ["road", "device_code"]},
    "finding": {"ix_finding_run_severity": ["run_id", "severity", "device_id", "problem_id"],
                "ix_finding_run_rule": ["run_id", "rule", "device_id", "problem_id"],
                "ix_finding_device_run": ["device_id", "run_id", "problem_id"]},
    "problem": {"ix_problem_verdict": ["verdict", "stale"]},
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    for table, indexes in INDEXES.items():
        if table not in tables:
            continue  # no tables yet: init_db creates them from the models
        present = {i["name"] for i in inspector.get_indexes(table)}
        for name, columns in indexes.items():
            if name not in present:
                op.create_index(name, table, columns)


def downgrade() -> None:
    for table, indexes in INDEXES.items():
        for name in indexes:
            op.drop_index(name, table_name=table)
