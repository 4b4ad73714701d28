"""Database models (SQLAlchemy 2, typed). Work on SQLite and on PostgreSQL alike."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Numeric, String, Text, UniqueConstraint, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Department(Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
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
    """Violations captured by one device over one day (period 'day') or one calendar month ('month')."""

    __tablename__ = "violation_stat"
    # The natural key is the primary key; on SQLite the table is clustered on it (WITHOUT ROWID), so a bulk
    # import maintains one B-tree instead of two.
    __table_args__ = {"sqlite_with_rowid": False}

    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(5), primary_key=True)
    period_start: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    count: Mapped[int]
    fine_yuan: Mapped[Optional[Decimal]] = mapped_column(Numeric(14, 2), default=None)
    batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("import_batch.id"), default=None)


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
