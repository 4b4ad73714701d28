"""Running audit.registry.import_file for a pending upload: a dry run first, then the real import on confirm.

Both run one at a time (the app's write lock), each in its own transaction, so two uploads never interleave;
a file with any error changes nothing.
"""
from __future__ import annotations

from typing import Any

from flask import current_app

from audit.intake.limits import ReadLimits
from audit.intake.report import ValidationReport
from audit.registry.store import ImportResult, RegistryError, import_file

from ..database import writing
from . import pending
from .pending import Pending

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
    limits = ReadLimits.from_settings(current_app.config, max_bytes=int(current_app.config["MAX_CONTENT_LENGTH"]))
    with writing() as db:
        if not dry_run:
            item.meta = pending.reload(item).meta
            if item.meta.get("batch_id") or item.meta.get("cancelled"):
                return
        meta = item.meta
        try:
            # The filing department: a department user's own; rows naming other departments' devices are refused.
            result = import_file(db, item.path, meta["kind"], department=meta["department"], user=meta["user"],
                                 default_crs=meta["crs"], dry_run=dry_run, limits=limits)
            report = result.report
            if result.applied:
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

