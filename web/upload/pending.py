"""Uploads waiting for confirmation: the file and its dry-run result under instance/uploads/<random token>/.

Only the server's user can read them: the folders are created 0700, the files 0600.
"""
from __future__ import annotations

import datetime as dt
import json
import os
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
        with private_file(tmp) as fh:
            fh.write(json.dumps(self.meta, ensure_ascii=False, default=str).encode("utf-8"))
        tmp.replace(self.folder / META)


def private_file(path: Path):  # type: ignore[no-untyped-def]
    """`path` opened for writing, created (or truncated) with mode 0600 whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)
    return os.fdopen(fd, "wb")


def safe_filename(name: str | None) -> str:
    """The uploaded file's own name (kept for the import batch), without path parts or characters Windows refuses."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = _UNSAFE.sub("_", base).strip(" .")[:120]
    return base or "upload"


def create(root: Path, upload: FileStorage, meta: dict[str, Any]) -> Pending:
    token = secrets.token_urlsafe(16)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = root / token
    folder.mkdir(mode=0o700)
    stored = safe_filename(upload.filename)
    with private_file(folder / stored) as fh:
        upload.save(fh)
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
