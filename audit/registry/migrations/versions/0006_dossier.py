"""The device dossier (一机一档): evidence files, departments' responses to problems, the technical review's number.

- attachment: an image or PDF of a device (stored in the instance folder by SHA-256), optionally at a ledger item's
  step or with a response.
- problem_response: a department's 说明/申辩 on a problem and the auditor's answer.
- device.tech_review_no: 技术审核文号, beside 法制审核文号.

Created only where missing, so a database that already has them (made by create_all) upgrades cleanly; a database
without the tables they refer to is left to create_all.

Revision ID: 0006_dossier
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_dossier"
down_revision = "0004_hardening"
branch_labels = None
depends_on = None


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    tables = _tables()
    if not {"device", "problem", "problem_review", "ledger_item", "ledger_event"} <= tables:
        return  # an empty database (its tables are created from the models after the upgrade)
    if "tech_review_no" not in _columns("device"):
        op.add_column("device", sa.Column("tech_review_no", sa.String(200), nullable=True))
    if "problem_response" not in tables:
        op.create_table(
            "problem_response",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("problem_id", sa.Integer(), sa.ForeignKey("problem.id"), nullable=False, index=True),
            sa.Column("department", sa.String(200), nullable=False, index=True),
            sa.Column("kind", sa.String(10), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("user", sa.String(100), nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("status", sa.String(10), nullable=False),
            sa.Column("answered_by", sa.String(100), nullable=True),
            sa.Column("answered_at", sa.DateTime(), nullable=True),
            sa.Column("answer", sa.Text(), nullable=True),
            sa.Column("review_id", sa.Integer(), sa.ForeignKey("problem_review.id"), nullable=True),
        )
    if "attachment" not in tables:
        op.create_table(
            "attachment",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("device_id", sa.Integer(), sa.ForeignKey("device.id"), nullable=False, index=True),
            sa.Column("sha256", sa.String(64), nullable=False, index=True),
            sa.Column("kind", sa.String(10), nullable=False),
            sa.Column("mime", sa.String(50), nullable=False),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("width", sa.Integer(), nullable=True),
            sa.Column("height", sa.Integer(), nullable=True),
            sa.Column("pages", sa.Integer(), nullable=True),
            sa.Column("filename", sa.String(200), nullable=False),
            sa.Column("purpose", sa.String(20), nullable=False),
            sa.Column("note", sa.Text(), nullable=True),
            sa.Column("ledger_item_id", sa.Integer(), sa.ForeignKey("ledger_item.id"), nullable=True, index=True),
            sa.Column("ledger_event_id", sa.Integer(), sa.ForeignKey("ledger_event.id"), nullable=True),
            sa.Column("response_id", sa.Integer(), sa.ForeignKey("problem_response.id"), nullable=True, index=True),
            sa.Column("user", sa.String(100), nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
        )


def downgrade() -> None:
    op.drop_table("attachment")
    op.drop_table("problem_response")
    op.drop_column("device", "tech_review_no")
