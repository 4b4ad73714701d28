"""Running audit.registry.import_file for a pending upload: a dry run first, then the real import on confirm.

The file is read and validated in a child process (audit.intake.isolated: bounded in memory and time) while no
lock is held; only applying it takes the app's write lock, one upload at a time, each in its own transaction, so
two uploads never interleave, a file with any error changes nothing, and a review decision does not wait for a
parse. The dry run and the import run in a background thread after the request has answered; the report page
shows their progress (meta["state"]: checking or importing, then done).
"""
from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, current_app

from audit.intake.isolated import parse_isolated
from audit.intake.limits import ReadLimits
from audit.intake.report import ValidationReport
from audit.intake.upload import ParsedUpload
from audit.registry.store import ImportResult, RegistryError, import_file, upload_boundary

from ..database import get_session, writing
from . import pending
from .pending import Pending

UNREADABLE = "文件无法读取：{error}。请用 Excel 或 WPS 打开后另存为 .xlsx（或 CSV UTF-8）再上传。"
CHECKING, IMPORTING, DONE = "checking", "importing", "done"
RUNNING = (CHECKING, IMPORTING)
_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def start_dry_run(item: Pending) -> None:
    """Check the upload in the background; the report page shows it as checking until the report is saved."""
    item.meta |= {"state": CHECKING, "started": time.time()}
    item.save()
    _in_background(item, dry_run=True)


def start_import(item: Pending) -> bool:
    """Import the checked file for real in the background, unless it was imported, cancelled or is being imported
    (checked under the write lock); True if this request started it."""
    with writing():
        item.meta = pending.reload(item).meta
        if item.meta.get("batch_id") or item.meta.get("cancelled") or item.meta.get("state") in RUNNING:
            return False
        item.meta |= {"state": IMPORTING, "started": time.time()}
        item.save()
    _in_background(item, dry_run=False)
    return True


def _in_background(item: Pending, *, dry_run: bool) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    threading.Thread(target=_run_in_background, args=(app, item, dry_run), daemon=True,
                     name=f"upload-{'check' if dry_run else 'import'}-{item.token[:6]}").start()


def _run_in_background(app: Flask, item: Pending, dry_run: bool) -> None:
    with app.app_context():
        try:
            _run(item, dry_run=dry_run)
        except Exception:  # the page must leave the running state whatever happens
            app.logger.exception("upload %s could not be %s", item.token, "checked" if dry_run else "imported")
            _save(item, _file_error(item, "FILE_UNREADABLE", UNREADABLE.format(error="内部错误")), None)


def cancel(item: Pending) -> None:
    with writing():
        item.meta = pending.reload(item).meta
        if not item.meta.get("batch_id"):
            pending.discard_file(item)
            item.meta["cancelled"] = True
            item.save()


def limits() -> ReadLimits:
    return ReadLimits.from_settings(current_app.config, max_bytes=int(current_app.config["MAX_CONTENT_LENGTH"]))


def _slot() -> threading.BoundedSemaphore:
    """At most UPLOAD_WORKERS parsing processes at once (per app)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _slots_lock:
        return _slots.setdefault(id(app), threading.BoundedSemaphore(int(app.config["UPLOAD_WORKERS"])))


def parse(item: Pending) -> ParsedUpload:
    """Read and validate the pending file in a child process (no lock held)."""
    meta = item.meta
    boundary = upload_boundary(get_session(), meta["kind"], meta["department"])
    get_session().rollback()  # end the read transaction before waiting
    with _slot():
        return parse_isolated(item.path, meta["kind"], default_crs=meta["crs"], boundary=boundary, limits=limits(),
                              memory_mb=int(current_app.config["UPLOAD_WORKER_MEMORY_MB"]),
                              timeout=float(current_app.config["UPLOAD_PARSE_TIMEOUT"]), spool_dir=item.folder)


def _run(item: Pending, *, dry_run: bool) -> None:
    try:
        parsed = parse(item)
    except RegistryError as exc:
        _save(item, _file_error(item, "REQUEST", str(exc)), None)
        return
    try:
        _apply(item, parsed, dry_run)
    finally:
        parsed.discard()


def _apply(item: Pending, parsed: ParsedUpload, dry_run: bool) -> None:
    with writing() as db:
        item.meta = pending.reload(item).meta
        if item.meta.get("batch_id") or item.meta.get("cancelled"):
            if item.meta.get("state") in RUNNING:
                item.meta["state"] = DONE
                item.save()
            return
        meta = item.meta
        try:
            # The filing department: a department user's own; rows naming other departments' devices are refused.
            result = import_file(db, item.path, meta["kind"], department=meta["department"], user=meta["user"],
                                 default_crs=meta["crs"], dry_run=dry_run, parsed=parsed,
                                 partial=bool(meta.get("partial")),
                                 department_from_column=bool(meta.get("department_from_column")))
            report = result.report
            if result.applied:
                db.commit()
            else:
                db.rollback()
        except RegistryError as exc:
            db.rollback()
            report, result = _file_error(item, "REQUEST", str(exc)), None
        except Exception as exc:  # whatever the file does, the clerk gets a report, not a 500
            db.rollback()
            current_app.logger.exception("upload %s could not be imported", item.token)
            report, result = _file_error(item, "FILE_UNREADABLE", UNREADABLE.format(error=type(exc).__name__)), None
        _save(item, report, result)


def _save(item: Pending, report: ValidationReport, result: ImportResult | None) -> None:
    meta = item.meta
    meta["report"] = report.to_dict()
    meta["result"] = _result(result)
    meta["state"] = DONE
    if result is not None and result.applied:
        meta["batch_id"] = result.batch_id
        pending.discard_file(item)
    item.save()


def _result(result: ImportResult | None) -> dict[str, Any] | None:
    if result is None or not result.report.ok:
        return None
    return result.summary()


def _file_error(item: Pending, code: str, message: str) -> ValidationReport:
    report = ValidationReport(filename=item.meta["stored_name"], kind=item.meta["kind"])
    report.error(code, message)
    return report
