"""Uploads waiting for confirmation: the file and its dry-run result under instance/uploads/<random token>/."""
from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.datastructures import FileStorage

TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")
META = "meta.json"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


@dataclass
class Pending:
    token: str
    folder: Path
    meta: dict[str, Any]

    @property
    def path(self) -> Path:
        return self.folder / self.meta["stored_name"]

    def save(self) -> None:
        tmp = self.folder / (META + ".tmp")
        tmp.write_text(json.dumps(self.meta, ensure_ascii=False, default=str), encoding="utf-8")
        tmp.replace(self.folder / META)


def safe_filename(name: str | None) -> str:
    """The uploaded file's own name (kept for the import batch), without path parts or characters Windows refuses."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = _UNSAFE.sub("_", base).strip(" .")[:120]
    return base or "upload"


def create(root: Path, upload: FileStorage, meta: dict[str, Any]) -> Pending:
    token = secrets.token_urlsafe(16)
    folder = root / token
    folder.mkdir(parents=True)
    stored = safe_filename(upload.filename)
    upload.save(folder / stored)
    pending = Pending(token, folder, meta | {"stored_name": stored, "created": dt.datetime.now().isoformat()})
    pending.save()
    return pending


def load(root: Path, token: str) -> Pending | None:
    if not TOKEN.match(token):
        return None
    folder = root / token
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Pending(token, folder, meta)


def reload(item: Pending) -> Pending:
    """The pending upload as now stored (another request may have applied or cancelled it)."""
    return load(item.folder.parent, item.token) or item


def discard_file(pending: Pending) -> None:
    pending.path.unlink(missing_ok=True)


def purge(root: Path, max_age_hours: float) -> None:
    """Remove pending uploads older than max_age_hours."""
    if not root.is_dir():
        return
    limit = time.time() - max_age_hours * 3600
    for folder in root.iterdir():
        if folder.is_dir() and TOKEN.match(folder.name) and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)
