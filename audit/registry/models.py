"""Every table of camaudit (SQLAlchemy 2, typed models; SQLite and PostgreSQL alike).

The registry (departments, devices, import batches, verification records, violation statistics, the change log),
the audit runs and their findings, the casework (reviews, decisions, the rectification ledger, departments'
responses, evidence files), spot checks, the supervision plan with its filings and report drafts, the register of
the bureau's documents and the annual site review.
The logic that writes them lives in the stage that owns it; the tables live here so that every stage, the
migrations and the web read one schema.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Department(Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The name after NFKC and whitespace normalisation (audit.registry.names.department_key): one department
    # however its name is typed. NULL only for a department that collided with another when this was introduced.
    key: Mapped[Optional[str]] = mapped_column(String(200), unique=True, default=None)
    # Jurisdiction boundary as GeoJSON geometry in WGS-84, when one is loaded.
    boundary: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, default=None)
    boundary_source: Mapped[Optional[str]] = mapped_column(String(500), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    devices: Mapped[list["Device"]] = relationship(back_populates="department")


class ImportBatch(Base):
    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # devices | violations | verifications
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"), default=None)
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    user: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    row_count: Mapped[int] = mapped_column(default=0)
    # Warnings of the validation report (errors never reach a stored batch) and the upsert summary.
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    department: Mapped[Optional[Department]] = relationship()


class Device(Base):
    __tablename__ = "device"
    # The device list filtered by type in code order, and sorted by name or road, from an index alone (migration
    # 0009_partition).
    __table_args__ = (Index("ix_device_type_code", "device_type", "device_code"),
                      Index("ix_device_name_code", "name", "device_code"),
                      Index("ix_device_road_code", "road", "device_code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    device_code: Mapped[str] = mapped_column(String(100), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    name: Mapped[Optional[str]] = mapped_column(Text, default=None)
    device_type: Mapped[str] = mapped_column(String(20))
    violation_kinds: Mapped[Optional[str]] = mapped_column(Text, default=None)
    road: Mapped[Optional[str]] = mapped_column(Text, default=None)
    direction: Mapped[Optional[str]] = mapped_column(String(100), default=None)
    address: Mapped[Optional[str]] = mapped_column(Text, default=None)
    # WGS-84 position, and the values as the department gave them.
    lon: Mapped[Optional[float]] = mapped_column(default=None)
    lat: Mapped[Optional[float]] = mapped_column(default=None)
    raw_lon: Mapped[Optional[float]] = mapped_column(default=None)
    raw_lat: Mapped[Optional[float]] = mapped_column(default=None)
    crs: Mapped[Optional[str]] = mapped_column(String(50), default=None)
    installed_on: Mapped[Optional[dt.date]] = mapped_column(Date, default=None)
    in_service_on: Mapped[Optional[dt.date]] = mapped_column(Date, default=None)
    status: Mapped[Optional[str]] = mapped_column(String(10), default=None)
    legal_review_on: Mapped[Optional[dt.date]] = mapped_column(Date, default=None)
    legal_review_no: Mapped[Optional[str]] = mapped_column(String(200), default=None)
    tech_review_on: Mapped[Optional[dt.date]] = mapped_column(Date, default=None)
    tech_review_no: Mapped[Optional[str]] = mapped_column(String(200), default=None)
    signage: Mapped[Optional[bool]] = mapped_column(default=None)
    sign_distance_m: Mapped[Optional[float]] = mapped_column(default=None)
    published_on: Mapped[Optional[dt.date]] = mapped_column(Date, default=None)
    publication_channel: Mapped[Optional[str]] = mapped_column(Text, default=None)
    speed_limit_kmh: Mapped[Optional[int]] = mapped_column(default=None)
    justification: Mapped[Optional[str]] = mapped_column(Text, default=None)
    verified_on: Mapped[Optional[dt.date]] = mapped_column(Date, default=None)
    verification_valid_until: Mapped[Optional[dt.date]] = mapped_column(Date, default=None)
    verification_result: Mapped[Optional[str]] = mapped_column(String(10), default=None)
    certificate_no: Mapped[Optional[str]] = mapped_column(String(200), default=None)
    created_batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("import_batch.id"), default=None)
    updated_batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("import_batch.id"), default=None)
    # The latest inventory upload of the department that did not list this device (never deleted silently).
    missing_since_batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("import_batch.id"), default=None)
    # Inventory columns no upload of this device ever had (absent from the file, not left empty): the rules
    # that need them cannot assess the device. None: not recorded (devices imported before this was kept).
    unsupplied: Mapped[Optional[list[Any]]] = mapped_column(JSON, default=None)

    department: Mapped[Department] = relationship(back_populates="devices")


class VerificationRecord(Base):
    __tablename__ = "verification_record"
    __table_args__ = (UniqueConstraint("device_id", "verified_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    verified_on: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(10))
    certificate_no: Mapped[Optional[str]] = mapped_column(String(200), default=None)
    agency: Mapped[Optional[str]] = mapped_column(String(200), default=None)
    batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("import_batch.id"), default=None)


class ViolationStat(Base):
    """Violations captured by one device over one day (period 'day') or one calendar month ('month').

    The table that grows (a province: 10⁸ rows a year) and is written in bulk: no foreign keys, whose per-row
    checks made up two thirds of a PostgreSQL bulk insert (migration 0008_scale). Its device and batch ids come
    from the registry in the import's own transaction (audit.registry.lookup), and devices and batches are never
    deleted.
    """

    __tablename__ = "violation_stat"
    # The natural key is the primary key; on SQLite the table is clustered on it (WITHOUT ROWID), so a bulk
    # import maintains one B-tree instead of two.
    __table_args__ = {"sqlite_with_rowid": False}

    device_id: Mapped[int] = mapped_column(primary_key=True)  # device.id
    period: Mapped[str] = mapped_column(String(5), primary_key=True)
    period_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int]
    fine_yuan: Mapped[Optional[Decimal]] = mapped_column(Numeric(14, 2), default=None)
    batch_id: Mapped[Optional[int]] = mapped_column(default=None)  # import_batch.id


class ChangeLog(Base):
    """Append-only history of every change to the registry (执法全过程记录)."""

    __tablename__ = "change_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    user: Mapped[str] = mapped_column(String(100))
    batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("import_batch.id"), default=None)
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[Optional[int]] = mapped_column(default=None, index=True)
    device_code: Mapped[Optional[str]] = mapped_column(String(100), default=None, index=True)
    action: Mapped[str] = mapped_column(String(20))  # create | update | missing | ...
    field: Mapped[Optional[str]] = mapped_column(String(50), default=None)
    before: Mapped[Optional[str]] = mapped_column(Text, default=None)
    after: Mapped[Optional[str]] = mapped_column(Text, default=None)


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _change_log_is_append_only(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, ChangeLog):
            raise AppendOnlyError("变更记录只能追加，不能修改或删除。")


# ---- audit runs and findings ---------------------------------------------------------------------------

class AuditRun(Base):
    """One run of the rules: what went in (as-of date, profile, rule set version, import batches, layers) and
    counts."""

    __tablename__ = "audit_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    as_of: Mapped[dt.date] = mapped_column(Date)
    profile: Mapped[str] = mapped_column(String(100))
    # sha256 of the profile's resolved values: the same name with edited thresholds gives another digest.
    profile_digest: Mapped[Optional[str]] = mapped_column(String(64), default=None)
    ruleset_version: Mapped[str] = mapped_column(String(20))
    batch_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    department: Mapped[Optional[str]] = mapped_column(String(200), default=None)
    device_count: Mapped[int] = mapped_column(Integer, default=0)
    finding_count: Mapped[int] = mapped_column(Integer, default=0)
    user: Mapped[str] = mapped_column(String(100))
    # The township and road layers used ({"areas"|"roads": geo.layerfile.describe_layer}); None before migration 0002.
    layers: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, default=None)


class Finding(Base):
    __tablename__ = "finding"
    # The device list's filters and summaries (audit.casework.devicelist): a run's findings of one severity or
    # rule, and a device's findings of one run, read from the index alone (migration 0009_partition). They also
    # serve every query by run, by device or by rule within a run: no index of those columns alone, which each
    # write of a run's findings would maintain (migration 0011_store).
    __table_args__ = (Index("ix_finding_run_severity", "run_id", "severity", "device_id", "problem_id"),
                      Index("ix_finding_run_rule", "run_id", "rule", "device_id", "problem_id"),
                      Index("ix_finding_device_run", "device_id", "run_id", "problem_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("audit_run.id"))
    rule: Mapped[str] = mapped_column(String(10))
    device_id: Mapped[Optional[int]] = mapped_column(ForeignKey("device.id"), default=None)
    device_code: Mapped[Optional[str]] = mapped_column(String(100), default=None)
    department: Mapped[Optional[str]] = mapped_column(String(200), default=None)
    severity: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    basis: Mapped[str] = mapped_column(Text)
    threshold: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, default=None)
    # The problem this finding observes (None for cannot-assess findings, which are requests for data).
    problem_id: Mapped[Optional[int]] = mapped_column(ForeignKey("problem.id"), default=None, index=True)


# ---- casework: reviews, decisions, the rectification ledger --------------------------------------------

DECISION_KINDS = ("suspend", "rectify", "restore", "remove", "keep")
DECISION_ZH = {"suspend": "停用", "rectify": "整改", "restore": "恢复使用", "remove": "拆除", "keep": "保留"}
REVIEW_STATUSES = ("confirmed", "dismissed")
REVIEW_ZH = {"confirmed": "已确认", "dismissed": "已排除"}
LEDGER_STATUSES = ("待整改", "整改中", "已整改待核查", "已销号")
OPEN_STATUSES = LEDGER_STATUSES[:3]
CLOSED = "已销号"
# Why a removed device's problems are resolved and its open ledger items closed (LedgerItem.closed_reason).
DEVICE_REMOVED = "设备已拆除"


class Decision(Base):
    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # suspend | rectify | restore | remove | keep
    decided_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(100))
    finding_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The problems (问题) it answers; finding_ids are the observations cited when it was made.
    problem_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    device: Mapped[Device] = relationship()

    @property
    def kind_zh(self) -> str:
        return DECISION_ZH[self.kind]


class LedgerItem(Base):
    """One row of the rectification ledger (整改台账), closed one by one (销号制)."""

    __tablename__ = "ledger_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"))
    department: Mapped[str] = mapped_column(String(200), index=True)
    problem: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(200))
    rules: Mapped[list[Any]] = mapped_column(JSON, default=list)
    measure: Mapped[str] = mapped_column(Text)
    requirement: Mapped[str] = mapped_column(Text)
    deadline: Mapped[dt.date] = mapped_column(Date)
    responsible: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default=LEDGER_STATUSES[0])
    closed_on: Mapped[Optional[dt.date]] = mapped_column(Date, default=None)
    closed_by: Mapped[Optional[str]] = mapped_column(String(100), default=None)
    close_evidence: Mapped[Optional[str]] = mapped_column(Text, default=None)
    # Why it was closed without a check (DEVICE_REMOVED); None for a 销号 after the check of its rectification.
    closed_reason: Mapped[Optional[str]] = mapped_column(String(100), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    device: Mapped[Device] = relationship()
    decision: Mapped[Decision] = relationship()
    events: Mapped[list["LedgerEvent"]] = relationship(order_by="LedgerEvent.id", viewonly=True)
    attachments: Mapped[list["Attachment"]] = relationship(order_by="Attachment.id", viewonly=True)

    @property
    def finding_ids(self) -> list[int]:
        return list(self.decision.finding_ids or [])

    @property
    def problem_ids(self) -> list[int]:
        return list(self.decision.problem_ids or [])

    @property
    def is_open(self) -> bool:
        return self.status != CLOSED

    @property
    def rectified(self) -> bool:
        """Closed after the check of its rectification (not closed for a reason such as the device's removal)."""
        return self.status == CLOSED and self.closed_reason is None

    @property
    def status_text(self) -> str:
        """The status as documents show it: a closing without a check says why (已销号（设备已拆除）)."""
        return f"{self.status}（{self.closed_reason}）" if self.closed_reason else self.status


class LedgerEvent(Base):
    """A status change of a ledger item (the first one, from None, is its creation)."""

    __tablename__ = "ledger_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("ledger_item.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    user: Mapped[str] = mapped_column(String(100))
    from_status: Mapped[Optional[str]] = mapped_column(String(10), default=None)
    to_status: Mapped[str] = mapped_column(String(10))
    note: Mapped[Optional[str]] = mapped_column(Text, default=None)


# Where a problem stands after the latest run that covered its device (Problem.last_check).
OBSERVED, NOT_ASSESSED, RESOLVED = "observed", "not_assessed", "resolved"
CHECK_ZH = {OBSERVED: "仍存在", NOT_ASSESSED: "未能判断", RESOLVED: "已消除"}
VERDICT_ZH = {None: "待核查", "confirmed": "已确认", "dismissed": "已排除"}


class Problem(Base):
    """A defect of one device found by one rule (问题), living across audit runs: each finding observes it.

    Identity: device, rule and the finding's evidence key (audit.rules.base); verdicts (ProblemReview),
    decisions and ledger items attach here, so a re-audit keeps them. State columns are updated by
    audit.casework.problems when a run observes, cannot assess or no longer finds the problem.
    """

    __tablename__ = "problem"
    # The dismissals that hold (audit.casework.current.dismissed_ids), without reading every problem.
    __table_args__ = (Index("ix_problem_verdict", "verdict", "stale"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identity: Mapped[str] = mapped_column(String(400), unique=True)  # "device_id|rule|key"
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    rule: Mapped[str] = mapped_column(String(10), index=True)
    key: Mapped[str] = mapped_column(String(200), default="")
    department: Mapped[str] = mapped_column(String(200), index=True)
    device_code: Mapped[str] = mapped_column(String(100))
    # The latest observation: its severity, action, message and the evidence fields that matter for a verdict.
    severity: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)
    material: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_run_id: Mapped[int] = mapped_column(ForeignKey("audit_run.id"))
    last_run_id: Mapped[int] = mapped_column(ForeignKey("audit_run.id"))  # latest run that observed it
    first_seen_on: Mapped[dt.date] = mapped_column(Date)  # as-of dates of those runs
    last_seen_on: Mapped[dt.date] = mapped_column(Date)
    # The latest run covering the device: observed | not_assessed (missing data, device not examined) | resolved.
    last_check: Mapped[str] = mapped_column(String(20), default=OBSERVED)
    checked_run_id: Mapped[int] = mapped_column(ForeignKey("audit_run.id"))
    # Resolved (已消除): resolved_on is set, with the reason; resolved_run_id names the run that no longer found it,
    # None when the device's removal resolved it (audit.registry.removal), before any run.
    resolved_run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("audit_run.id"), default=None, index=True)
    resolved_on: Mapped[Optional[dt.date]] = mapped_column(Date, default=None, index=True)  # open: NULL
    resolved_reason: Mapped[Optional[str]] = mapped_column(String(100), default=None)
    # The current verdict (the latest ProblemReview), None while unreviewed; verdict_review_id is compared and set
    # in one UPDATE so that concurrent reviews cannot both pass.
    verdict: Mapped[Optional[str]] = mapped_column(String(10), default=None)
    verdict_review_id: Mapped[Optional[int]] = mapped_column(Integer, default=None)
    # The verdict was given on material evidence that a later run found changed: back to review (待复核), the
    # earlier verdict shown beside the new evidence; cleared by the next review.
    stale: Mapped[bool] = mapped_column(default=False)
    decision_id: Mapped[Optional[int]] = mapped_column(ForeignKey("decision.id"), default=None)  # the latest
    # The open ledger item rectifying it: at most one, set with a compare-and-set UPDATE.
    open_item_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ledger_item.id"), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    device: Mapped[Device] = relationship()
    verdict_review: Mapped[Optional["ProblemReview"]] = relationship(
        primaryjoin="foreign(Problem.verdict_review_id) == ProblemReview.id", viewonly=True)
    decision: Mapped[Optional[Decision]] = relationship(viewonly=True)

    @property
    def is_resolved(self) -> bool:
        return self.resolved_on is not None

    @property
    def verdict_stale(self) -> bool:
        """The verdict was given on evidence that has since changed in a way that matters (back to review)."""
        return bool(self.stale) and self.verdict is not None

    @property
    def review_state(self) -> str:
        """unreviewed | stale (reviewed, evidence changed) | confirmed | dismissed."""
        if self.verdict is None:
            return "unreviewed"
        return "stale" if self.verdict_stale else self.verdict


class ProblemReview(Base):
    """An auditor's verdict on a problem (confirmed or dismissed, with the reason), never edited: the latest one is
    the problem's verdict. material: the problem's material evidence when the verdict was given (None: not known,
    for reviews carried over from the findings of earlier releases)."""

    __tablename__ = "problem_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))  # confirmed | dismissed
    reason: Mapped[Optional[str]] = mapped_column(Text, default=None)
    user: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finding_id: Mapped[Optional[int]] = mapped_column(ForeignKey("finding.id"), default=None)
    material: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, default=None)


