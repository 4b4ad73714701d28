"""POST /login and /logout (forms and JSON), GET /login, POST /lang."""
from __future__ import annotations

import secrets
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from audit.registry.logins import SignedInUser, end_session, start_session
from audit.registry.models import User, utcnow
from audit.registry.users import check_password, demo_accounts, hash_password, needs_rehash

from ..database import get_session, writing
from ..i18n import LANGUAGES
from ..i18n import gettext as _
from . import throttle
from .users import LoginUser

bp = Blueprint("auth", __name__)
DEVICE_COOKIE_AGE = 365 * 24 * 3600


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("camaudit-timing-equaliser")


def safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no control characters) is followed after login."""
    if target and target.isprintable() and not any(ch in target for ch in "\\\r\n\t"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("overview.index")


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _login_page(status: int = 200, **values):  # type: ignore[no-untyped-def]
    return render_template("auth/login.html", demo_accounts=demo_accounts(get_session()), **values), status


@bp.get("/login")
def login_form():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    return _login_page(next=request.args.get("next", ""))


@bp.post("/login")
def login():
    if request.is_json:
        body = request.get_json(silent=True)
        data = body if isinstance(body, dict) else {}
    else:
        data = request.form
    name = str(data.get("username") or "").strip()
    password = str(data.get("password") or "")
    device = throttle.read_device(current_app.secret_key, request.cookies.get(throttle.DEVICE_COOKIE))
    attempt = throttle.keys(name, request.remote_addr, device)
    with writing() as db:
        wait = throttle.claim(db, attempt, utcnow())
        db.commit()
    if wait:
        return _refuse(_("登录失败次数过多，请 {seconds} 秒后再试。", seconds=wait), 429)
    user = get_session().scalar(select(User).where(User.name == name)) if name else None
    if user is None or not check_password(user.password_hash, password):
        if user is None:
            check_password(_dummy_hash(), password)  # an unknown name takes as long as a known one
        return _refuse(_("用户名或密码错误。"), 401)
    if user.is_disabled:
        return _refuse(_("该账号已停用；请联系管理员。"), 403)
    if user.lacks_department:
        return _refuse(_("该账号未指定所属单位，不能登录；请联系管理员。"), 403)
    with writing() as db:
        user = db.get(User, user.id)
        throttle.succeeded(db, attempt)
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        token = start_session(db, user, request.remote_addr)
        db.commit()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(LoginUser(SignedInUser.of(user), token))
    if _wants_json():
        response = jsonify({"user": user.name, "role": user.role, "department_id": user.department_id})
    else:
        response = redirect(safe_next(data.get("next")))
    nonce = device["nonce"] if device and device.get("name") == user.name else secrets.token_urlsafe(12)
    cookie = throttle.device_serializer(current_app.secret_key).dumps({"name": user.name, "nonce": nonce})
    response.set_cookie(throttle.DEVICE_COOKIE, cookie, max_age=DEVICE_COOKIE_AGE, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def _refuse(message: str, status: int):
    if _wants_json():
        return jsonify({"error": message}), status
    flash(message, "error")
    return _login_page(status, next=request.form.get("next", ""), username=request.form.get("username", ""))


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        with writing() as db:
            end_session(db, current_user.token)
            db.commit()
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
