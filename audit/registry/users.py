"""Users of camaudit and their roles: admin, auditor (all departments), department (own department only).

Passwords: at least MIN_PASSWORD_LENGTH characters and none of the shipped common passwords; stored as scrypt
with one of OWASP's recommended parameter sets (N=2^14, r=8, p=5: 16 MiB per check, so that parallel logins do
not exhaust a server's memory); a hash with older parameters is replaced at the next successful login.
Changing a password, disabling or removing a user ends all of the user's sessions (audit.registry.logins).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import secrets
import tomllib
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import PROJECT_ROOT
from .logins import end_sessions
from .models import ChangeLog, Department, LoginSession, User, utcnow

ROLES = ("admin", "auditor", "department")
ROLE_ZH = {"admin": "管理员", "auditor": "审查人员", "department": "部门填报人员"}
SCRYPT = {"n": 2**14, "r": 8, "p": 5}
MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = PROJECT_ROOT / "data" / "passwords" / "common-passwords.txt.gz"
DEMO_MANIFEST = PROJECT_ROOT / "data" / "demo" / "manifest.toml"  # its [users] are the demo logins
NAME_LENGTH = User.__table__.c.name.type.length
LABEL_LENGTH = User.__table__.c.full_name.type.length


class UserError(ValueError):
    pass


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def check_new_password(password: str) -> None:
    """Refuse a password that is short, common or of fewer than four different characters (UserError)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"密码至少 {MIN_PASSWORD_LENGTH} 位；建议用几个词和数字组成的长密码。")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(password)) < 4:
        raise UserError("密码太常见或太简单（在常用密码表中，或只由几个字符重复组成），容易被猜中；请换一个。")


def _encode(params: dict[str, int], salt: bytes, digest: bytes) -> str:
    return (f"scrypt${params['n']}:{params['r']}:{params['p']}$" + base64.b64encode(salt).decode() + "$"
            + base64.b64encode(digest).decode())


def _scrypt(password: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, maxmem=256 * 2**20, **params)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    return _encode(SCRYPT, salt, _scrypt(password, salt, SCRYPT))


def _parse(stored: str) -> tuple[dict[str, int], bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) == 3 and parts[0] == "scrypt":  # before 0004: N=2^14, r=8, p=1 and no parameters written
        return {"n": 2**14, "r": 8, "p": 1}, base64.b64decode(parts[1]), base64.b64decode(parts[2])
    if len(parts) == 4 and parts[0] == "scrypt":
        n, r, p = (int(x) for x in parts[1].split(":"))
        return {"n": n, "r": r, "p": p}, base64.b64decode(parts[2]), base64.b64decode(parts[3])
    return None


def check_password(stored: str, password: str) -> bool:
    try:
        parsed = _parse(stored)
    except ValueError:
        return False
    if parsed is None:
        return False
    params, salt, digest = parsed
    return hmac.compare_digest(_scrypt(password, salt, params), digest)


def needs_rehash(stored: str) -> bool:
    try:
        parsed = _parse(stored)
    except ValueError:
        return True
    return parsed is None or parsed[0] != SCRYPT


def _label(value: str | None, what: str) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > LABEL_LENGTH:
        raise UserError(f"{what}最多 {LABEL_LENGTH} 个字。")
    return value


def add_user(session: Session, name: str, role: str, password: str, department: str | None = None,
             by: str = "cli", *, full_name: str | None = None, title: str | None = None) -> User:
    name = name.strip()
    if not name or len(name) > NAME_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise UserError(f"用户名须为 1–{NAME_LENGTH} 个字符，不含空格。")
    if role not in ROLES:
        raise UserError(f"角色“{role}”无效，应为 {'、'.join(ROLES)}。")
    check_new_password(password)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserError(f"用户“{name}”已存在。")
    dept = None
    if role == "department":
        if not department:
            raise UserError("部门用户须用 --department 指明所属单位。")
        dept = session.scalar(select(Department).where(Department.name == department.strip()))
        if dept is None:
            raise UserError(f"没有名为“{department}”的单位；请先导入该单位的设备登记表。")
    user = User(name=name, role=role, department=dept, password_hash=hash_password(password),
                full_name=_label(full_name, "姓名"), title=_label(title, "职务"))
    session.add(user)
    session.flush()
    session.add(ChangeLog(user=by, entity="user", entity_id=user.id, action="create", field="role",
                          after=f"{name}:{role}" + (f"@{dept.name}" if dept else "")))
    return user


