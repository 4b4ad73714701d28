"""Template helpers and the security headers every response carries."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, g, request
from flask_login import current_user

from audit.registry.users import ROLE_ZH

from .access import is_decider
from .findings import rule_titles
from .i18n import LANGUAGES, bound, get_locale, gettext, term

# Tile hosts the map page may load images from, per MAP_TILES setting.
TILE_HOSTS = {
    "none": "",
    "osm": "https://tile.openstreetmap.org",
    "gaode": "https://*.is.autonavi.com",
    "tianditu": "https://*.tianditu.gov.cn",
}


def fmt_date(value: Any) -> str:
    """Dates as 2024-06-21, times to the minute; empty for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def fmt_yuan(value: Any) -> str:
    return "" if value is None else f"{float(value):,.2f}"


def signer(login: str | None) -> str:
    """A login name as it signs pages: 姓名（职务） where the user has them (looked up once per request)."""
    if not login:
        return ""
    if "signatures" not in g:
        from audit.registry.users import signatures

        from .database import get_session

        g.signatures = signatures(get_session())
    return g.signatures.get(login, login)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(_=gettext, term=term, LANGUAGES=LANGUAGES, is_decider=is_decider,
                                 ROLE_ZH=ROLE_ZH, rule_title=lambda code: rule_titles().get(code, code))
    app.jinja_env.filters.update(date=fmt_date, yuan=fmt_yuan, signer=signer)

    @app.context_processor
    def locale():  # type: ignore[no-untyped-def]
        # Templates imported without context (macros) use the globals _ and term instead.
        lang = get_locale()
        return {"locale": lang, "user": current_user._get_current_object(), **bound(lang)}

    @app.after_request
    def security_headers(response):  # type: ignore[no-untyped-def]
        tiles = TILE_HOSTS.get(str(app.config.get("MAP_TILES")), "")
        # Only the map page runs inline scripts (folium's); every other page runs files from /static only.
        scripts = "'self' 'unsafe-inline'" if g.get("inline_scripts") else "'self'"
        response.headers.setdefault("Content-Security-Policy", (
            f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: {tiles}".rstrip() + "; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'self'"))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static" and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response
