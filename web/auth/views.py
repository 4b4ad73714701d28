"""POST /login and /logout (forms and JSON), GET /login, POST /lang."""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from audit.registry.models import utcnow
from audit.registry.models import User
from audit.registry.users import check_password, hash_password

from ..database import get_session, writing
from ..i18n import LANGUAGES
from ..i18n import gettext as _
from . import throttle
from .users import LoginUser

bp = Blueprint("auth", __name__)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("camaudit-timing-equaliser")


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host) is followed after login."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith(("//", "/\\")):
            return target
    return url_for("overview.index")


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


@bp.get("/login")
def login_form():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", next=request.args.get("next", ""))


@bp.post("/login")
def login():
    if request.is_json:
        body = request.get_json(silent=True)
        data = body if isinstance(body, dict) else {}
    else:
        data = request.form
    name = str(data.get("username") or "").strip()
    password = str(data.get("password") or "")
    db = get_session()
    user = db.scalar(select(User).where(User.name == name)) if name else None
    now = utcnow()
    wait = throttle.seconds_to_wait(user, now) if user is not None else 0
    if wait:
        return _refuse(_("登录失败次数过多，请 {seconds} 秒后再试。", seconds=wait), 429)
    if user is None:
        check_password(_dummy_hash(), password)
        return _refuse(_("用户名或密码错误。"), 401)
    if not check_password(user.password_hash, password):
        with writing() as db:
            throttle.record_failure(user, now)
            db.commit()
        return _refuse(_("用户名或密码错误。"), 401)
    if user.failed_logins:
        with writing() as db:
            throttle.record_success(user)
            db.commit()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(LoginUser(user))
    if _wants_json():
        return jsonify({"user": user.name, "role": user.role, "department_id": user.department_id})
    return redirect(safe_next(data.get("next")))


def _refuse(message: str, status: int):
    if _wants_json():
        return jsonify({"error": message}), status
    flash(message, "error")
    return render_template("auth/login.html", next=request.form.get("next", ""),
                           username=request.form.get("username", "")), status


@bp.post("/logout")
def logout():
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    if _wants_json():
        return jsonify({"ok": True})
    return redirect(url_for("auth.login_form"))


@bp.post("/lang")
def set_language():
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
        g.pop("locale", None)
    return redirect(safe_next(request.form.get("next")))
