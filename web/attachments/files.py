"""Where the evidence files live and how a request's files become audit uploads."""
from __future__ import annotations

from pathlib import Path

from flask import current_app, request

from audit.casework.attachments import Upload


def folder() -> Path:
    """ATTACHMENTS_FOLDER, else the instance folder's attachments/."""
    return Path(current_app.config.get("ATTACHMENTS_FOLDER") or Path(current_app.instance_path) / "attachments")


def max_bytes() -> int:
    return int(current_app.config["ATTACHMENT_MAX_BYTES"])


def uploads(field: str = "files") -> list[Upload]:
    """The files of a form field (empty file inputs are skipped)."""
    return [Upload(f.read(), f.filename or "") for f in request.files.getlist(field) if f and f.filename]
