"""The schema as the first releases created it with create_all (before migrations): nothing to do.

Revision ID: 0001
"""
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
