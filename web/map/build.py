"""The folium map of the devices: every asset from /static, one clustered layer per finding group.

Markers carry only [lat, lon, device id, severity index]; a popup is fetched from /map/popup/<id> when opened, so
a map of 10,000 devices stays small. Text that folium inserts as HTML (tooltips) is escaped here; the legend and
the township names are drawn by map.js from data (as text, never as HTML).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import folium
from branca.element import MacroElement
from folium.template import Template
import numpy as np
import shapely
from flask import url_for
from folium.plugins import FastMarkerCluster, HeatMap
from markupsafe import escape
from shapely.geometry import mapping, shape

from geo.crs import wgs84_to_gcj02
from geo.density import count_in_areas

from ..findings import GROUPS, SEVERITIES, DeviceFindings

NO_FINDING = len(SEVERITIES)  # severity index of a device with no open finding
COLOURS = ["#c62828", "#ef6c00", "#f9a825", "#2e7d32"]  # by severity index (map.js colours the markers alike)
BOUNDARY_COLOUR = "#1d4f91"
DENSITY_COLOUR = "#1d4f91"
DENSITY_STEPS = 5
ROAD_COLOUR = "#8d6e63"
HEAT_COLOURS = ["#0000ff", "#00ffff", "#00ff00", "#ffff00", "#ff0000"]  # leaflet.heat's default gradient
CHINA_CENTRE = (35.0, 105.0)
MAX_ZOOM = 18


def _static(path: str) -> str:
    return url_for("static", filename=f"vendor/{path}")


def _local(element: Any, js: Iterable[tuple[str, str]], css: Iterable[tuple[str, str]] = ()) -> Any:
    """Point an element's JS/CSS links at the copies in web/static/vendor instead of a CDN."""
    element.default_js = [(name, _static(path)) for name, path in js]
    element.default_css = [(name, _static(path)) for name, path in css]
    return element


