"""GET /map (the folium map, filters as query parameters) and GET /map/popup/<id> (a marker's popup)."""
from __future__ import annotations

import json
from typing import Any, Callable

import shapely
from flask import Blueprint, current_app, flash, g, render_template, request
from flask_login import current_user
from shapely.geometry import shape
from sqlalchemy import select

from audit.intake.columns import DEVICE_TYPES, STATUSES
from audit.registry.models import Device
from audit.registry.models import Finding
from audit.registry.ids import record_id

from ..access import is_decider, visible_device
from ..cache import cached
from ..database import get_session
from ..devices.filters import DeviceFilter
from ..devices.views import visible_departments
from ..findings import (GROUPS, SEVERITIES, current_condition, open_condition, open_findings, problems_of,
                        rule_titles, summarise)
from ..i18n import get_locale, gettext
from ..layers import configured_areas, configured_roads
from .build import MapData, MapDevice, Tiles, build_map, render_parts

bp = Blueprint("map", __name__, url_prefix="/map")


@bp.get("")
def index():
    g.inline_scripts = True  # folium's generated script
    db = get_session()
    filt = DeviceFilter.from_args(request.args)
    tiles = Tiles(str(current_app.config["MAP_TILES"]), str(current_app.config.get("TIANDITU_KEY") or ""))
    focus = request.args.get("focus", type=record_id)
    scope = (current_user.role, None if is_decider() else current_user.department_id)
    key = {"filter": filt.args(), "scope": scope, "focus": focus, "language": get_locale(),
           "tiles": [tiles.name, tiles.key], "areas": current_app.config.get("AREAS_FILE"),
           "roads": current_app.config.get("ROADS_FILE")}
    # The folium map is built once per registry state and kept for every worker (web.cache).
    built = json.loads(cached(db, "map", key, lambda: _build(db, filt, tiles, focus)))
    for message in built["flashes"]:
        flash(message, "error")
    return render_template("map/index.html", parts=built["parts"], filt=filt, shown=built["shown"], focus=focus,
                           without_coordinates=built["without_coordinates"], tiles=tiles,
                           departments=visible_departments(), types=DEVICE_TYPES, statuses=STATUSES,
                           severities=SEVERITIES, titles=rule_titles(), groups=GROUPS)


def _build(db: Any, filt: DeviceFilter, tiles: Tiles, focus: int | None) -> bytes:
    wanted = filt.finding_ids(db)
    rows = [r for r in db.execute(filt.apply(select(Device.id, Device.lon, Device.lat)).order_by(Device.id))
            if wanted is None or r.id in wanted]
    summary = summarise(db)
    unassessed = open_findings(db).unassessed_devices
    devices = [MapDevice(i, lon, lat, summary.get(i), i in unassessed) for i, lon, lat in rows
               if lon is not None and lat is not None]
    depts = [d for d in visible_departments() if d.boundary and filt.department_id in (None, d.id)]
    flashes: list[str] = []
    areas = _layer(configured_areas, gettext("乡镇（街道）边界"), flashes)
    data = MapData(devices, boundaries=[(d.name, d.boundary) for d in depts], areas=areas,
                   roads=_layer(configured_roads, gettext("路网"), flashes), focus=focus,
                   home=home_extent(filt.department_id, [d.boundary for d in depts], areas))
    parts = render_parts(build_map(data, tiles, gettext))
    return json.dumps({"parts": parts, "shown": len(devices), "without_coordinates": len(rows) - len(devices),
                       "flashes": flashes}, ensure_ascii=False).encode("utf-8")


def home_extent(department_id: int | None, boundaries: list[dict[str, Any]],
                areas: Any) -> tuple[float, float, float, float] | None:
    """Where the map opens: one department's jurisdiction, or for all departments the county (their boundaries
    together, else the township layer). None: around the devices shown (a department without a boundary)."""
    if boundaries:
        return tuple(shapely.union_all([shape(b) for b in boundaries]).bounds)  # type: ignore[return-value]
    if department_id is None and areas is not None and len(areas):
        return tuple(float(v) for v in areas.total_bounds)  # type: ignore[return-value]
    return None


def _layer(load: Callable[[], Any], name: str, flashes: list[str]) -> Any:
    """The configured layer, or None with a message when its file cannot be used (the map shows without it)."""
    try:
        return load()
    except ValueError as exc:
        flashes.append(gettext("{layer}图层未显示：{error}", layer=name, error=str(exc)))
        return None


@bp.get("/popup/<int:device_id>")
def popup(device_id: int):
    db = get_session()
    device = visible_device(db, device_id)
    findings = db.scalars(select(Finding).where(Finding.device_id == device.id, current_condition(db),
                                                open_condition()).order_by(Finding.rule)).all()
    return render_template("map/popup.html", device=device, findings=findings, titles=rule_titles(),
                           problems=problems_of(db, findings))
