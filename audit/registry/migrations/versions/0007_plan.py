"""The supervision plan, filings and report drafts; the register of the bureau's documents; the annual site review.

- supervision_plan / plan_phase / plan_task: the bureau's plan (专项监督工作方案) as data, replacing the
  SUPERVISION_PHASES setting (still read when no plan is entered).
- filing: what departments filed for a task (the file, who, when; returned by the bureau or not).
- report_draft: the text sections of a generated report as edited before filing.
- issued_document / issued_document_problem: the register (文号) of the bureau's documents and the problems each cites.
- site_assessment: the annual keep / relocate / remove assessment of a device in use.

Only what is missing is created (a database made by create_all of this release already has it all).

Revision ID: 0007_plan
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_plan"
down_revision = "0006_dossier"
branch_labels = None
depends_on = None

TABLES = ("supervision_plan", "plan_phase", "plan_task", "filing", "report_draft", "issued_document",
          "issued_document_problem", "site_assessment")


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def upgrade() -> None:
    tables = _tables()
    if "supervision_plan" not in tables:
        op.create_table(
            "supervision_plan",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("title", sa.String(200), nullable=False),
            sa.Column("issuer", sa.String(200), nullable=False),
            sa.Column("doc_no", sa.String(100), nullable=True),
            sa.Column("doc_prefix", sa.String(50), nullable=True),
            sa.Column("created_by", sa.String(100), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
        )
    if "plan_phase" not in tables:
        op.create_table(
            "plan_phase",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("plan_id", sa.Integer(), sa.ForeignKey("supervision_plan.id"), nullable=False, index=True),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("start", sa.Date(), nullable=False),
            sa.Column("end", sa.Date(), nullable=False),
        )
    if "plan_task" not in tables:
        op.create_table(
            "plan_task",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("plan_id", sa.Integer(), sa.ForeignKey("supervision_plan.id"), nullable=False, index=True),
            sa.Column("phase_id", sa.Integer(), sa.ForeignKey("plan_phase.id"), nullable=True),
            sa.Column("title", sa.Text(), nullable=False),
            sa.Column("deliverable", sa.String(20), nullable=False),
            sa.Column("deadline", sa.Date(), nullable=False),
            sa.Column("department_ids", sa.JSON(), nullable=True),
            sa.Column("requirement", sa.Text(), nullable=True),
            sa.Column("created_at", sa.DateTime(), nullable=False),
        )
    if "filing" not in tables:
        op.create_table(
            "filing",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("task_id", sa.Integer(), sa.ForeignKey("plan_task.id"), nullable=False, index=True),
            sa.Column("department_id", sa.Integer(), sa.ForeignKey("department.id"), nullable=False, index=True),
            sa.Column("filed_on", sa.Date(), nullable=False),
            sa.Column("filed_by", sa.String(100), nullable=False),
            sa.Column("method", sa.String(10), nullable=False),
            sa.Column("filename", sa.String(300), nullable=False),
            sa.Column("content", sa.LargeBinary(), nullable=False),
            sa.Column("sha256", sa.String(64), nullable=False),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("note", sa.Text(), nullable=True),
            sa.Column("returned_on", sa.Date(), nullable=True),
            sa.Column("returned_by", sa.String(100), nullable=True),
            sa.Column("return_reason", sa.Text(), nullable=True),
            sa.Column("created_at", sa.DateTime(), nullable=False),
        )
    if "report_draft" not in tables:
        op.create_table(
            "report_draft",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("scope", sa.String(200), nullable=False, unique=True),
            sa.Column("department_id", sa.Integer(), sa.ForeignKey("department.id"), nullable=True),
            sa.Column("kind", sa.String(30), nullable=False),
            sa.Column("period", sa.String(20), nullable=False),
            sa.Column("sections", sa.JSON(), nullable=False),
            sa.Column("updated_by", sa.String(100), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
        )
    if "issued_document" not in tables:
        op.create_table(
            "issued_document",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("kind", sa.String(30), nullable=False),
            sa.Column("prefix", sa.String(50), nullable=False),
            sa.Column("year", sa.Integer(), nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("doc_no", sa.String(100), nullable=False),
            sa.Column("title", sa.String(300), nullable=False),
            sa.Column("addressee", sa.String(200), nullable=False),
            sa.Column("department", sa.String(200), nullable=True, index=True),
            sa.Column("issued_on", sa.Date(), nullable=False),
            sa.Column("deadline", sa.Date(), nullable=True),
            sa.Column("issued_by", sa.String(100), nullable=False),
            sa.Column("filename", sa.String(300), nullable=False),
            sa.Column("content", sa.LargeBinary(), nullable=False),
            sa.Column("sha256", sa.String(64), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.UniqueConstraint("prefix", "year", "seq"),
        )
    if "issued_document_problem" not in tables:
        op.create_table(
            "issued_document_problem",
            sa.Column("document_id", sa.Integer(), sa.ForeignKey("issued_document.id"), primary_key=True),
            sa.Column("problem_id", sa.Integer(), sa.ForeignKey("problem.id"), primary_key=True, index=True),
        )
    if "site_assessment" not in tables:
        op.create_table(
            "site_assessment",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("device_id", sa.Integer(), sa.ForeignKey("device.id"), nullable=False, index=True),
            sa.Column("assessed_on", sa.Date(), nullable=False),
            sa.Column("outcome", sa.String(10), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("evidence", sa.JSON(), nullable=False),
            sa.Column("assessed_by", sa.String(100), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        if table in _tables():
            op.drop_table(table)
