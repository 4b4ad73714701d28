"""Repeated failed logins are slowed down: after FREE_ATTEMPTS failures, each further try waits a doubling delay."""
from __future__ import annotations

import datetime as dt

from audit.registry.models import User

FREE_ATTEMPTS = 5
BASE_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(minutes=15)


def delay_after(failures: int) -> dt.timedelta:
    if failures < FREE_ATTEMPTS:
        return dt.timedelta(0)
    return min(BASE_DELAY * 2 ** (failures - FREE_ATTEMPTS), MAX_DELAY)


def seconds_to_wait(user: User, now: dt.datetime) -> int:
    """How long this account must wait before its password is checked again (0: go ahead)."""
    if user.last_failed_at is None:
        return 0
    remaining = user.last_failed_at + delay_after(user.failed_logins) - now
    return max(0, int(remaining.total_seconds() + 0.999))


def record_failure(user: User, now: dt.datetime) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    user.last_failed_at = now


def record_success(user: User) -> None:
    user.failed_logins = 0
    user.last_failed_at = None
