"""Coordinate reference systems of device inventories and conversion to WGS-84.

Departments copy coordinates from GPS / 天地图 (WGS-84, CGCS2000), 高德/腾讯 (GCJ-02), 百度 (BD-09) or survey
data in CGCS2000 3-degree Gauss-Kruger zones. Everything is stored as WGS-84 longitude/latitude.

CGCS2000 is treated as identical to WGS-84: the two frames differ by a few centimetres, far below the accuracy of
any device coordinate. GCJ-02 and BD-09 have no EPSG code; they use the published forward formulas and an
iterated inverse (3 iterations, sub-millimetre against the forward formula). As is conventional, the GCJ-02
offset applies only inside China (here: the shipped outline, see `in_china`); points outside are left unchanged.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer

CHINA_OUTLINE = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "china_outline.geojson"

GK_ZONES = range(25, 46)  # CGCS2000 3-degree zones covering China: central meridians 75°E … 135°E
GK_EPSG_ZONE_PREFIXED = 4513  # EPSG:4513 = zone 25, easting with the zone number prefixed (25xxxxxx)
GK_EPSG_CENTRAL_MERIDIAN = 4534  # EPSG:4534 = CM 75°E, easting with 500 000 m false easting only


@dataclass(frozen=True)
class CrsSpec:
    """A coordinate system as declared by an inventory: kind, EPSG code when one exists, canonical label."""

    kind: str  # 'wgs84' | 'cgcs2000' | 'gcj02' | 'bd09' | 'gk'
    epsg: int | None
    label: str  # 'WGS84', 'CGCS2000', 'GCJ02', 'BD09', 'CGCS2000-3度带-39'

    @property
    def zone(self) -> int | None:
        """Gauss-Kruger 3-degree zone number (25–45), None for geographic systems."""
        if self.kind != "gk" or self.epsg is None:
            return None
        if self.epsg < GK_EPSG_CENTRAL_MERIDIAN:
            return self.epsg - GK_EPSG_ZONE_PREFIXED + GK_ZONES.start
        return self.epsg - GK_EPSG_CENTRAL_MERIDIAN + GK_ZONES.start


WGS84 = CrsSpec("wgs84", 4326, "WGS84")
CGCS2000 = CrsSpec("cgcs2000", 4490, "CGCS2000")
GCJ02 = CrsSpec("gcj02", None, "GCJ02")
BD09 = CrsSpec("bd09", None, "BD09")


def gk_spec(zone: int, zone_prefixed: bool = True) -> CrsSpec:
    """The CGCS2000 3-degree Gauss-Kruger zone `zone` (25–45); EPSG 4513–4533 if zone_prefixed else 4534–4554."""
    if zone not in GK_ZONES:
        raise ValueError(f"高斯-克吕格3度带带号 {zone} 超出范围：中国境内为 25–45 带（中央经线 75°E–135°E）。")
    base = GK_EPSG_ZONE_PREFIXED if zone_prefixed else GK_EPSG_CENTRAL_MERIDIAN
    return CrsSpec("gk", base + zone - GK_ZONES.start, f"CGCS2000-3度带-{zone}")


ACCEPTED_TEXT = (
    "WGS84（WGS-84、GPS、EPSG:4326）；CGCS2000（国家2000、2000国家大地坐标系、天地图、EPSG:4490）；"
    "GCJ02（GCJ-02、火星坐标、高德、腾讯）；BD09（BD-09、百度）；"
    "CGCS2000 高斯-克吕格3度带（如 CGCS2000-3度带-39、CGCS2000 GK3 39、GK3:39、EPSG:4513–4533 带号加前缀、"
    "EPSG:4534–4554 中央经线形式）"
)


def _key(text: str) -> str:
    key = unicodedata.normalize("NFKC", text).casefold()
    key = re.sub(r"[\s\-_—–－/()（）]+", "", key)
    for suffix in ("坐标系统", "坐标系", "坐标"):
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    return key


_NAMES = {
    WGS84: ("WGS84", "WGS-84", "WGS 1984", "EPSG:4326", "GPS"),
    CGCS2000: ("CGCS2000", "EPSG:4490", "国家2000", "2000国家大地坐标系", "天地图"),
    GCJ02: ("GCJ02", "GCJ-02", "火星坐标", "高德", "腾讯"),
    BD09: ("BD09", "BD-09", "百度"),
}
_BY_KEY = {_key(name): spec for spec, names in _NAMES.items() for name in names}
_GK_PATTERNS = (
    re.compile(r"^(?:cgcs2000)?(?:gk3|3度带|3°带|三度带):?(\d{2})带?$"),
    re.compile(r"^cgcs20003degreegausskrugerzone(\d{2})$"),  # pyproj / EPSG names
)
_GK_CM_PATTERN = re.compile(r"^cgcs20003degreegausskrugercm(\d{2,3})e$")
_EPSG_PATTERN = re.compile(r"^epsg:?(\d+)$")


def parse_crs(text: str | CrsSpec | None, default: str | None = None) -> CrsSpec:
    """The CrsSpec named by `text`; empty/None uses `default` (itself defaulting to WGS84).

    Case, spaces and dashes are ignored after NFKC normalisation. Raises ValueError (Chinese message) otherwise.
    """
    if isinstance(text, CrsSpec):
        return text
    if text is None or (not isinstance(text, str) and _is_missing(text)) or not str(text).strip():
        return WGS84 if default is None else parse_crs(default)
    key = _key(str(text))
    if key in _BY_KEY:
        return _BY_KEY[key]
    for pattern in _GK_PATTERNS:
        if m := pattern.match(key):
            return _gk_or_error(int(m.group(1)), text)
    if (m := _GK_CM_PATTERN.match(key)) and int(m.group(1)) % 3 == 0:
        return _gk_or_error(int(m.group(1)) // 3, text, zone_prefixed=False)
    if m := _EPSG_PATTERN.match(key):
        code = int(m.group(1))
        for spec in _NAMES:
            if spec.epsg == code:
                return spec
        if GK_EPSG_ZONE_PREFIXED <= code < GK_EPSG_ZONE_PREFIXED + len(GK_ZONES):
            return gk_spec(code - GK_EPSG_ZONE_PREFIXED + GK_ZONES.start, zone_prefixed=True)
        if GK_EPSG_CENTRAL_MERIDIAN <= code < GK_EPSG_CENTRAL_MERIDIAN + len(GK_ZONES):
            return gk_spec(code - GK_EPSG_CENTRAL_MERIDIAN + GK_ZONES.start, zone_prefixed=False)
    raise ValueError(f"无法识别的坐标系“{text}”。可填写：{ACCEPTED_TEXT}。")


def _gk_or_error(zone: int, text: object, zone_prefixed: bool = True) -> CrsSpec:
    if zone not in GK_ZONES:
        raise ValueError(f"坐标系“{text}”的带号 {zone} 超出范围：中国境内3度带为 25–45 带。可填写：{ACCEPTED_TEXT}。")
    return gk_spec(zone, zone_prefixed)


def _is_missing(value: object) -> bool:
    if value.__class__.__name__ in ("NAType", "NaTType"):
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def as_float_array(values) -> np.ndarray:
    """`values` (scalar, list, ndarray, pandas Series incl. nullable dtypes) as a float ndarray, NA → NaN."""
    if hasattr(values, "to_numpy"):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float)


# --- GCJ-02 / BD-09 (published formulas) -------------------------------------------------------------------------

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
INVERSE_ITERATIONS = 3


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 → GCJ-02 (unchanged outside China)."""
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    dlon, dlat = _gcj_offset(lon, lat)
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → WGS-84 by fixed-point iteration on the forward formula (unchanged outside China)."""
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    inside = in_china(lon, lat)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(INVERSE_ITERATIONS):
        dlon, dlat = _gcj_offset(wlon, wlat)
        wlon, wlat = lon - dlon, lat - dlat
    return np.where(inside, wlon, lon), np.where(inside, wlat, lat)


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 → BD-09 (Baidu's published formula)."""
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 → GCJ-02: the published approximate inverse, refined by iterating on the forward formula."""
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(INVERSE_ITERATIONS):
        blon, blat = gcj02_to_bd09(glon, glat)
        glon, glat = glon - (blon - lon), glat - (blat - lat)
    return glon, glat


def wgs84_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 → BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 → WGS-84 (via GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


# --- Gauss-Kruger ------------------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _transformer(epsg_from: int, epsg_to: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{epsg_from}", f"EPSG:{epsg_to}", always_xy=True)


def _gk_to_wgs84(easting: np.ndarray, northing: np.ndarray, zone: int) -> tuple[np.ndarray, np.ndarray]:
    """Both easting forms of `zone`: 8-digit zone-prefixed (39500000) or 6-digit (500000 false easting).

    A zone prefix other than `zone`, or an easting of neither form, gives NaN (the declaration is inconsistent).
    """
    lon = np.full(easting.shape, np.nan)
    lat = np.full(easting.shape, np.nan)
    prefixed = np.floor(easting / 1e6) == zone
    plain = (easting > 0) & (easting < 1e6)
    for mask, spec in ((prefixed, gk_spec(zone, True)), (plain, gk_spec(zone, False))):
        if mask.any():
            lon[mask], lat[mask] = _transformer(spec.epsg, CGCS2000.epsg).transform(easting[mask], northing[mask])
    return lon, lat


def to_wgs84(x, y, spec: CrsSpec | str) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) in WGS-84 of coordinates in `spec`.

    Geographic kinds: x = longitude, y = latitude. Gauss-Kruger: x = easting (m, the 东坐标 column, which Chinese
    surveying calls Y), y = northing (m, surveying X); see `_gk_to_wgs84` for the accepted easting forms.
    """
    spec = parse_crs(spec)
    x, y = np.broadcast_arrays(as_float_array(x), as_float_array(y))
    if spec.kind in ("wgs84", "cgcs2000"):
        return x.copy(), y.copy()
    if spec.kind == "gcj02":
        return gcj02_to_wgs84(x, y)
    if spec.kind == "bd09":
        return bd09_to_wgs84(x, y)
    if spec.kind == "gk":
        return _gk_to_wgs84(x, y, spec.zone)
    raise ValueError(f"不支持的坐标系类型：{spec.kind}")


