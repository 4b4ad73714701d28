"""Responses built once per state of the registry and kept in the instance folder, so that every worker process serves
the same bytes until something changes (web/api /api/devices: 4 MB of GeoJSON for 10,000 devices).

The state is the largest id of each append-only record that can change what a response shows (change log, import
batches, audit runs, findings, reviews, decisions, ledger events) and the count of verdicts sent back to review: a
new upload, run, review or decision gives a new state, and the files of older states are removed when the first
response of the new one is written (of one state, the ENTRIES newest keys of a response are kept). A file is written
to a temporary name and renamed, so a reader never sees half. Each is kept as built and gzip-compressed (18 MB of
GeoJSON for 50,000 devices, 1.6 MB compressed); /api/devices is served tagged with its state and key, so a browser
that holds it gets 304 (cached_response).

A value a request reads rather than sends (the device list's matching ids) is kept so too, and the last KEPT of them
are also kept decoded in each process (remembered).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, TypeVar

from flask import Response, current_app, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.registry.db import private_folder
from audit.registry.models import (AuditRun, ChangeLog, Decision, Finding, ImportBatch, LedgerEvent, Problem,
                                   ProblemReview)

FOLDER = "cache"
KEPT = 32  # values remembered decoded per process
ENTRIES = 256  # files kept per response and state (each text searched is a key of its own), the newest

T = TypeVar("T")
_remembered: OrderedDict[Path, Any] = OrderedDict()
_remembered_lock = threading.Lock()


def _state_query() -> Any:
    maxima = [select(func.max(m.id)).scalar_subquery()
              for m in (ChangeLog, ImportBatch, AuditRun, Finding, ProblemReview, Decision, LedgerEvent)]
    # Verdicts sent back to review (stale only counts where there is a verdict): on the index of verdicts, a range
    # of the reviewed problems instead of a scan of every problem (0.75 ms at 26,000 problems on SQLite).
    stale = select(func.count(Problem.id)).where(Problem.verdict.isnot(None), Problem.stale.is_(True)).scalar_subquery()
    return select(*maxima, stale)


_STATE = _state_query()  # built once: neither the statement nor its cache key is made again per request


def registry_state(db: Session) -> tuple[Any, ...]:
    """What a cached response depends on, in one query."""
    return tuple(db.execute(_STATE).one())


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:24]


def _write(path: Path, body: bytes) -> None:
    """Write to a temporary name of this process, then rename: a reader never sees half a file, and two workers
    building the same entry at once each rename a whole one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
    tmp.replace(path)


def _entry(db: Session, name: str, key: Any) -> tuple[Path, str]:
    """The file of the response `name` for `key` in the current state, and the state."""
    folder = private_folder(Path(current_app.instance_path) / FOLDER)
    state = _digest([db.get_bind().url.render_as_string(hide_password=True), registry_state(db)])
    return folder / f"{name}-{state}-{_digest(key)}.json", state


def remembered(db: Session, name: str, key: Any, build: Callable[[], bytes], load: Callable[[bytes], T]) -> T:
    """`cached` as a value (load: its bytes decoded), kept in this process while it is among the last KEPT used
    (two threads may both load a value missing here: the same one)."""
    path, state = _entry(db, name, key)
    with _remembered_lock:
        if path in _remembered:
            _remembered.move_to_end(path)
            return _remembered[path]
    value = load(_kept(path, name, state, build, gzipped=False))
    with _remembered_lock:
        _remembered[path] = value
        while len(_remembered) > KEPT:
            _remembered.popitem(last=False)
    return value


def _kept(path: Path, name: str, state: str, build: Callable[[], bytes], gzipped: bool) -> bytes:
    """The entry's bytes as built, or gzip-compressed (compressed once, the first time they are asked for so),
    built and kept when missing; the files of older states are removed then."""
    packed = path.with_name(path.name + ".gz")
    try:
        return (packed if gzipped else path).read_bytes()
    except FileNotFoundError:
        pass
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        body = build()
        _write(path, body)
        _prune(path.parent, name, state)
    if not gzipped:
        return body
    compressed = gzip.compress(body, compresslevel=6, mtime=0)
    _write(packed, compressed)
    return compressed


def _prune(folder: Path, name: str, state: str) -> None:
    """Remove the files of `name` of older states, and of this state all but the ENTRIES newest keys (a user
    searching many texts must not fill the disk before the next change)."""
    current: list[tuple[float, Path]] = []
    for old in folder.glob(f"{name}-*.json"):
        if not old.name.startswith(f"{name}-{state}-"):
            old.unlink(missing_ok=True)
            old.with_name(old.name + ".gz").unlink(missing_ok=True)
            continue
        try:
            current.append((old.stat().st_mtime, old))
        except FileNotFoundError:
            continue
    for _, old in sorted(current, key=lambda item: item[0], reverse=True)[ENTRIES:]:
        old.unlink(missing_ok=True)
        old.with_name(old.name + ".gz").unlink(missing_ok=True)


def cached(db: Session, name: str, key: Any, build: Callable[[], bytes]) -> bytes:
    """The response `name` for `key` (what the request asked, who asks) in the current state: read from the
    instance folder, or built and kept there."""
    path, state = _entry(db, name, key)
    return _kept(path, name, state, build, gzipped=False)


def cached_response(db: Session, name: str, key: Any, build: Callable[[], bytes], mimetype: str) -> Response:
    """`cached` as a response that browsers revalidate: tagged with the state and the key (304 when the client
    holds that tag), gzip-compressed when the client accepts it. The key holds who asks (their scope), so one
    user's tag never answers for another's devices; private: kept by the browser only, never by a proxy."""
    path, state = _entry(db, name, key)
    tag = path.stem.removeprefix(f"{name}-")  # the state and the key
    if tag in request.if_none_match:
        response = Response(status=304)
    else:
        gzipped = request.accept_encodings["gzip"] > 0
        response = Response(_kept(path, name, state, build, gzipped), mimetype=mimetype)
        if gzipped:
            response.content_encoding = "gzip"
    response.set_etag(tag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(["Accept-Encoding", "Cookie"])
    return response
