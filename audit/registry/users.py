"""Users of camaudit and their roles: admin, auditor (all departments), department (own department only)."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .models import Base, ChangeLog, Department, utcnow

ROLES = ("admin", "auditor", "department")
ROLE_ZH = {"admin": "管理员", "auditor": "审查人员", "department": "部门填报人员"}
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD_LENGTH = 8


class UserError(ValueError):
    pass


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"), default=None)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    failed_logins: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, default=None)

    department: Mapped[Optional[Department]] = relationship()

    def sees_department(self, department_id: int | None) -> bool:
        return self.role in ("admin", "auditor") or (department_id is not None and department_id == self.department_id)


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
