"""The start method of camaudit's child processes (the upload reader, audit.intake.isolated; the audit's rule
workers, audit.rules.parallel): multiprocessing's forkserver, whose server imports their modules once, so that a
child costs no import and no thread of the caller is copied into it; spawn where the platform has no forkserver."""
from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
from typing import Any

PRELOAD = ["audit.intake.isolated", "audit.rules.parallel"]
_context: Any = None


def mp_context() -> Any:
    """The multiprocessing context every child is started from (one server for both kinds of child)."""
    global _context
    if _context is None:
        methods = multiprocessing.get_all_start_methods()
        _context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            _context.set_forkserver_preload(PRELOAD)
    return _context


def start() -> None:
    """Start the forkserver now (where it is the start method), so that its imports run while the caller works on;
    the first child then waits for nothing. Returns at once; a server already running is kept."""
    if mp_context().get_start_method() == "forkserver":
        multiprocessing.forkserver.ensure_running()