RESPONSE_KINDS = ("说明", "申辩")
RESPONSE_ZH = {"pending": "待审查人员处理", "accepted": "已采纳", "rejected": "未采纳"}


class ProblemResponse(Base):
    """A department's answer to a problem (说明 or 申辩), which an auditor accepts (the problem is dismissed, the
    ProblemReview recorded as review_id) or rejects with a reason; the answer is set once, by compare-and-set."""

    __tablename__ = "problem_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id"), index=True)
    department: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # 说明 | 申辩
    text: Mapped[str] = mapped_column(Text)
    user: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | accepted | rejected
    answered_by: Mapped[Optional[str]] = mapped_column(String(100), default=None)
    answered_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, default=None)
    answer: Mapped[Optional[str]] = mapped_column(Text, default=None)
    review_id: Mapped[Optional[int]] = mapped_column(ForeignKey("problem_review.id"), default=None)

    problem: Mapped[Problem] = relationship()
    attachments: Mapped[list["Attachment"]] = relationship(order_by="Attachment.id", viewonly=True)


class Attachment(Base):
    """An evidence file (image or PDF) of a device: stored once in the instance folder under its SHA-256, with who
    gave it, when and what for; optionally at a ledger item's step or with a department's response. Never edited."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # image | pdf
    mime: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[Optional[int]] = mapped_column(Integer, default=None)
    height: Mapped[Optional[int]] = mapped_column(Integer, default=None)
    pages: Mapped[Optional[int]] = mapped_column(Integer, default=None)
    filename: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(20))
    note: Mapped[Optional[str]] = mapped_column(Text, default=None)
    ledger_item_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ledger_item.id"), default=None, index=True)
    ledger_event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ledger_event.id"), default=None)
    response_id: Mapped[Optional[int]] = mapped_column(ForeignKey("problem_response.id"), default=None, index=True)
    user: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    device: Mapped[Device] = relationship()


_IMMUTABLE = (ProblemReview, Decision, LedgerEvent, Attachment)


@event.listens_for(Session, "before_flush")
def _decisions_are_append_only(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, _IMMUTABLE):
            raise AppendOnlyError("决定、核查意见和台账记录只能追加，不能删除。")
    for obj in session.dirty:
        if isinstance(obj, _IMMUTABLE) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyError("决定、核查意见和台账记录只能追加，不能修改；请作出新的决定。")


# ---- spot checks ---------------------------------------------------------------------------------------

class SpotCheck(Base):
    __tablename__ = "spot_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    department: Mapped[Optional[str]] = mapped_column(String(200), default=None)
    candidate_count: Mapped[int]
    candidate_digest: Mapped[str] = mapped_column(String(64))
    roster: Mapped[list[Any]] = mapped_column(JSON, default=list)
    inspectors: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the team drawn from the roster
    user: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    items: Mapped[list["SpotCheckItem"]] = relationship(order_by="SpotCheckItem.id", back_populates="spot_check")

    @property
    def device_ids(self) -> list[int]:
        return [i.device_id for i in self.items]

    @property
    def assignment(self) -> dict[str, list[str]]:
        return {i.device_code: list(i.inspectors) for i in self.items}


class SpotCheckItem(Base):
    __tablename__ = "spot_check_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    device_code: Mapped[str] = mapped_column(String(100))
    inspectors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    result: Mapped[Optional[str]] = mapped_column(String(10), default=None)
    note: Mapped[Optional[str]] = mapped_column(Text, default=None)
    recorded_by: Mapped[Optional[str]] = mapped_column(String(100), default=None)
    recorded_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, default=None)

    spot_check: Mapped[SpotCheck] = relationship(back_populates="items")
    device: Mapped[Device] = relationship()


# ---- the supervision plan (专项监督工作方案), what departments file, report drafts ---------------------------

# What a task asks a department to file (报送材料).
DELIVERABLES = ("自查报告", "突出问题清单", "整改台账", "季度报告", "工作总结", "典型案例", "专题说明", "其他材料")
FILING_METHODS = {"generated": "系统生成并确认", "upload": "上传文件"}


class SupervisionPlan(Base):
    """The bureau's plan of a special supervision: its phases and the tasks each department must file by a date.

    doc_prefix: the 发文机关代字 the bureau's documents are numbered with (将司监督 → 将司监督〔2025〕3号).
    """

    __tablename__ = "supervision_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(200))
    doc_no: Mapped[Optional[str]] = mapped_column(String(100), default=None)
    doc_prefix: Mapped[Optional[str]] = mapped_column(String(50), default=None)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    phases: Mapped[list["PlanPhase"]] = relationship(order_by="[PlanPhase.start, PlanPhase.id]", viewonly=True)
    tasks: Mapped[list["PlanTask"]] = relationship(order_by="[PlanTask.deadline, PlanTask.id]", viewonly=True)


class PlanPhase(Base):
    __tablename__ = "plan_phase"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("supervision_plan.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)


class PlanTask(Base):
    """One task of the plan: what the responsible departments (责任单位) file, by when.

    department_ids: the departments responsible; None means every department under supervision (各执法单位),
    including those registered later.
    """

    __tablename__ = "plan_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("supervision_plan.id"), index=True)
    phase_id: Mapped[Optional[int]] = mapped_column(ForeignKey("plan_phase.id"), default=None)
    title: Mapped[str] = mapped_column(Text)
    deliverable: Mapped[str] = mapped_column(String(20))
    deadline: Mapped[dt.date] = mapped_column(Date)
    department_ids: Mapped[Optional[list[Any]]] = mapped_column(JSON, default=None)
    requirement: Mapped[Optional[str]] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    phase: Mapped[Optional[PlanPhase]] = relationship()


class Filing(Base):
    """A department's filing (报送) of a task: the file itself, who filed it and when; the bureau may return it
    (退回) with a reason, and the task is then due again until filed anew."""

    __tablename__ = "filing"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("plan_task.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    filed_on: Mapped[dt.date] = mapped_column(Date)
    filed_by: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))  # generated | upload
    filename: Mapped[str] = mapped_column(String(300))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    note: Mapped[Optional[str]] = mapped_column(Text, default=None)
    returned_on: Mapped[Optional[dt.date]] = mapped_column(Date, default=None)
    returned_by: Mapped[Optional[str]] = mapped_column(String(100), default=None)
    return_reason: Mapped[Optional[str]] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    task: Mapped[PlanTask] = relationship()
    department: Mapped[Department] = relationship()

    @property
    def method_zh(self) -> str:
        return FILING_METHODS.get(self.method, self.method)


class ReportDraft(Base):
    """The text sections of a generated report as its author edited them before filing (key: section → text).

    scope: "<department id or bureau>|<report kind>|<period>", one draft per department, report and period.
    """

    __tablename__ = "report_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(200), unique=True)
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"), default=None)
    kind: Mapped[str] = mapped_column(String(30))
    period: Mapped[str] = mapped_column(String(20), default="")
    sections: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# ---- the register of the bureau's documents (发文登记) ----------------------------------------------------

class IssuedDocument(Base):
    """A document the bureau issued, numbered in its register (文号 将司监督〔2025〕3号: prefix, year, number),
    with the file as issued and the problems it cites (IssuedDocumentProblem). Never edited."""

    __tablename__ = "issued_document"
    __table_args__ = (UniqueConstraint("prefix", "year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    prefix: Mapped[str] = mapped_column(String(50))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    doc_no: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    addressee: Mapped[str] = mapped_column(String(200))
    department: Mapped[Optional[str]] = mapped_column(String(200), default=None, index=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    deadline: Mapped[Optional[dt.date]] = mapped_column(Date, default=None)
    issued_by: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(300))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    problem_links: Mapped[list["IssuedDocumentProblem"]] = relationship(viewonly=True)

    @property
    def problem_ids(self) -> list[int]:
        return sorted(link.problem_id for link in self.problem_links)


class IssuedDocumentProblem(Base):
    """A problem cited by an issued document: the problem's record of the documents issued about it."""

    __tablename__ = "issued_document_problem"

    document_id: Mapped[int] = mapped_column(ForeignKey("issued_document.id"), primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id"), primary_key=True, index=True)


# ---- the annual site review (年度评估) ---------------------------------------------------------------------

ASSESSMENT_OUTCOMES = {"keep": "保留", "relocate": "迁移", "remove": "拆除"}


class SiteAssessment(Base):
    """The auditor's annual assessment of a device in use: keep, relocate or remove, with the justification and the
    evidence seen (captures over the year, the problems, the registered justification). Never edited: a later
    assessment supersedes it."""

    __tablename__ = "site_assessment"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(10))  # keep | relocate | remove
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    assessed_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    device: Mapped[Device] = relationship()

    @property
    def outcome_zh(self) -> str:
        return ASSESSMENT_OUTCOMES.get(self.outcome, self.outcome)