LEAFLET_JS = [("leaflet", "leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "leaflet/leaflet.css")]
CLUSTER_JS = [("markerclusterjs", "leaflet.markercluster/leaflet.markercluster.js")]
CLUSTER_CSS = [("markerclustercss", "leaflet.markercluster/MarkerCluster.css"),
               ("markerclusterdefaultcss", "leaflet.markercluster/MarkerCluster.Default.css")]
HEAT_JS = [("leaflet-heat.js", "leaflet.heat/leaflet-heat.js")]


@dataclass
class Tiles:
    """A base map: 'none' (blank), 'osm', 'gaode' (GCJ-02: points are converted) or 'tianditu' (needs a key)."""

    name: str
    key: str = ""

    @property
    def gcj02(self) -> bool:
        return self.name == "gaode"

    @property
    def usable(self) -> bool:
        return self.name in ("none", "osm", "gaode") or (self.name == "tianditu" and bool(self.key))

    def layers(self) -> list[dict[str, Any]]:
        """The tile layers as Leaflet takes them: url template, attribution, subdomains, name, overlay."""
        if self.name == "osm":
            return [{"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "name": "OpenStreetMap", "subdomains": "abc",
                     "attribution": "© OpenStreetMap contributors", "overlay": False}]
        if self.name == "gaode":
            return [{"url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}"
                            "&z={z}", "attribution": "© 高德地图 AutoNavi", "name": "高德地图", "subdomains": "1234",
                     "overlay": False}]
        if self.name == "tianditu" and self.key:
            base = "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}" \
                   "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
            return [{"url": base.format(s="{s}", layer=layer, key=self.key), "attribution": "© 天地图",
                     "name": f"天地图 {layer}", "subdomains": "01234567", "overlay": layer == "cva"}
                    for layer in ("vec", "cva")]
        return []

    def add_to(self, m: folium.Map) -> None:
        for layer in self.layers():
            folium.TileLayer(layer["url"], attr=layer["attribution"], name=layer["name"], subdomains=layer["subdomains"],
                             max_zoom=MAX_ZOOM, control=False, overlay=layer["overlay"]).add_to(m)


@dataclass
class MapDevice:
    id: int
    lon: float
    lat: float
    findings: DeviceFindings | None
    unassessed: bool = False  # with a cannot-assess finding in the current run (data to supply)

    @property
    def severity_index(self) -> int:
        if self.findings is None or self.findings.worst is None:
            return NO_FINDING
        return SEVERITIES.index(self.findings.worst)


@dataclass
class MapData:
    devices: list[MapDevice]
    boundaries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (department, GeoJSON geometry)
    areas: Any = None  # GeoDataFrame name/geometry in WGS-84, or None
    roads: Any = None  # GeoDataFrame name/geometry (lines) in WGS-84, or None
    focus: int | None = None
    home: tuple[float, float, float, float] | None = None  # where the map opens: (west, south, east, north), WGS-84


NONE_BIT = len(GROUPS)  # the 无问题 entry
DATA_BIT = len(GROUPS) + 1  # the 待补报资料 entry: devices with a request for data


def group_mask(findings: DeviceFindings | None, unassessed: bool = False) -> int:
    """Bit i set when the device has an open finding of the i-th group of GROUPS, DATA_BIT when it has a request for
    data; 0 for neither."""
    order = list(GROUPS.values())
    bits = 0 if findings is None else sum(1 << order.index(g) for g in findings.groups if g in order)
    return bits | (1 << DATA_BIT if unassessed else 0)


class GroupFilter(MacroElement):
    """Connects the layer control's group entries to the cluster layer (camauditMap.connect in map.js)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        camauditMap.connect({{ this._parent.get_name() }}, {{ this.cluster.get_name() }}, [
            {%- for bit, layer in this.toggles %}[{{ bit }}, {{ layer.get_name() }}]{{ "," if not loop.last }}{% endfor -%}
        ], {{ this.none_bit }}, {{ this.data_bit }});
        {% endmacro %}
    """)

    def __init__(self, cluster: Any, toggles: list[tuple[int, Any]]) -> None:
        super().__init__()
        self._name = "GroupFilter"
        self.cluster = cluster
        self.toggles = toggles
        self.none_bit = NONE_BIT
        self.data_bit = DATA_BIT


class Legend(MacroElement):
    """The legend of every layer (camauditMap.legend in map.js): an entry is shown while its layer is on."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        camauditMap.legend({{ this._parent.get_name() }}, [
            {%- for layer, entry in this.entries %}[{{ layer.get_name() if layer else "null" }}, {{ entry|tojson }}]{{ "," if not loop.last }}{% endfor -%}
        ]);
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()
        self._name = "Legend"
        self.entries: list[tuple[Any, dict[str, Any]]] = []

    def add(self, layer: Any, entry: dict[str, Any]) -> None:
        self.entries.append((layer, entry))


class Labels(MacroElement):
    """Names written on the map at given points (township names), added to a layer (camauditMap.labels)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        camauditMap.labels({{ this._parent.get_name() }}, {{ this.points|tojson }});
        {% endmacro %}
    """)

    def __init__(self, points: list[list[Any]]) -> None:
        super().__init__()
        self._name = "Labels"
        self.points = points


def _converter(tiles: Tiles) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    if tiles.gcj02:
        return wgs84_to_gcj02
    return lambda lon, lat: (np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


# Outlines are drawn simplified to about 10 m with coordinates to about 1 m: enough on screen, far smaller.
SIMPLIFY_DEG = 1e-4
PRECISION_DEG = 1e-5


def _geometry(geom: Any, convert: Callable[..., tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    shp = shape(geom) if isinstance(geom, dict) else geom
    moved = shapely.transform(shp, lambda xy: np.column_stack(convert(xy[:, 0], xy[:, 1])))
    return mapping(shapely.set_precision(shapely.simplify(moved, SIMPLIFY_DEG), PRECISION_DEG))


def build_map(data: MapData, tiles: Tiles, labels: Callable[[str], str]) -> folium.Map:
    """labels: translates the map's own words (layer names, units) into the current language."""
    convert = _converter(tiles)
    lon = np.array([d.lon for d in data.devices], dtype=float)
    lat = np.array([d.lat for d in data.devices], dtype=float)
    x, y = convert(lon, lat) if len(lon) else (lon, lat)
    x, y = np.round(x, 6), np.round(y, 6)

    m = _local(folium.Map(location=CHINA_CENTRE, zoom_start=4, tiles=None, prefer_canvas=True, control_scale=True,
                          width="100%", height="100%"), LEAFLET_JS, LEAFLET_CSS)
    m.options["maxZoom"] = MAX_ZOOM  # clustering needs it; without tiles folium leaves it unset
    tiles.add_to(m)
    legend = Legend()
    legend.add(None, {"kind": "dots", "label": labels("设备（颜色为最严重的未结问题）"),
                      "items": [[c, labels(s)] for c, s in zip(COLOURS, [*SEVERITIES, "无问题"])]})
    legend.add(None, {"kind": "cluster", "label": labels("聚合点：数字为设备台数，颜色为其中最严重的问题")})
    if data.areas is not None and len(data.areas):
        _add_density(m, data.areas, lon, lat, convert, labels, legend)
    if data.roads is not None and len(data.roads):
        _add_roads(m, data.roads, lon, lat, convert, labels, legend)
    if data.boundaries:
        # Drawn as outlines (lines), so that only the line itself takes the mouse: the township shading inside
        # keeps its tooltip while this layer is on.
        layer = folium.FeatureGroup(name=labels("辖区边界"), show=True)
        shared: dict[str, tuple[list[str], dict[str, Any]]] = {}  # departments sharing one outline draw it once
        for name, geom in data.boundaries:
            shared.setdefault(json.dumps(geom, sort_keys=True), ([], geom))[0].append(name)
        for names, geom in shared.values():
            folium.GeoJson({"type": "Feature", "properties": {"label": str(escape("、".join(names)))},
                            "geometry": _geometry(shape(geom).boundary, convert)},
                           style_function=lambda _f: {"color": BOUNDARY_COLOUR, "weight": 2.5, "dashArray": "6 4"},
                           tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False)).add_to(layer)
        layer.add_to(m)
        legend.add(layer, {"kind": "line", "colour": BOUNDARY_COLOUR, "dash": "6 4", "label": labels("辖区边界"),
                           "note": "、".join(n for names, _ in shared.values() for n in names)})

    # One cluster layer holds every device once; the layer control's group entries filter it (map.js), so a
    # device with findings in several groups is neither drawn twice nor hidden under another group's clusters.
    names = [*GROUPS.values(), "无问题", "待补报资料"]
    rows = [[float(y[i]), float(x[i]), d.id, d.severity_index, group_mask(d.findings, d.unassessed)]
            for i, d in enumerate(data.devices)]
    cluster = _local(FastMarkerCluster(rows, callback="camauditMap.marker", control=False,
                                       icon_create_function="camauditMap.clusterIcon", chunkedLoading=True,
                                       showCoverageOnHover=False, maxClusterRadius=60,
                                       disableClusteringAtZoom=MAX_ZOOM - 1), CLUSTER_JS, CLUSTER_CSS)
    cluster.add_to(m)
    toggles = []
    for bit, name in enumerate(names):
        count = (sum(1 for r in rows if not r[4] & ~(1 << DATA_BIT)) if bit == NONE_BIT
                 else sum(1 for r in rows if (r[4] >> bit) & 1))
        layer = folium.FeatureGroup(name=f"{labels(name)}（{count}）", show=True)
        layer.add_to(m)
        toggles.append((bit, layer))
    GroupFilter(cluster, toggles).add_to(m)
    if len(lon):
        heat = _local(HeatMap(np.column_stack([y, x]).tolist(), name=labels("设备热力图"), show=False, radius=18,
                              blur=20), HEAT_JS)
        heat.add_to(m)
        legend.add(heat, {"kind": "ramp", "colours": HEAT_COLOURS, "label": labels("设备热力图"),
                          "ends": [labels("稀"), labels("密")]})
    folium.LayerControl(collapsed=False).add_to(m)
    legend.add_to(m)

    focus = next((i for i, d in enumerate(data.devices) if d.id == data.focus), None)
    if focus is not None:
        m.location, m.options["zoom"] = [float(y[focus]), float(x[focus])], MAX_ZOOM - 1
    elif data.home is not None:
        west, south, east, north = data.home
        (gx, gy) = convert(np.array([west, east]), np.array([south, north]))
        m.fit_bounds([[float(gy[0]), float(gx[0])], [float(gy[1]), float(gx[1])]], padding=(20, 20))
    elif len(lon):
        m.fit_bounds([[float(y.min()), float(x.min())], [float(y.max()), float(x.max())]], padding=(20, 20))
    return m


