"""The signed-in user as Flask-Login sees it: a detached view of audit.users.User."""
from __future__ import annotations

import hashlib

from flask_login import AnonymousUserMixin, UserMixin
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from audit.registry.models import User

from ..database import get_session
from ..extensions import login_manager


class LoginUser(UserMixin):
    def __init__(self, user: User) -> None:
        self._user = user
        self.user_id = user.id
        self.name = user.name
        self.role = user.role
        self.department_id = user.department_id
        self.department_name = user.department.name if user.department else None

    def get_id(self) -> str:
        # A session ends when the password changes: the id carries a fingerprint of the hash.
        return f"{self.user_id}.{fingerprint(self._user.password_hash)}"

    def sees_department(self, department_id: int | None) -> bool:
        return self._user.sees_department(department_id)


class Anonymous(AnonymousUserMixin):
    name = None
    role = None
    department_id = None

    def sees_department(self, department_id: int | None) -> bool:
        return False


def fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@login_manager.user_loader
def load_user(token: str) -> LoginUser | None:
    user_id, _, mark = token.partition(".")
    if not user_id.isdigit():
        return None
    user = get_session().scalar(select(User).options(joinedload(User.department)).where(User.id == int(user_id)))
    if user is None or fingerprint(user.password_hash) != mark:
        return None
    return LoginUser(user)
