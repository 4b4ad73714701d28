"""The rules of reach "department" run on chunks in worker processes (audit.rules.engine.run_in_chunks with
workers > 1): the machine's other cores run the rules of the chunks while this process reads the next chunk's rows.

Each worker is forked from camaudit's forkserver (audit.forkserver), is given the audit's context without daily rows
once, then for each chunk its devices and rows, and gives back each rule's findings and the chunk's service totals
(audit.rules.peers). At most `workers` chunks are out at a time (each worker holds one chunk's rows, this process the
next one's), and their results are taken in the chunks' order: the findings are those of the chunks run in turn.
A worker that dies (killed, out of memory) fails the audit with AuditWorkerError; an error in a rule reaches the
caller as raised; a worker whose audit process is gone exits. Nothing here touches the database.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Sequence

import pandas as pd

from ..forkserver import mp_context
from ..registry.daily import DailyRows
from .base import Rule
from .chunks import chunk_context
from .context import AuditContext
from .peers import service_totals

WORKERS_ENV = "CAMAUDIT_AUDIT_WORKERS"


class AuditWorkerError(RuntimeError):
    """A rule worker process ended without a result (message in Chinese); the audit stored nothing."""


def cores() -> int:
    """The cores this process may run on (its CPU affinity, where the platform says: a container's share)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def audit_workers(given: int | None = None) -> int:
    """The audit's rule workers: `given`, else CAMAUDIT_AUDIT_WORKERS, else 2 on a machine of two cores or more and
    1 (the rules in the calling process) on one core; ValueError (in Chinese) outside 1 … 64. Each worker holds one
    chunk's rows, so the audit's memory grows with their number."""
    value: Any = given
    if value is None:
        value = os.environ.get(WORKERS_ENV, "").strip() or (2 if cores() >= 2 else 1)
    try:
        count = int(value) if not isinstance(value, bool) else 0
    except ValueError:
        count = 0
    if not 1 <= count <= 64:
        raise ValueError(f"审查的并行进程数“{value}”无效：应为 1 至 64 之间的整数（{WORKERS_ENV}，或 camaudit audit "
                         "--workers；1 为不另开进程）。")
    return count


def _not_started(exc: OSError) -> AuditWorkerError:
    return AuditWorkerError(f"不能启动审查的计算进程（{type(exc).__name__}: {exc}），本次审查未完成，数据库未作任何改动。"
                            f"请设置 {WORKERS_ENV}=1（或 camaudit audit --workers 1）在本进程内审查，或请管理员检查系统"
                            "对进程数和共享内存（/dev/shm）的限制。")


_base: AuditContext | None = None
_rules: list[Rule] = []


def _start(base: AuditContext, rules: list[Rule]) -> None:
    global _base, _rules
    _base, _rules = base, rules
    parent = multiprocessing.parent_process()
    if parent is not None:  # the audit's process killed (SIGKILL, the out-of-memory killer): no orphan left running
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True, name="camaudit-parent").start()


def _exit_with(sentinel: Any) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _chunk(part: pd.DataFrame, rows: DailyRows, totals: bool) -> tuple[list[pd.DataFrame], pd.DataFrame | None]:
    assert _base is not None
    sub = chunk_context(_base, part, rows)
    found = [rule.run(part, sub) for rule in _rules]
    return found, service_totals(part, sub) if totals else None


class ChunkWorkers:
    """Worker processes running `rules` on chunks of the audit of `ctx` (its daily rows are not sent), and, where
    `totals`, each chunk's service totals. Use as a context manager; submit chunks, take results in order."""

    def __init__(self, ctx: AuditContext, rules: Sequence[Rule], workers: int, totals: bool) -> None:
        self.workers, self.totals = workers, totals
        base = dataclasses.replace(ctx, violations=DailyRows.empty(), counts_imported=ctx.has_counts(), cache={})
        try:
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp_context(), initializer=_start,
                                             initargs=(base, list(rules)))
        except OSError as exc:
            raise _not_started(exc) from exc
        self._out: deque[tuple[Any, Future]] = deque()

    def __enter__(self) -> ChunkWorkers:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def full(self) -> bool:
        """Whether as many chunks are out as there are workers (take one before submitting another)."""
        return len(self._out) >= self.workers

    def pending(self) -> int:
        return len(self._out)

    def submit(self, key: Any, part: pd.DataFrame, rows: DailyRows) -> None:
        try:
            future = self._pool.submit(_chunk, part, rows, self.totals)  # starts a worker while fewer are running
        except OSError as exc:
            raise _not_started(exc) from exc
        self._out.append((key, future))

    def take(self) -> tuple[Any, list[pd.DataFrame], pd.DataFrame | None]:
        """The oldest chunk's key, its rules' findings (in the rules' order) and its totals (None unless `totals`)."""
        key, future = self._out.popleft()
        try:
            found, totals = future.result()
        except BrokenProcessPool as exc:
            raise AuditWorkerError(
                "审查的计算进程意外退出（多为内存不足或被系统终止），本次审查未完成，数据库未作任何改动。"
                f"请减少并行进程数（{WORKERS_ENV}，或 camaudit audit --workers）或每批设备数（--chunk-devices）"
                "后重试。") from exc
        return key, found, totals


__all__ = ["AuditWorkerError", "ChunkWorkers", "WORKERS_ENV", "audit_workers"]
