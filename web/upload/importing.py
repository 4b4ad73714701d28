"""Running audit.registry.import_file for a pending upload: a dry run first, then the real import on confirm.

Both run one at a time (the app's write lock), each in its own transaction, so two uploads never interleave;
a file with any error changes nothing.
"""
from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from audit.inventory import parse_upload
from audit.models import Device
from audit.registry import ImportResult, RegistryError, import_file
from audit.report import ValidationReport

from ..database import get_session, writing
from . import pending
from .pending import Pending

NOT_OWN_DEVICE = "设备编号未在本单位的设备登记表中登记；请先导入该设备，或核对编号。"
UNREADABLE = "文件无法读取：{error}。请用 Excel 或 WPS 打开后另存为 .xlsx（或 CSV UTF-8）再上传。"


def dry_run(item: Pending) -> None:
    _run(item, dry_run=True)


def apply(item: Pending) -> None:
    """Import the file for real, unless it was imported or cancelled meanwhile (checked under the write lock)."""
    _run(item, dry_run=False)


def cancel(item: Pending) -> None:
    with writing():
        item.meta = pending.reload(item).meta
        if not item.meta.get("batch_id"):
            pending.discard_file(item)
            item.meta["cancelled"] = True
            item.save()


def _run(item: Pending, *, dry_run: bool) -> None:
    max_bytes = int(current_app.config["MAX_CONTENT_LENGTH"])
    with writing() as db:
        if not dry_run:
            item.meta = pending.reload(item).meta
            if item.meta.get("batch_id") or item.meta.get("cancelled"):
                return
        meta = item.meta
        try:
            report = _foreign_devices(item, max_bytes)
            result = None
            if report is None:
                result = import_file(db, item.path, meta["kind"], department=meta["department"], user=meta["user"],
                                     default_crs=meta["crs"], dry_run=dry_run, max_bytes=max_bytes)
                report = result.report
            if result is not None and result.applied:
                db.commit()
            else:
                db.rollback()
        except RegistryError as exc:
            db.rollback()
            report, result = _file_error(item, "REQUEST", str(exc)), None
        except Exception as exc:  # a file the reader could not cope with must give a report, not a 500
            db.rollback()
            current_app.logger.exception("upload %s could not be imported", item.token)
            report, result = _file_error(item, "FILE_UNREADABLE", UNREADABLE.format(error=type(exc).__name__)), None
        meta["report"] = report.to_dict()
        meta["result"] = _result(result)
        if result is not None and result.applied:
            meta["batch_id"] = result.batch_id
            pending.discard_file(item)
        item.save()


def _result(result: ImportResult | None) -> dict[str, Any] | None:
    if result is None or not result.report.ok:
        return None
    return result.summary() | {"text": result.format_text()}


def _file_error(item: Pending, code: str, message: str) -> ValidationReport:
    report = ValidationReport(filename=item.meta["stored_name"], kind=item.meta["kind"])
    report.error(code, message)
    return report


def _foreign_devices(item: Pending, max_bytes: int) -> ValidationReport | None:
    """For a department user's violations or verifications: a report of rows naming devices not of its department.

    None when there is nothing to refuse on that ground (the import then reports everything else).
    """
    meta = item.meta
    if meta["kind"] == "devices" or meta.get("department_id") is None:
        return None
    parsed = parse_upload(item.path, meta["kind"], default_crs=meta["crs"], max_bytes=max_bytes)
    if parsed.frame is None or not parsed.report.ok:
        return None
    codes = parsed.frame["device_code"].tolist()
    own: set[str] = set()
    unique = sorted(set(codes))
    for start in range(0, len(unique), 5000):
        own.update(get_session().scalars(select(Device.device_code).where(
            Device.department_id == meta["department_id"], Device.device_code.in_(unique[start:start + 5000]))))
    header = parsed.columns.get("device_code", "设备编号")
    foreign = [(row, code) for row, code in zip(parsed.frame["row"].tolist(), codes) if code not in own]
    if not foreign:
        return None
    for row, code in foreign:
        parsed.report.error("NOT_OWN_DEVICE", NOT_OWN_DEVICE, row=int(row), column=header, value=code)
    return parsed.report