_REGISTERED = (IssuedDocument, IssuedDocumentProblem, SiteAssessment)


@event.listens_for(Session, "before_flush")
def _register_is_append_only(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, _REGISTERED):
            raise AppendOnlyError("发文登记和年度评估记录只能追加，不能删除。")
    for obj in session.dirty:
        if isinstance(obj, _REGISTERED) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyError("发文登记和年度评估记录只能追加，不能修改。")


# ---- users ---------------------------------------------------------------------------------------------

class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"), default=None)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Unused since migration 0004 (login throttling moved to login_throttle); kept so that older code can read.
    failed_logins: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, default=None)
    full_name: Mapped[Optional[str]] = mapped_column(String(100), default=None)  # 姓名
    title: Mapped[Optional[str]] = mapped_column(String(100), default=None)  # 职务
    # A disabled user cannot sign in, and its sessions ended when it was disabled.
    disabled_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, default=None)

    department: Mapped[Optional[Department]] = relationship()

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def lacks_department(self) -> bool:
        return lacks_department(self.role, self.department_id)

    def sees_department(self, department_id: int | None) -> bool:
        return sees_department(self.role, self.department_id, department_id)


def lacks_department(role: str | None, department_id: int | None) -> bool:
    """A department user with no department (add_user requires one: only a hand-edited database holds such a user).
    It cannot sign in, and its sessions are refused: the pages read "no department" as "every department"."""
    return role == "department" and department_id is None


def sees_department(role: str | None, own_department_id: int | None, department_id: int | None) -> bool:
    """Admins and auditors see every department; a department user only its own."""
    return role in ("admin", "auditor") or (department_id is not None and department_id == own_department_id)


class LoginSession(Base):
    """A signed-in session: the cookie carries a random token, the database its sha256 and whether it has ended.
    Logging out ends it; a new password, disabling or removing the user ends all of the user's sessions."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    address: Mapped[Optional[str]] = mapped_column(String(64), default=None)
    ended_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, default=None)
    end_reason: Mapped[Optional[str]] = mapped_column(String(20), default=None)  # logout | password | disabled …


class LoginThrottle(Base):
    """Failed sign-ins counted per key (an account, an address, a browser that signed in before): the delay before
    the key's next attempt grows with its failures."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, default=None)
