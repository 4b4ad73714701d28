"""The signed-in user as Flask-Login sees it: a detached view of audit.registry.models.User and its session.

The session cookie holds only a random session token; every request looks it up in login_session, so logging
out, a new password or disabling the user ends the session on the server (audit.registry.logins).
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_login import AnonymousUserMixin, UserMixin

from audit.registry.logins import SignedInUser, session_user

from ..database import get_session
from ..extensions import login_manager


class LoginUser(UserMixin):
    def __init__(self, user: SignedInUser, token: str) -> None:
        self._user = user
        self.token = token
        self.user_id = user.id
        self.name = user.name
        self.role = user.role
        self.department_id = user.department_id
        self.department_name = user.department_name

    def get_id(self) -> str:
        return self.token

    def sees_department(self, department_id: int | None) -> bool:
        return self._user.sees_department(department_id)


class Anonymous(AnonymousUserMixin):
    name = None
    role = None
    department_id = None

    def sees_department(self, department_id: int | None) -> bool:
        return False


@login_manager.user_loader
def load_user(token: str) -> LoginUser | None:
    hours = float(current_app.config["SESSION_MAX_AGE_HOURS"])
    user = session_user(get_session(), token, dt.timedelta(hours=hours) if hours else None)
    return None if user is None else LoginUser(user, token)
