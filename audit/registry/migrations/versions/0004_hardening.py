"""Hardening: server-side login sessions, login throttling per key, users' 姓名/职务 and disabling, and the
database triggers that keep the change log and the casework records append-only.

Revision ID: 0004_hardening
"""
import sqlalchemy as sa
from alembic import op

from audit.registry.guards import install_append_only

revision = "0004_hardening"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    tables = set(inspector.get_table_names())
    if "app_user" not in tables:
        return  # no tables yet: init_db creates them from the models and installs the triggers
    columns = {c["name"] for c in inspector.get_columns("app_user")}
    for name, column in (("full_name", sa.String(100)), ("title", sa.String(100)), ("disabled_at", sa.DateTime())):
        if name not in columns:
            op.add_column("app_user", sa.Column(name, column, nullable=True))
    if "login_session" not in tables:
        op.create_table(
            "login_session",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
            sa.Column("user_id", sa.Integer(), sa.ForeignKey("app_user.id"), nullable=False, index=True),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("address", sa.String(64), nullable=True),
            sa.Column("ended_at", sa.DateTime(), nullable=True),
            sa.Column("end_reason", sa.String(20), nullable=True),
        )
    if "login_throttle" not in tables:
        op.create_table(
            "login_throttle",
            sa.Column("key", sa.String(300), primary_key=True),
            sa.Column("failures", sa.Integer(), nullable=False),
            sa.Column("last_failure_at", sa.DateTime(), nullable=True),
        )
    # The tables guarded as of this revision (later ones are guarded by init_db once they exist).
    install_append_only(bind, ("change_log", "decision", "problem_review", "ledger_event"))


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_table("login_session")
    for name in ("disabled_at", "title", "full_name"):
        op.drop_column("app_user", name)
