"""GET /public/notice and /public/notice.<docx|xlsx>: devices in use, only what public_notice publishes.

The page is public and anonymous: search, pages of rows, and a map of every site found (positions to about
10 m, no codes or ids); the map is drawn by static/js/notice_map.js from the page's JSON data.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
from flask import Blueprint, abort, current_app, render_template, request

from audit.exports import ExportError
from audit.exports.public_notice import BASIS, TITLE, notice_rows
from geo.crs import wgs84_to_gcj02

from ..database import get_session
from ..documents.files import send_export
from ..i18n import term
from ..map.build import Tiles

bp = Blueprint("public", __name__, url_prefix="/public")
FORMATS = ("docx", "xlsx")
PER_PAGE = 50
SEARCHED = ("department", "road", "address", "direction", "device_type", "violation_kinds")


def _department() -> str | None:
    return request.args.get("department", "").strip() or None


def matches(row: dict[str, Any], text: str) -> bool:
    """The search box: department, road, site, direction, device type or the violations captured."""
    return any(text in str(row.get(k) or "") for k in SEARCHED)


def sites(rows: list[dict[str, Any]], tiles: Tiles) -> list[list[Any]]:
    """[lat, lon, department, road, direction, site, type, violations] of each row with a position, in the
    tiles' datum (GCJ-02 for 高德)."""
    located = [r for r in rows if r["lon"] is not None and r["lat"] is not None]
    lon = np.array([r["lon"] for r in located], dtype=float)
    lat = np.array([r["lat"] for r in located], dtype=float)
    if tiles.gcj02 and len(located):
        lon, lat = wgs84_to_gcj02(lon, lat)
    return [[round(float(y), 5), round(float(x), 5), r["department"], r["road"] or "", r["direction"] or "",
             r["address"] or "", term(r["device_type"]), r["violation_kinds"] or ""]
            for x, y, r in zip(lon, lat, located)]


@bp.get("/notice")
def notice():
    department = _department()
    search = request.args.get("q", "").strip()[:100]
    rows = notice_rows(get_session())
    departments = sorted({r["department"] for r in rows})
    if department is not None:
        if department not in departments:
            abort(404)
        rows = [r for r in rows if r["department"] == department]
    total_in_use = len(rows)
    if search:
        rows = [r for r in rows if matches(r, search)]
    pages = max(1, math.ceil(len(rows) / PER_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    tiles = Tiles(str(current_app.config["MAP_TILES"]), str(current_app.config.get("TIANDITU_KEY") or ""))
    return render_template("public/notice.html", rows=rows[(page - 1) * PER_PAGE:page * PER_PAGE],
                           first=(page - 1) * PER_PAGE + 1, found=len(rows), total=total_in_use, page=page,
                           pages=pages, search=search, departments=departments, department=department, title=TITLE,
                           basis=BASIS, formats=FORMATS, today=dt.date.today(), sites=sites(rows, tiles),
                           tile_layers=tiles.layers())


@bp.get("/notice.<fmt>")
def notice_file(fmt: str):
    if fmt not in FORMATS:
        abort(404)
    try:
        return send_export(get_session(), "public-notice", f".{fmt}", department=_department())
    except ExportError:  # no such department
        abort(404)
