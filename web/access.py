"""Who may see what: auditors and admins see every department; a department user only its own.

Anything of another department answers 404 (not 403), so ids cannot be probed.
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import Select

from audit.intake.columns import INT_MAX
from audit.registry.ids import record_id
from audit.registry.models import Device

F = TypeVar("F", bound=Callable[..., Any])
DECIDERS = ("admin", "auditor")
MAX_ID = INT_MAX  # the largest id an id column (INTEGER on PostgreSQL) holds: a larger one names nothing


def requested_id(value: str | None) -> int | None:
    """An id a request names: None where it names none; 404 where the value cannot be a record's id."""
    if value in (None, ""):
        return None
    found = record_id(value)
    if found is None:
        abort(404)
    return found


def roles_required(*roles: str) -> Callable[[F], F]:
    """Only these roles reach the view; others get 403 (the page exists but is not theirs)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def is_decider() -> bool:
    return current_user.is_authenticated and current_user.role in DECIDERS


def own_department_id() -> int | None:
    """The department a department user is confined to; None for users who see all."""
    return None if current_user.role in DECIDERS else current_user.department_id


def scope_devices(query: Select[Any]) -> Select[Any]:
    """Restrict a query over Device to what the current user may see."""
    if current_user.role in DECIDERS:
        return query
    return query.where(Device.department_id == current_user.department_id)


def check_department(department_id: int | None) -> None:
    """404 unless the current user sees this department."""
    if not current_user.sees_department(department_id):
        abort(404)


def visible_device(db: Any, device_id: int) -> Device:
    """The device, or 404 when it does not exist or belongs to a department the current user does not see."""
    device = db.get(Device, device_id)
    if device is None:
        abort(404)
    check_department(device.department_id)
    return device


def requested_department(value: str | None) -> int | None:
    """A department filter from the request: a department user may name only its own (else 404)."""
    if value in (None, ""):
        return own_department_id()
    dept_id = record_id(value)
    if dept_id is None:
        abort(404)
    check_department(dept_id)
    return dept_id
