"""A removed device's open rectification items (整改台账) are closed and its open problems resolved: nothing is left
to rectify on it.

Called wherever a device's status becomes 拆除: a removal decision (audit.casework.decisions.remove) and an
inventory upload (audit.registry.store.import_file). The closing is an event of its own on the item's record, with
the reason (LedgerItem.closed_reason, 设备已拆除) that tells it from a 销号 after a check; a device put back into use
later leaves the items closed. The problems are resolved as an audit of the removed device would resolve them
(设备已拆除), as of the removal's day but by no run (resolved_run_id None), so the problem lists, the suspension
proposals and the ledger's 复查 agree at once; a device put back into use keeps them resolved until an audit finds
them again (reopened, audit.casework.problems.file_observations).
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import CLOSED, DEVICE_REMOVED, ChangeLog, Device, LedgerEvent, LedgerItem, Problem

CHUNK = 5000


def settle_removed(session: Session, device_ids: Iterable[int], *, user: str, on: dt.date, basis: str
                   ) -> list[tuple[str, int]]:
    """What a removal settles for these devices as of `on`: their open ledger items closed (by `user`, on `basis`)
    and their open problems resolved. Returns (device code, item id) of the items closed."""
    ids = sorted(set(device_ids))
    closed = _close_items(session, ids, user=user, on=on, basis=basis)
    _resolve_problems(session, ids, on=on)
    return closed


def _close_items(session: Session, ids: list[int], *, user: str, on: dt.date, basis: str) -> list[tuple[str, int]]:
    """Close the open ledger items of these removed devices as of `on`, by `user`, on `basis` (the decision or
    the upload that removed them, kept as the closing's evidence). Returns (device code, item id) of the items
    closed."""
    # An upload may remove any number of devices: the IN lists go by chunks (bound parameter limits).
    rows = [row for start in range(0, len(ids), CHUNK) for row in session.execute(
        select(LedgerItem, Device.device_code).join(Device, Device.id == LedgerItem.device_id)
        .where(LedgerItem.device_id.in_(ids[start:start + CHUNK]), LedgerItem.status != CLOSED)
        .order_by(LedgerItem.id)).all()]
    note = f"{DEVICE_REMOVED}（{basis}）"
    for item, code in rows:
        session.add(LedgerEvent(item_id=item.id, user=user, from_status=item.status, to_status=CLOSED, note=note))
        session.add(ChangeLog(user=user, entity="ledger_item", entity_id=item.id, device_code=code, action="ledger",
                              field="status", before=item.status, after=f"{CLOSED}：{note}"))
        item.status, item.closed_on, item.closed_by = CLOSED, on, user
        item.close_evidence, item.closed_reason = basis, DEVICE_REMOVED
    items = [item.id for item, _ in rows]
    for start in range(0, len(items), CHUNK):
        session.execute(update(Problem).where(Problem.open_item_id.in_(items[start:start + CHUNK]))
                        .values(open_item_id=None).execution_options(synchronize_session=False))
    session.flush()
    return [(code, item.id) for item, code in rows]


def _resolve_problems(session: Session, ids: list[int], *, on: dt.date) -> None:
    """Resolve the open problems of these removed devices as of `on`, for that reason, by no run."""
    for start in range(0, len(ids), CHUNK):
        session.execute(update(Problem).where(Problem.device_id.in_(ids[start:start + CHUNK]),
                                              Problem.resolved_on.is_(None))
                        .values(resolved_on=on, resolved_reason=DEVICE_REMOVED)
                        .execution_options(synchronize_session=False))
    # The bulk UPDATE bypasses the identity map: loaded problems are read again on next access.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Problem):
            session.expire(obj)


__all__ = ["settle_removed"]