# --- where is China ----------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def china_outline() -> shapely.Geometry:
    """The shipped simplified outline of China (0.05° buffer), prepared for fast point tests."""
    data = json.loads(CHINA_OUTLINE.read_text(encoding="utf-8"))
    geom = shapely.union_all([shapely.from_geojson(json.dumps(f["geometry"])) for f in data["features"]])
    shapely.prepare(geom)
    return geom


def in_china(lon, lat) -> np.ndarray:
    """True where (lon, lat) lies in China (mainland, Hainan, Taiwan, Hong Kong, Macau, islands); NaN → False."""
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    return np.asarray(shapely.contains_xy(china_outline(), lon, lat), dtype=bool)


def looks_swapped(lon, lat) -> np.ndarray:
    """True where latitude and longitude were probably entered in each other's column.

    Either the latitude is impossible (|lat| > 90) while the longitude is valid, or the swapped pair is in China
    while the given one is not (e.g. lon=26.7, lat=117.4).
    """
    lon, lat = np.broadcast_arrays(as_float_array(lon), as_float_array(lat))
    with np.errstate(invalid="ignore"):
        impossible = (np.abs(lat) > 90) & (np.abs(lon) <= 180)
    return np.asarray(impossible | (in_china(lat, lon) & ~in_china(lon, lat)), dtype=bool)