def density_opacity(share: float) -> float:
    """Fill opacity of a township whose density is `share` (0–1) of the densest one's."""
    return round(0.05 + 0.45 * share, 3)


def _add_density(m: folium.Map, areas: Any, lon: np.ndarray, lat: np.ndarray, convert: Callable[..., Any],
                 labels: Callable[[str], str], legend: Legend) -> None:
    """Township/area polygons shaded by devices per km², and the townships' names as their own layer; neither when
    the devices shown are all elsewhere (another county's registry on the same server)."""
    counts = count_in_areas(lon, lat, areas)
    if len(lon) and not counts["count"].sum():
        return
    top = float(np.nanmax(counts["per_km2"])) if len(counts) and counts["per_km2"].notna().any() else 0.0
    layer = folium.FeatureGroup(name=labels("乡镇设备密度"), show=True)
    unit = labels("台/平方公里")
    for name, count, per_km2, geom in zip(counts["name"], counts["count"], counts["per_km2"], counts.geometry):
        share = (float(per_km2) / top) if top > 0 else 0.0
        label = escape(f"{name}：{int(count)} · {float(per_km2):.2f} {unit}")
        folium.GeoJson({"type": "Feature", "properties": {"label": str(label)},
                        "geometry": _geometry(geom, convert)},
                       style_function=lambda _f, s=share: {"color": "#607d8b", "weight": 1, "fillColor": DENSITY_COLOUR,
                                                           "fillOpacity": density_opacity(s)},
                       tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False)).add_to(layer)
    layer.add_to(m)
    steps = [i / (DENSITY_STEPS - 1) for i in range(DENSITY_STEPS)]
    legend.add(layer, {"kind": "shades", "colour": DENSITY_COLOUR, "label": f"{labels('乡镇设备密度')}（{unit}）",
                       "items": [[density_opacity(s), f"{top * s:.2f}"] for s in steps]})
    names = layer_names(areas, convert)
    if names:
        group = folium.FeatureGroup(name=labels("乡镇名称"), show=True)
        Labels(names).add_to(group)
        group.add_to(m)
        legend.add(group, {"kind": "text", "sample": labels("乡镇"), "label": labels("乡镇（街道）名称，放大后显示")})


