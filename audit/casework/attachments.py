"""Evidence files of a device (一机一档附件): sign photos, publication screenshots, certificates, review documents,
the proof of a rectification (整改佐证材料) and the papers of a department's response.

Each file is checked by its content (audit.intake.filecheck), stored once in a folder under its SHA-256 (the same
photo given twice is kept once), with a thumbnail beside it, and recorded as an Attachment row: the device, what it
is for, who gave it and when, and the ledger step or response it came with. Rows are never edited or deleted.
Who may fetch a file is the device's department scoping, which the caller applies.
"""
from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..intake.filecheck import MAX_BYTES, CheckedFile, FileRefused, check, thumbnail
from ..registry.models import Attachment, ChangeLog, Device, LedgerEvent, LedgerItem, ProblemResponse
from .decisions import DecisionError

# What a file is for, as the dossier groups them (the registry fields each one proves).
PURPOSES = ("标识照片", "公布截图", "检定证书", "审核文书", "整改佐证材料", "说明材料", "现场检查照片", "其他")
PURPOSE_FIELDS = {  # the dossier section a purpose belongs to
    "审核文书": "review",
    "标识照片": "signage",
    "公布截图": "publication",
    "检定证书": "verification",
}
MAX_FILENAME = 120
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


class AttachmentError(DecisionError):
    """A file refused (by its content, its purpose or what it is attached to), with a message for the user."""


@dataclass(frozen=True)
class Upload:
    """One file as received: its bytes and the name it was sent under."""

    data: bytes
    filename: str


def clean_filename(name: str, extension: str) -> str:
    """The file's name as shown and downloaded: no folders, no characters Windows refuses, the extension its content
    has (a PNG sent as photo.jpg is kept as photo.png)."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    stem = _UNSAFE.sub("_", base.rsplit(".", 1)[0] if "." in base else base).strip(" ._") or "附件"
    return stem[:MAX_FILENAME - len(extension)] + extension


def blob_path(folder: Path, sha256: str, extension: str) -> Path:
    return Path(folder) / sha256[:2] / f"{sha256}{extension}"


def thumb_path(folder: Path, sha256: str) -> Path:
    return Path(folder) / sha256[:2] / f"{sha256}.thumb.jpg"


def file_of(folder: Path, attachment: Attachment) -> Path:
    return blob_path(folder, attachment.sha256, Path(attachment.filename).suffix.lower())


def thumb_of(folder: Path, attachment: Attachment) -> Path:
    return thumb_path(folder, attachment.sha256)


def _write_once(path: Path, data: bytes) -> None:
    """Write atomically unless a file is already there (content-addressed: same name, same bytes)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def checked_files(uploads: list[Upload], *, max_bytes: int = MAX_BYTES) -> list[CheckedFile]:
    """Every file checked before any is stored: one refused file refuses the lot, with every reason at once."""
    checked, refused = [], []
    for upload in uploads:
        try:
            checked.append(check(upload.data, upload.filename, max_bytes=max_bytes))
        except FileRefused as exc:
            refused.append(str(exc))
    if refused:
        raise AttachmentError("附件未上传：" + "；".join(refused))
    return checked


def attach(session: Session, folder: Path, uploads: list[Upload], *, device_id: int, purpose: str, user: str,
           note: str | None = None, ledger_item_id: int | None = None, ledger_event_id: int | None = None,
           response_id: int | None = None, max_bytes: int = MAX_BYTES) -> list[Attachment]:
    """Check and store files of a device (in the session's transaction; the caller commits).

    The files are checked first, all of them; then written to `folder` (by content hash, each at most once) and
    recorded. A refusal raises AttachmentError and records nothing. A file written for a transaction that is then
    rolled back stays in the folder unreferenced: it is only bytes under their own hash, never a record.
    """
    user = (user or "").strip()
    if not user:
        raise AttachmentError("请填写上传人。")
    if purpose not in PURPOSES:
        raise AttachmentError(f"附件用途“{purpose}”无效，应为：{'、'.join(PURPOSES)}。")
    if not uploads:
        raise AttachmentError("请选择要上传的文件。")
    device = session.get(Device, device_id)
    if device is None:
        raise AttachmentError(f"没有编号为 {device_id} 的设备。")
    if ledger_item_id is not None:
        item = session.get(LedgerItem, ledger_item_id)
        if item is None or item.device_id != device_id:
            raise AttachmentError(f"设备 {device.device_code} 的整改台账中没有第 {ledger_item_id} 项。")
    if ledger_event_id is not None:
        event = session.get(LedgerEvent, ledger_event_id)
        if event is None or event.item_id != ledger_item_id:
            raise AttachmentError("附件所属的整改台账办理记录不存在。")
    if response_id is not None:
        response = session.get(ProblemResponse, response_id)
        if response is None or response.problem.device_id != device_id:
            raise AttachmentError("附件所属的单位答复不存在。")
    checked = checked_files(uploads, max_bytes=max_bytes)
    rows = []
    for upload, info in zip(uploads, checked):
        _write_once(blob_path(folder, info.sha256, info.extension), upload.data)
        if not thumb_path(folder, info.sha256).exists():
            _write_once(thumb_path(folder, info.sha256), thumbnail(upload.data, info))
        row = Attachment(device_id=device_id, sha256=info.sha256, kind=info.kind, mime=info.mime, size=info.size,
                         width=info.width, height=info.height, pages=info.pages,
                         filename=clean_filename(upload.filename, info.extension), purpose=purpose,
                         note=(note or "").strip() or None, ledger_item_id=ledger_item_id,
                         ledger_event_id=ledger_event_id, response_id=response_id, user=user)
        session.add(row)
        rows.append(row)
    session.flush()
    for row in rows:
        session.add(ChangeLog(user=user, entity="attachment", entity_id=row.id, device_code=device.device_code,
                              action="attach", field="purpose", after=f"{purpose}：{row.filename}"))
    session.flush()
    return rows


def of_device(session: Session, device_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.device_id == device_id).order_by(Attachment.id)))


def by_purpose(attachments: list[Attachment]) -> dict[str, list[Attachment]]:
    out: dict[str, list[Attachment]] = {}
    for a in attachments:
        out.setdefault(a.purpose, []).append(a)
    return out


def listing(attachments: list[Attachment]) -> str:
    """Files in words, for documents: 标识照片：新标识.jpg（2025-07-03 clerk）；…"""
    return "；".join(f"{a.purpose}：{a.filename}（{a.at:%Y-%m-%d} {a.user}）" for a in attachments)


__all__ = ["PURPOSES", "PURPOSE_FIELDS", "AttachmentError", "Upload", "attach", "checked_files", "clean_filename",
           "file_of", "thumb_of", "of_device", "by_purpose", "listing"]
