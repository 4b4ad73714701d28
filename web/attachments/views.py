"""GET /attachments/<id> (the file), /attachments/<id>/thumb; POST /attachments/device/<id> (add files).

A file is fetched under its device's department scoping: another department's file answers 404.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, abort, redirect, request, send_file
from flask_login import current_user

from audit.casework import attachments
from audit.registry.models import Attachment

from ..access import visible_device
from ..auth.views import safe_next
from ..database import apply_decision, get_session
from ..findings import device_label
from ..i18n import gettext as _
from ..i18n import term
from . import files

bp = Blueprint("attachments", __name__, url_prefix="/attachments")


def _visible(attachment_id: int) -> Attachment:
    db = get_session()
    attachment = db.get(Attachment, attachment_id)
    if attachment is None:
        abort(404)
    visible_device(db, attachment.device_id)
    return attachment


def _send(path, mimetype: str, *, download_name: str | None = None, inline: bool = True):  # type: ignore[no-untyped-def]
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=mimetype, conditional=True, max_age=86400)
    response.headers["Cache-Control"] = "private, max-age=86400"
    # The file is shown as itself, never run: no script, no plugin, no page around it.
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    if download_name:
        disposition = "inline" if inline else "attachment"
        response.headers["Content-Disposition"] = (f"{disposition}; filename=\"attachment{path.suffix}\"; "
                                                   f"filename*=UTF-8''{quote(download_name)}")
    return response


@bp.get("/<int:attachment_id>")
def download(attachment_id: int):
    """Images open in the browser; PDFs download (with the name they were given)."""
    attachment = _visible(attachment_id)
    return _send(attachments.file_of(files.folder(), attachment), attachment.mime, download_name=attachment.filename,
                 inline=attachment.kind == "image")


@bp.get("/<int:attachment_id>/thumb")
def thumb(attachment_id: int):
    attachment = _visible(attachment_id)
    return _send(attachments.thumb_of(files.folder(), attachment), "image/jpeg")


@bp.post("/device/<int:device_id>")
def add(device_id: int):
    """Files of a device with what they are for (the device's department or an auditor)."""
    device = visible_device(get_session(), device_id)
    given = files.uploads()
    purpose = request.form.get("purpose", "")
    note = request.form.get("note")
    apply_decision(lambda db: attachments.attach(db, files.folder(), given, device_id=device.id, purpose=purpose,
                                                 user=current_user.name, note=note, max_bytes=files.max_bytes()),
                   _("已为设备 {device} 上传附件 {n} 份（{purpose}）。", device=device_label(device), n=len(given),
                     purpose=term(purpose)))
    return redirect(safe_next(request.form.get("next")), code=303)