def layer_names(areas: Any, convert: Callable[..., Any]) -> list[list[Any]]:
    """[lat, lon, name] of each named area at a point inside it (in the tiles' datum)."""
    named = areas[areas["name"].notna() & ~areas.geometry.is_empty & areas.geometry.notna()]
    if not len(named):
        return []
    points = named.geometry.representative_point()
    x, y = convert(points.x.to_numpy(), points.y.to_numpy())
    return [[round(float(b), 6), round(float(a), 6), str(n)] for a, b, n in zip(x, y, named["name"])]


ROAD_MARGIN_DEG = 0.05  # roads drawn: those reaching within about 5 km of the devices shown


def _add_roads(m: folium.Map, roads: Any, lon: np.ndarray, lat: np.ndarray, convert: Callable[..., Any],
               labels: Callable[[str], str], legend: Legend) -> None:
    """The road network the spacing and density rules measure along: one layer, each road's name on hover. Only
    the roads near the devices shown are drawn (a province's network would make the page heavy)."""
    if len(lon):
        roads = roads.cx[lon.min() - ROAD_MARGIN_DEG:lon.max() + ROAD_MARGIN_DEG,
                         lat.min() - ROAD_MARGIN_DEG:lat.max() + ROAD_MARGIN_DEG]
    unnamed = labels("未命名道路")
    features = [{"type": "Feature", "properties": {"label": str(escape(name or unnamed))},
                 "geometry": _geometry(geom, convert)}
                for name, geom in zip(roads["name"], roads.geometry) if geom is not None and not geom.is_empty]
    if not features:  # no road near the devices shown (e.g. a department far from the network's area)
        return
    layer = folium.GeoJson({"type": "FeatureCollection", "features": features}, name=labels("路网"),
                           style_function=lambda _f: {"color": ROAD_COLOUR, "weight": 2, "opacity": 0.7},
                           tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False))
    layer.add_to(m)
    legend.add(layer, {"kind": "line", "colour": ROAD_COLOUR, "label": labels("路网（悬停显示道路名称）")})


def render_parts(m: folium.Map) -> dict[str, str]:
    """The map's <head> links, its <div> and its script, to place inside the site's own page."""
    root = m.get_root()
    root.render()
    return {"header": root.header.render(), "html": root.html.render(), "script": root.script.render()}
