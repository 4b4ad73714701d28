"""Failed logins slow down, per key, with a delay that grows instead of a lockout.

Every attempt is counted before its password is checked (audit.registry.logins.claim_attempt, a compare-and-set in
the database), against two keys: the address it comes from, and the account, or instead of the account the
browser that signed in to it before (a device cookie). An attacker who knows a name slows down only attempts from
browsers that never signed in as that user; the real user's browser keeps its own count. Unknown and known names
are counted alike, so the answers cannot tell them apart.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from audit.registry.logins import claim_attempt, forget_stale, release_attempt
from audit.registry.models import LoginThrottle

FREE_ATTEMPTS = 5  # per account or device; then each try waits
ADDRESS_FREE_ATTEMPTS = 20  # per address, across names
BASE_DELAY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(minutes=15)
FORGET_AFTER = dt.timedelta(hours=24)
DEVICE_COOKIE = "camaudit_device"
KEY_MAX = LoginThrottle.__table__.c.key.type.length


def delay_after(failures: int, free: int = FREE_ATTEMPTS) -> dt.timedelta:
    if failures < free:
        return dt.timedelta(0)
    return min(BASE_DELAY * 2 ** (failures - free), MAX_DELAY)


def keys(name: str, address: str | None, device: dict[str, Any] | None) -> list[tuple[str, int]]:
    """The keys an attempt counts against, with their free attempts."""
    account = f"device:{device['nonce']}" if device and device.get("name") == name else _key("account", name.casefold())
    return [(_key("address", address or "-"), ADDRESS_FREE_ATTEMPTS), (account, FREE_ATTEMPTS)]


def _key(kind: str, value: str) -> str:
    """kind:value, or where that is longer than the counter's column (a name no account has, typed or sent to
    fail), kind:sha256:digest of the value."""
    key = f"{kind}:{value}"
    if len(key) <= KEY_MAX:
        return key
    return f"{kind}:sha256:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"


def claim(session: Any, attempt: list[tuple[str, int]], now: dt.datetime) -> int:
    """Count the attempt against each key; the seconds to wait if one refuses (those counted are taken back).
    Counters forgotten by now are removed first."""
    forget_stale(session, now, FORGET_AFTER)
    counted = []
    for key, free in attempt:
        wait = claim_attempt(session, key, now, lambda n, free=free: delay_after(n, free), FORGET_AFTER)
        if wait:
            for done in counted:
                release_attempt(session, done, forget=False)
            return wait
        counted.append(key)
    return 0


def succeeded(session: Any, attempt: list[tuple[str, int]]) -> None:
    """A right password: the account (or device) starts afresh; the address only gets this attempt back."""
    for key, _ in attempt:
        release_attempt(session, key, forget=not key.startswith("address:"))


def device_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="camaudit-device")


def read_device(secret: str, cookie: str | None) -> dict[str, Any] | None:
    if not cookie:
        return None
    try:
        value = device_serializer(secret).loads(cookie)
    except BadSignature:
        return None
    return value if isinstance(value, dict) else None
