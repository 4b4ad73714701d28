"""Users of camaudit and their roles: admin, auditor (all departments), department (own department only)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ChangeLog, Department, User

ROLES = ("admin", "auditor", "department")
ROLE_ZH = {"admin": "管理员", "auditor": "审查人员", "department": "部门填报人员"}
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD_LENGTH = 8


class UserError(ValueError):
    pass


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(stored: str, password: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def add_user(session: Session, name: str, role: str, password: str, department: str | None = None,
             by: str = "cli") -> User:
    name = name.strip()
    if role not in ROLES:
        raise UserError(f"角色“{role}”无效，应为 {'、'.join(ROLES)}。")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"密码至少 {MIN_PASSWORD_LENGTH} 位。")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserError(f"用户“{name}”已存在。")
    dept = None
    if role == "department":
        if not department:
            raise UserError("部门用户须用 --department 指明所属单位。")
        dept = session.scalar(select(Department).where(Department.name == department.strip()))
        if dept is None:
            raise UserError(f"没有名为“{department}”的单位；请先导入该单位的设备登记表。")
    user = User(name=name, role=role, department=dept, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    session.add(ChangeLog(user=by, entity="user", entity_id=user.id, action="create", field="role",
                          after=f"{name}:{role}" + (f"@{dept.name}" if dept else "")))
    return user
