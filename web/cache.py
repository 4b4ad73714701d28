"""Responses built once per state of the registry and kept in the instance folder, so that every worker process
serves the same bytes until something changes (web/api /api/devices: 4 MB of GeoJSON for 10,000 devices).

The state is the largest id of each append-only record that can change what a response shows (change log, import
batches, audit runs, findings, reviews, decisions, ledger events) and the count of verdicts sent back to review: a
new upload, run, review or decision gives a new state, and the files of older states are removed when the first
response of the new one is written. A file is written to a temporary name and renamed, so a reader never sees half.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.registry.db import private_folder
from audit.registry.models import (AuditRun, ChangeLog, Decision, Finding, ImportBatch, LedgerEvent, Problem,
                                   ProblemReview)

FOLDER = "cache"


def registry_state(db: Session) -> tuple[Any, ...]:
    """What a cached response depends on, in one query."""
    maxima = [select(func.max(m.id)).scalar_subquery()
              for m in (ChangeLog, ImportBatch, AuditRun, Finding, ProblemReview, Decision, LedgerEvent)]
    stale = select(func.count(Problem.id)).where(Problem.stale.is_(True)).scalar_subquery()
    return tuple(db.execute(select(*maxima, stale)).one())


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:24]


def cached(db: Session, name: str, key: Any, build: Callable[[], bytes]) -> bytes:
    """The response `name` for `key` (what the request asked, who asks) in the current state: read from the
    instance folder, or built and kept there."""
    folder = private_folder(Path(current_app.instance_path) / FOLDER)
    state = _digest([db.get_bind().url.render_as_string(hide_password=True), registry_state(db)])
    path = folder / f"{name}-{state}-{_digest(key)}.json"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    body = build()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
    tmp.replace(path)
    for old in folder.glob(f"{name}-*.json"):
        if not old.name.startswith(f"{name}-{state}-"):
            old.unlink(missing_ok=True)
    return body
