"""Who is signed in, and how often a sign-in failed: server-side session records and throttle counters.

A session is a random token in the user's (signed) cookie; the database keeps its sha256, so a stolen database does
not hand out sessions, and ending a session there ends it for every copy of the cookie. Throttle counters are
claimed with a compare-and-set UPDATE, so parallel attempts on SQLite and PostgreSQL alike count one by one.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import Department, LoginSession, LoginThrottle, User, lacks_department, sees_department, utcnow


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User, address: str | None = None) -> str:
    """A new session for `user`; the token to put in the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(token_hash=_digest(token), user_id=user.id, address=(address or "")[:64] or None))
    return token


@dataclass(frozen=True)
class SignedInUser:
    """The user of a live session as a request needs it (not an ORM object: nothing to build, track or flush)."""

    id: int
    name: str
    role: str
    department_id: int | None
    department_name: str | None

    @classmethod
    def of(cls, user: User) -> "SignedInUser":
        return cls(user.id, user.name, user.role, user.department_id, user.department.name if user.department else None)

    def sees_department(self, department_id: int | None) -> bool:
        return sees_department(self.role, self.department_id, department_id)


# One query on every request: the session, its user and the user's department's name. Built once, so that neither
# the statement nor its cache key is made again per request (plain columns: no ORM entities to load).
_SESSION_USER = (select(LoginSession.ended_at, LoginSession.created_at, User.id, User.name, User.role,
                        User.department_id, User.disabled_at, Department.name)
                 .join(User, User.id == LoginSession.user_id)
                 .outerjoin(Department, Department.id == User.department_id)
                 .where(LoginSession.token_hash == bindparam("token_hash")))


def session_user(session: Session, token: str, max_age: dt.timedelta | None = None) -> SignedInUser | None:
    """The user of a live session: not ended, not older than max_age, its user not disabled nor a department user
    without a department (lacks_department)."""
    found = session.execute(_SESSION_USER, {"token_hash": _digest(token)}).one_or_none()
    if found is None:
        return None
    ended_at, created_at, user_id, name, role, department_id, disabled_at, department_name = found
    if ended_at is not None:
        return None
    if max_age is not None and created_at + max_age < utcnow():
        return None
    if disabled_at is not None or lacks_department(role, department_id):
        return None
    return SignedInUser(user_id, name, role, department_id, department_name)


def end_session(session: Session, token: str, reason: str = "logout") -> None:
    session.execute(update(LoginSession).where(LoginSession.token_hash == _digest(token),
                                               LoginSession.ended_at.is_(None))
                    .values(ended_at=utcnow(), end_reason=reason))


def end_sessions(session: Session, user_id: int, reason: str) -> int:
    """End every live session of a user; how many there were."""
    result = session.execute(update(LoginSession).where(LoginSession.user_id == user_id,
                                                        LoginSession.ended_at.is_(None))
                             .values(ended_at=utcnow(), end_reason=reason))
    return result.rowcount or 0


def live_sessions(session: Session, user_id: int) -> int:
    return len(session.scalars(select(LoginSession.id).where(LoginSession.user_id == user_id,
                                                             LoginSession.ended_at.is_(None))).all())


def claim_attempt(session: Session, key: str, now: dt.datetime, delay_after: Callable[[int], dt.timedelta],
                  forget_after: dt.timedelta) -> int:
    """Count one attempt against `key` unless it must wait: 0 when counted (the caller may check a password),
    else the seconds to wait. Failures older than forget_after are forgotten. A compare-and-set on the failure
    count: two attempts never both take the last turn."""
    insert = (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)(LoginThrottle)
    insert = insert.values(key=key, failures=0).on_conflict_do_nothing(index_elements=["key"])
    session.execute(insert)
    for _ in range(20):
        row = session.execute(select(LoginThrottle.failures, LoginThrottle.last_failure_at)
                              .where(LoginThrottle.key == key)).one_or_none()
        if row is None:  # forgotten meanwhile by another attempt (forget_stale)
            session.execute(insert)
            continue
        failures, last = row
        fresh = last is None or now - last > forget_after
        if not fresh:
            wait = last + delay_after(failures) - now
            if wait > dt.timedelta(0):
                return max(1, int(wait.total_seconds() + 0.999))
        claimed = session.execute(update(LoginThrottle).where(LoginThrottle.key == key,
                                                              LoginThrottle.failures == failures)
                                  .values(failures=1 if fresh else failures + 1, last_failure_at=now))
        if claimed.rowcount == 1:
            return 0
    return 1


def forget_stale(session: Session, now: dt.datetime, forget_after: dt.timedelta) -> int:
    """Remove the counters whose last failure is older than forget_after (they count as none any more), so that
    attempts with ever new names or addresses do not fill the table; how many were removed."""
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < now - forget_after))
    return result.rowcount or 0


def release_attempt(session: Session, key: str, forget: bool) -> None:
    """After a right password: forget the key's failures, or only take back the attempt just counted."""
    if forget:
        session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                        .values(failures=0, last_failure_at=None))
    else:
        session.execute(update(LoginThrottle).where(LoginThrottle.key == key, LoginThrottle.failures > 0)
                        .values(failures=LoginThrottle.failures - 1))
