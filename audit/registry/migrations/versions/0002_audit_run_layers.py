"""audit_run.layers: the township and road layers an audit run used (source file, feature count, sha256).

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("audit_run")}
    if "layers" not in columns:
        op.add_column("audit_run", sa.Column("layers", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_run", "layers")
