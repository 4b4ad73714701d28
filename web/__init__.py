"""The auditor's web application (Flask application factory). Views parse the request, call audit/geo, render."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from audit.registry.db import instance_path, private_folder
from audit.rules.parallel import audit_workers

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None: audit.db.database_url()
    "MAX_CONTENT_LENGTH": 20 * 2**20,  # largest accepted upload, bytes
    "ATTACHMENT_MAX_BYTES": 10 * 2**20,  # largest evidence file (photo, scan), bytes
    "ATTACHMENTS_FOLDER": None,  # None: the instance folder's attachments/
    "MAP_TILES": "none",  # none | osm | gaode | tianditu
    "TIANDITU_KEY": "",
    "AREAS_FILE": None,  # township/area polygons (GeoJSON …): density rule and map layer; relative to the project
    "AREAS_CRS": None,  # their CRS when the file does not say (e.g. GCJ02 for DataV outlines)
    "ROADS_FILE": None,  # road network (line GeoJSON …): spacing along the road, devices per km; relative as above
    "ROADS_CRS": None,  # its CRS when the file does not say (e.g. GCJ02 for 高德 roads)
    # Phases shown when no supervision plan is entered (the plan page replaces this setting):
    "SUPERVISION_PHASES": [],  # [{"name": "自查", "start": "2024-05-01", "end": "2024-06-30"}, …]
    "UPLOAD_MAX_AGE_HOURS": 24,  # pending uploads older than this are removed
    "DEVICES_PER_PAGE": 50,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # set True when served over HTTPS
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "SESSION_MAX_AGE_HOURS": 12,  # a login ends after this long even without logout (0: only by logout)
    "UPLOAD_WORKERS": 2,  # uploads parsed at once, each in its own process
    "UPLOAD_WORKER_MEMORY_MB": 4096,  # address space of a parsing process (0: no limit; Linux only)
    "UPLOAD_PARSE_TIMEOUT": 600,  # seconds a parsing process may take
    "AUDIT_WORKERS": None,  # processes running an audit's rules (None: audit.rules.parallel.audit_workers' default)
    # Reverse proxies in front of the app (nginx …) whose X-Forwarded-For/-Proto/-Host are believed: the client's
    # address then comes from them (login throttling, session records). 0: the address of the connection itself.
    "TRUSTED_PROXIES": 0,
    # READ_MAX_ROWS, READ_MAX_COLUMNS, READ_MAX_CELLS, READ_MAX_UNZIPPED_BYTES: audit.intake.limits
}


def _digits_up_to(n: int) -> str:
    """A pattern matching the decimal numbers 0..n (leading zeros allowed on the shorter ones)."""
    digits = str(n)
    parts = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):
        if d != "0":
            parts.append(digits[:i] + f"[0-{int(d) - 1}]" + rf"\d{{{len(digits) - i - 1}}}")
    return "(?:" + "|".join(parts + [digits]) + ")"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. Settings: DEFAULTS, then instance/web.cfg, then CAMAUDIT_* environment, then `config`."""
    app = Flask(__name__, instance_path=str(instance_path()), instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("web.cfg", silent=True)
    app.config.from_prefixed_env("CAMAUDIT")
    if config:
        app.config.update(config)
    private_folder(Path(app.instance_path))
    proxies = app.config["TRUSTED_PROXIES"]
    if not isinstance(proxies, int) or isinstance(proxies, bool) or proxies < 0:
        raise ValueError(f"设置 TRUSTED_PROXIES 的值 {proxies!r} 无效：应为 0 或代理服务器的层数（正整数）。")
    audit_workers(app.config["AUDIT_WORKERS"])  # refuses a bad setting at start, not at the first audit
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))

    from . import database, errors, templating
    from .access import MAX_ID
    from .extensions import csrf, login_manager

    class BoundedInt(IntegerConverter):
        """<int:…> matches only ids the database can hold: a larger number is no record (404), not a 500. The
        pattern admits only numbers up to MAX_ID, so that such a path matches no rule at all (a rule's value check
        comes after its method check, which would answer 405 where another method's rule has the same path)."""

        regex = _digits_up_to(MAX_ID)

        def __init__(self, url_map: Any, **kwargs: Any) -> None:
            super().__init__(url_map, **({"max": MAX_ID} | kwargs))

    app.url_map.converters["int"] = BoundedInt

    database.init_app(app)
    errors.init_app(app)  # its NUL check is the first of the request checks
    csrf.init_app(app)
    login_manager.init_app(app)
    _configure_login(app)
    templating.init_app(app)

    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .assessments import bp as assessments_bp
    from .attachments import bp as attachments_bp
    from .auth import bp as auth_bp
    from .devices import bp as devices_bp
    from .documents import bp as documents_bp
    from .ledger import bp as ledger_bp
    from .letters import bp as letters_bp
    from .map import bp as map_bp
    from .overview import bp as overview_bp
    from .plan import bp as plan_bp
    from .problems import bp as problems_bp
    from .public import bp as public_bp
    from .reports import bp as reports_bp
    from .review import bp as review_bp
    from .spotchecks import bp as spotchecks_bp
    from .todo import bp as todo_bp
    from .upload import bp as upload_bp

    for bp in (auth_bp, overview_bp, map_bp, devices_bp, upload_bp, review_bp, ledger_bp, documents_bp, public_bp,
               api_bp, admin_bp, attachments_bp, problems_bp, todo_bp, spotchecks_bp, plan_bp, reports_bp, letters_bp,
               assessments_bp):
        app.register_blueprint(bp)
    return app


def _instance_secret(folder: Path) -> str:
    """A random key kept in the instance folder, so sessions survive a restart."""
    private_folder(folder)
    path = folder / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


PUBLIC_ENDPOINTS = {"auth.login_form", "auth.login", "auth.set_language", "api.csrf_token", "public.notice",
                    "public.notice_file", "static"}


def _configure_login(app: Flask) -> None:
    from flask import jsonify, redirect, request, url_for
    from flask_login import current_user

    from .auth.users import Anonymous
    from .extensions import login_manager
    from .i18n import gettext

    login_manager.anonymous_user = Anonymous
    login_manager.session_protection = "basic"

    @login_manager.unauthorized_handler
    def unauthorized():  # type: ignore[no-untyped-def]
        if request.blueprint == "api" or request.is_json:
            return jsonify({"error": gettext("需要登录。")}), 401
        return redirect(url_for("auth.login_form", next=request.full_path.rstrip("?")))

    @app.before_request
    def require_login():  # type: ignore[no-untyped-def]
        # Every page needs a signed-in user unless listed as public: new views are closed by default.
        if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return None
