"""The audit in chunks of whole departments (audit.rules.engine.run_in_chunks), so that its peak memory grows with a
chunk's daily rows, not with the registry's.

The rules of reach "department" (audit.rules.base.Rule.reach) read a device, its records and its department's data
(the department's span of data, the days it reported, its department-level findings): they run on one chunk of
whole departments at a time, given that chunk's daily rows only and the audit's answer to "were any counts
imported". The rules of reach "audit" compare devices across departments (spacing, the peer rules): they run once
on every device, the peer rules on the service totals (audit.rules.peers.service_totals) each chunk computed.
The findings are exactly those of run_rules on every device and every row.

A department larger than the chunk is kept whole (its findings of the department, its reporting days need all its
rows): memory then grows with that department's rows. On PostgreSQL the next chunk's rows are read on a second
thread while the rules run on this one (rows_in_turn): the server's work hidden behind the rules', one more chunk
of rows in memory.
"""
from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from ..registry.daily import DailyRows
from .context import AuditContext
from .peers import given_service_totals, service_totals

CHUNK_DEVICES = 10_000  # devices of a chunk (whole departments): at a year of days, about 3.7M daily rows


@dataclass
class TotalsByDevice:
    """The service totals (audit.rules.peers.service_totals) of one pass over the chunks, by device id: a later pass
    over the same registry with the same statuses reads them instead of the rows of a chunk it needs no findings of."""

    frame: pd.DataFrame | None = None

    def keep(self, ids: pd.Series, totals: list[pd.DataFrame]) -> None:
        """Keep the totals of the chunks (each indexed by its devices' positions in `ids`)."""
        self.frame = pd.concat(totals).sort_index().set_axis(ids.to_numpy()) if totals else None

    def of(self, ids: pd.Series) -> pd.DataFrame:
        """The totals of these devices, in their order, indexed 0 … n − 1."""
        return self.frame.loc[ids.to_numpy()].reset_index(drop=True)


def rows_in_turn(rows_of: Callable[[np.ndarray], DailyRows], reads: Sequence[np.ndarray],
                 ahead: bool = False) -> Iterator[DailyRows]:
    """rows_of(ids) of each of `reads`, in turn. ahead: each read but the first starts on a second thread when the
    one before is handed over, so that the database reads it while the caller works (rows_of must be safe to call
    there: audit.registry.daily.rows_of_devices on PostgreSQL). Closing the iterator early waits for a read under
    way, so that nothing uses the connection after it."""
    if not ahead or len(reads) < 2:
        for ids in reads:
            yield rows_of(ids)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="camaudit-rows") as pool:
        pending = pool.submit(rows_of, reads[0])
        for ids in reads[1:]:
            rows = pending.result()
            pending = pool.submit(rows_of, ids)
            yield rows
            del rows
        yield pending.result()


def department_chunks(devices: pd.DataFrame, size: int) -> list[np.ndarray]:
    """Positions of the devices (ascending) in chunks of whole departments, packed in the order of the departments'
    names up to `size` devices; a department of more than `size` devices is a chunk of its own."""
    group, names = pd.factorize(devices["department"].fillna("").to_numpy(dtype=object), sort=True)
    counts = np.bincount(group, minlength=len(names))
    chunk_of = np.zeros(len(names), dtype=np.int64)
    chunk, filled = 0, 0
    for g, n in enumerate(counts.tolist()):
        if filled and filled + n > size:
            chunk, filled = chunk + 1, 0
        chunk_of[g] = chunk
        filled += n
    of_device = chunk_of[group]
    order = np.argsort(of_device, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(of_device[order])) + 1) if len(order) else []


def _of(frame: pd.DataFrame, codes: pd.Series) -> pd.DataFrame:
    return frame[frame["device_code"].isin(codes)]


def chunk_context(ctx: AuditContext, part: pd.DataFrame, rows: DailyRows) -> AuditContext:
    """The context of one chunk (`part`: its devices): its daily rows and its devices' records, and the audit's
    answer to whether any counts were imported."""
    codes = part["device_code"]
    return AuditContext(as_of=ctx.as_of, profile=ctx.profile, violations=rows,
                        verifications=_of(ctx.verifications, codes), status_history=_of(ctx.status_history, codes),
                        assessments=_of(ctx.assessments, codes), boundaries=ctx.boundaries, areas=ctx.areas,
                        roads=ctx.roads, counts_imported=ctx.has_counts())


def across_context(ctx: AuditContext, devices: pd.DataFrame, totals: list[pd.DataFrame] | None) -> AuditContext:
    """The context of the rules of reach "audit" on every device: no daily rows, the service totals of the chunks
    (`totals`, each indexed by its devices' positions) where given."""
    whole = dataclasses.replace(ctx, violations=DailyRows.empty(), counts_imported=ctx.has_counts(), cache={})
    if totals is not None:
        given_service_totals(whole, pd.concat(totals).sort_index().reset_index(drop=True) if totals
                             else service_totals(devices, whole))
    return whole


__all__ = ["CHUNK_DEVICES", "TotalsByDevice", "department_chunks", "chunk_context", "across_context"]