def signature(user: User) -> str:
    """How a person signs a decision or a document: 姓名（职务）, or the login name when no 姓名 is recorded."""
    name = user.full_name or user.name
    return f"{name}（{user.title}）" if user.title else name


def signatures(session: Session) -> dict[str, str]:
    """Login name → signature, for every user (a name that is not a user, such as "cli", signs as itself)."""
    return {u.name: signature(u) for u in session.scalars(select(User))}


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        raise UserError(f"没有用户“{name}”；用 camaudit user list 查看已有用户。")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.name)))


def _log(session: Session, user: User, action: str, by: str, before: str | None = None,
         after: str | None = None, field: str | None = None) -> None:
    session.add(ChangeLog(user=by, entity="user", entity_id=user.id, action=action, field=field, before=before,
                          after=after))


def set_password(session: Session, user: User, password: str, by: str = "cli") -> None:
    """A new password; every session of the user ends."""
    check_new_password(password)
    user.password_hash = hash_password(password)
    end_sessions(session, user.id, "password")
    _log(session, user, "password", by)


def set_labels(session: Session, user: User, full_name: str | None, title: str | None, by: str = "cli") -> None:
    """姓名 and 职务 (None leaves one as it is; '' clears it)."""
    for field, value, what in (("full_name", full_name, "姓名"), ("title", title, "职务")):
        if value is None:
            continue
        before, after = getattr(user, field), _label(value, what)
        if before != after:
            setattr(user, field, after)
            _log(session, user, "update", by, before, after, field)


def set_disabled(session: Session, user: User, disabled: bool, by: str = "cli") -> None:
    """Disable (sessions end at once, no new sign-in) or enable a user."""
    if disabled == user.is_disabled:
        return
    if disabled and user.role == "admin" and _active_admins(session) <= 1:
        raise UserError("这是最后一个可用的管理员，不能停用；请先添加另一个管理员。")
    user.disabled_at = utcnow() if disabled else None
    if disabled:
        end_sessions(session, user.id, "disabled")
    _log(session, user, "disable" if disabled else "enable", by)


def remove_user(session: Session, user: User, by: str = "cli") -> None:
    """Remove a user; its name stays in the change log and on every decision it made."""
    if user.role == "admin" and not user.is_disabled and _active_admins(session) <= 1:
        raise UserError("这是最后一个可用的管理员，不能删除；请先添加另一个管理员。")
    for record in session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)):
        session.delete(record)
    _log(session, user, "remove", by, before=f"{user.name}:{user.role}")
    session.flush()
    session.delete(user)


def _active_admins(session: Session) -> int:
    return len(session.scalars(select(User.id).where(User.role == "admin", User.disabled_at.is_(None))).all())


@lru_cache(maxsize=1)
def _demo_logins() -> tuple[str, tuple[str, ...]]:
    users = tomllib.loads(DEMO_MANIFEST.read_text(encoding="utf-8")).get("users", {})
    return users.get("password", ""), tuple(name for name, *_ in users.get("accounts", []))


def demo_accounts(session: Session) -> list[str]:
    """The demo logins that still have the published demo password (each stored hash is checked once per
    process): a server with these accounts is open to anyone who has read the README."""
    password, names = _demo_logins()
    if not password or not names:
        return []
    rows = session.execute(select(User.name, User.password_hash).where(User.name.in_(names),
                                                                       User.disabled_at.is_(None))).all()
    return sorted(name for name, stored in rows if _is_password(stored, password))


@lru_cache(maxsize=256)
def _is_password(stored: str, password: str) -> bool:
    return check_password(stored, password)
