"""GET /admin/users and the POSTs that change one user; each calls audit.registry.users in one transaction."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.registry import users
from audit.registry.logins import live_sessions
from audit.registry.models import Department, User

from ..access import roles_required
from ..database import get_session, writing
from ..i18n import gettext as _

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@roles_required("admin")
def index():
    db = get_session()
    rows = [(u, live_sessions(db, u.id)) for u in users.list_users(db)]
    departments = list(db.scalars(select(Department.name).order_by(Department.name)))
    return render_template("admin/users.html", rows=rows, roles=users.ROLES, departments=departments,
                           min_length=users.MIN_PASSWORD_LENGTH)


def _change(action: Callable[[Session], Any], success: str):  # type: ignore[no-untyped-def]
    with writing() as db:
        try:
            action(db)
        except users.UserError as exc:
            db.rollback()
            flash(str(exc), "error")
        else:
            db.commit()
            flash(success, "success")
    return redirect(url_for(".index"), code=303)


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.post("/users")
@roles_required("admin")
def add():
    form = request.form
    name = form.get("name", "")
    return _change(lambda db: users.add_user(db, name, form.get("role", ""), form.get("password", ""),
                                             form.get("department") or None, by=current_user.name,
                                             full_name=form.get("full_name"), title=form.get("title")),
                   _("已添加用户 {name}。", name=name.strip()))


@bp.post("/users/<int:user_id>/password")
@roles_required("admin")
def password(user_id: int):
    return _change(lambda db: users.set_password(db, _user(db, user_id), request.form.get("password", ""),
                                                 by=current_user.name),
                   _("已修改密码；该用户已登录的会话均已结束。"))


@bp.post("/users/<int:user_id>/labels")
@roles_required("admin")
def labels(user_id: int):
    return _change(lambda db: users.set_labels(db, _user(db, user_id), request.form.get("full_name", ""),
                                               request.form.get("title", ""), by=current_user.name),
                   _("已保存姓名和职务。"))


@bp.post("/users/<int:user_id>/disable")
@roles_required("admin")
def disable(user_id: int):
    return _change(lambda db: users.set_disabled(db, _user(db, user_id), True, by=current_user.name),
                   _("已停用该用户；其已登录的会话均已结束。"))


@bp.post("/users/<int:user_id>/enable")
@roles_required("admin")
def enable(user_id: int):
    return _change(lambda db: users.set_disabled(db, _user(db, user_id), False, by=current_user.name),
                   _("已启用该用户。"))


@bp.post("/users/<int:user_id>/remove")
@roles_required("admin")
def remove(user_id: int):
    return _change(lambda db: users.remove_user(db, _user(db, user_id), by=current_user.name), _("已删除该用户。"))
