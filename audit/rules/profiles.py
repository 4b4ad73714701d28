"""Audit profiles: the thresholds the rules read, per jurisdiction and device type.

A profile is a TOML file in data/profiles (or any path). Every setting the rules read is documented here, in
code (`SETTINGS`: name, kind, unit, help, whether it varies by device type); a profile gives each one a value
and says where the value comes from (a legal source, or "default: set by the auditing body"). A profile may
extend another (`extends = "national"`) and override only what differs. Example::

    name = "guangdong"
    title = "广东省"
    extends = "national"

    [settings.publication_lead_days]
    value = 30
    source = "《广东省非现场执法管理办法》粤府〔2025〕12号"

A setting that varies by device type gives a table with a `default` and device-type keys::

    [settings.min_spacing_m.value]
    default = 100
    "固定测速" = 500
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from ..intake.columns import DEVICE_TYPES

PROFILE_DIR = Path(__file__).resolve().parents[2] / "data" / "profiles"
DEFAULT_SOURCE = "default: set by the auditing body"
KINDS = ("int", "float", "bool", "date")


@dataclass(frozen=True)
class Setting:
    """A threshold a rule reads: documented in code, valued in a profile."""

    name: str
    kind: str
    unit: str
    help: str
    per_type: bool = False


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("publication_lead_days", "int", "天",
            "设置地点须在投入使用前至少多少天向社会公布；0 表示最迟在投入使用当日公布。"),
    Setting("publication_lead_effective_from", "date", "日期",
            "公布提前期自该日起适用：此日前投入使用的设备只要求在使用前公布（提前 0 天）。"),
    Setting("sign_distance_min_m", "float", "米", "测速警告标志距测速设备的最小距离。", per_type=True),
    Setting("sign_distance_max_m", "float", "米", "测速警告标志距测速设备的最大距离。", per_type=True),
    Setting("verification_required", "bool", "是/否", "该类设备是否属于强制检定的计量器具。", per_type=True),
    Setting("verification_cycle_months", "int", "月",
            "检定周期；检定记录未填有效期时，有效期至检定日期加一个周期的对应日的前一日，该月无对应日的至月末日（如 2024-02-29 检定、周期 12 个月，有效期至 2025-02-28）。", per_type=True),
    Setting("min_spacing_m", "float", "米",
            "同一功能的设备（同一道路、同一方向，如已填写）之间的最小间距：加载路网时，两台设备都在路网道路上的按沿道路"
            "距离，否则按直线距离。", per_type=True),
    Setting("max_density_per_km2", "float", "台/平方公里",
            "同一单位同类设备在一个乡镇（街道）范围内的最大密度。", per_type=True),
    Setting("max_devices_per_road_km", "float", "台/公里",
            "加载路网时，同一单位同类设备在一条道路上每公里的最大数量（设备数除以道路全长）。", per_type=True),
    Setting("min_devices_per_road", "int", "台",
            "加载路网时，一条道路上同一单位同类设备达到此数量才按每公里数量审查；更少的设备之间的距离由间距规则审查。"),
    Setting("road_snap_tolerance_m", "float", "米",
            "加载路网时，设备距最近道路不超过此距离即视为设在该道路上；更远的设备按直线距离审查间距。"),
    Setting("boundary_tolerance_m", "float", "米", "设备在辖区边界外不超过此距离时不报告（坐标误差、边界道路）。"),
    Setting("low_capture_window_days", "int", "天", "判断“长期几乎无抓拍”所看的最近天数（截至违法统计的最后一天）。"),
    Setting("low_capture_max_per_day", "float", "起/日", "在该期间内日均违法采集量不超过此值，视为几乎无抓拍、无实际监管需要。"),
    Setting("peer_min_devices", "int", "台", "同类设备少于此数时不做同类比较（无法审查）。"),
    Setting("peer_min_days", "int", "天", "设备在统计期内在用天数少于此数时不计算日均值（无法审查）。"),
    Setting("peer_score_threshold", "float", "稳健Z分数",
            "日均采集量或罚款额的对数与同类设备中位数之差，除以 1.4826×绝对中位差（加上在用天数少带来的误差），超过此值为畸高。"),
    Setting("peer_min_ratio", "float", "倍",
            "日均采集量或罚款额还须至少为同类设备中位数的此倍数才报告畸高（同类设备很接近时，稍高不算畸高）。"),
    Setting("peer_within_department", "bool", "是/否",
            "是：与本单位同类设备比较（本单位可比较的同类设备不足 peer_min_devices 台时与全部审查范围的同类设备比较）；"
            "否：总与全部审查范围的同类设备比较。"),
    Setting("count_model_window_days", "int", "天",
            "按日采集量模型估计某日水平（季节、趋势）所用的窗口：当日前后各半个窗口，不含当日；数据末尾只用此前的日子。"),
    Setting("count_model_min_days", "int", "天", "设备按日数据少于此天数时不建立基线（无法审查突增、持续升高和采集中断）。"),
    Setting("alarm_budget_per_100_device_years", "float", "次/100设备·年",
            "正常数据上每类异常（单日突增、持续升高、采集中断）预期的误报次数，每 100 台设备·年；按设备·日分配"
            "（Bonferroni），某日（或某期间）在正常波动下出现的概率低于其分得的份额才报告。持续升高、采集中断按设备·日"
            "平均分配；单日突增在每个单位内按各设备·日上 5 倍突增显现的难易加权分配（每个单位平均仍为预算），采集量少或波动大的设备·日分得较多。"),
    Setting("spike_min_count", "int", "起", "当日采集量至少达到此数才报告突增。"),
    Setting("spike_min_ratio", "float", "倍", "当日采集量至少为模型预期的此倍数才报告突增。"),
    Setting("shift_min_days", "int", "天", "持续升高至少持续此天数才报告。"),
    Setting("shift_min_ratio", "float", "倍", "持续升高期间的采集量至少为模型预期（不受该期间影响的水平）的此倍数才报告。"),
    Setting("outage_min_days", "int", "天", "连续无违法记录（为 0 或未报送）至少此天数、且按设备自身水平不大可能时，报告采集中断。"),
    Setting("site_review_interval_months", "int", "月",
            "年度评估的周期：在用设备自上次评估（从未评估的，自启用或评估起算日起，取较晚者）超过此月数未评估即为问题。"),
    Setting("site_review_effective_from", "date", "日期",
            "年度评估的起算日：此日前已投入使用、从未评估的设备，评估期限自此日起算。"),
)}


class ProfileError(ValueError):
    """A profile file that cannot be used (message in Chinese, naming the file and the setting)."""


@dataclass(frozen=True)
class ProfileValue:
    """A setting's value in one profile: a default, per-device-type overrides, and where it comes from."""

    setting: Setting
    value: Any
    by_type: Mapping[str, Any]
    help: str
    source: str
    note: str = ""

    @property
    def name(self) -> str:
        return self.setting.name

    @property
    def unit(self) -> str:
        return self.setting.unit

    def for_type(self, device_type: str | None = None) -> Any:
        if device_type is not None and device_type in self.by_type:
            return self.by_type[device_type]
        return self.value

    def for_types(self, device_types: pd.Series) -> pd.Series:
        """The value for each row's device type (vectorised)."""
        mapping = {t: self.for_type(t) for t in pd.unique(device_types.dropna())}
        return device_types.map(mapping).where(device_types.notna(), self.value)

    def threshold(self, device_type: str | None = None) -> dict[str, Any]:
        """What a finding records about the threshold it used."""
        value = self.for_type(device_type)
        return {"value": value.isoformat() if isinstance(value, dt.date) else value,
                "unit": self.unit, "source": self.source}

    def to_dict(self) -> dict[str, Any]:
        plain = (lambda v: v.isoformat() if isinstance(v, dt.date) else v)
        return {"name": self.name, "value": plain(self.value),
                "by_type": {k: plain(v) for k, v in self.by_type.items()}, "unit": self.unit,
                "help": self.help, "source": self.source, "note": self.note}


@dataclass
class Profile:
    name: str
    title: str
    path: Path
    values: dict[str, ProfileValue]
    extends: str | None = None
    description: str = ""
    reads: set[str] = field(default_factory=set, compare=False, repr=False)

    def get(self, name: str) -> ProfileValue:
        if name not in SETTINGS:
            raise KeyError(f"setting {name!r} is not documented in audit.rules.profiles.SETTINGS")
        self.reads.add(name)
        return self.values[name]

    def digest(self) -> str:
        """A fingerprint of the resolved values: two runs with the same digest used the same thresholds."""
        data = json.dumps([self.values[k].to_dict() for k in sorted(self.values)], ensure_ascii=False,
                          sort_keys=True)
        return hashlib.sha256(data.encode("utf-8")).hexdigest()

    def describe(self) -> list[dict[str, Any]]:
        return [self.values[k].to_dict() for k in sorted(self.values)]


def list_profiles(folder: Path | None = None) -> list[str]:
    return sorted(p.stem for p in (folder or PROFILE_DIR).glob("*.toml"))


def profile_title(name: str) -> str:
    """The title a person reads (全国通用, 广东省), or the name when the profile file is no longer there."""
    try:
        return load_profile(name).title
    except (ProfileError, OSError):
        return name


def _locate(name_or_path: str | Path, folder: Path) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" or len(path.parts) > 1:
        if not path.is_file():
            raise ProfileError(f"找不到审查配置文件“{path}”。")
        return path
    candidate = folder / f"{name_or_path}.toml"
    if not candidate.is_file():
        known = "、".join(list_profiles(folder)) or "（无）"
        raise ProfileError(f"没有名为“{name_or_path}”的审查配置；已有：{known}。")
    return candidate


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"审查配置文件“{path.name}”格式错误：{exc}") from exc


def _check_value(value: Any, setting: Setting, where: str) -> Any:
    kind = setting.kind
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                pass
        ok = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if not ok:
        expected = {"bool": "true 或 false", "int": "整数", "float": "数值", "date": "日期（如 2025-05-01）"}[kind]
        raise ProfileError(f"{where}：值“{value}”无效，应为{expected}。")
    if kind in ("int", "float") and value < 0:
        raise ProfileError(f"{where}：值“{value}”不能为负数。")
    return value


def _merge_raw(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = {k: dict(v) for k, v in base.items()}
    for name, entry in child.items():
        inherited = merged.get(name, {})
        if ("value" in entry or "source" in entry) and "note" not in entry:
            inherited = {k: v for k, v in inherited.items() if k != "note"}  # the parent's note is about its value
        merged[name] = inherited | dict(entry)
    return merged


def _raw_settings(path: Path, folder: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], dict[str, Any]]:
    """The file's top-level table and its settings merged over those of the profile it extends."""
    if path.resolve() in seen:
        raise ProfileError(f"审查配置“{path.name}”的 extends 形成循环。")
    data = _read_toml(path)
    settings = data.get("settings", {})
    if not isinstance(settings, dict) or not all(isinstance(v, dict) for v in settings.values()):
        raise ProfileError(f"审查配置“{path.name}”：[settings.名称] 下须为表。")
    parent = data.get("extends")
    if parent:
        parent_path = path.parent / f"{parent}.toml"
        if not parent_path.is_file():
            parent_path = _locate(parent, folder)
        _, base = _raw_settings(parent_path, folder, seen + (path.resolve(),))
        settings = _merge_raw(base, settings)
    return data, settings


def load_profile(name_or_path: str | Path = "national", folder: Path | None = None) -> Profile:
    """Load a profile by name (data/profiles/<name>.toml) or by path, resolving `extends`."""
    folder = folder or PROFILE_DIR
    path = _locate(name_or_path, folder)
    data, raw = _raw_settings(path, folder)
    label = path.name
    unknown = sorted(set(raw) - set(SETTINGS))
    if unknown:
        raise ProfileError(f"审查配置“{label}”含未定义的设置：{'、'.join(unknown)}；请删去或改名（可用的设置见 camaudit rules 的输出）。")
    missing = sorted(set(SETTINGS) - set(raw))
    if missing:
        raise ProfileError(f"审查配置“{label}”缺少设置：{'、'.join(missing)}；请填写，或用 extends 继承其他配置。")
    values: dict[str, ProfileValue] = {}
    for name, setting in SETTINGS.items():
        entry = raw[name]
        where = f"审查配置“{label}”的设置 {name}"
        for key in ("value", "unit", "help", "source"):
            if key not in entry or entry[key] in ("", None):
                raise ProfileError(f"{where} 缺少 {key}。")
        unit = entry["unit"]
        if unit != setting.unit:
            raise ProfileError(f"{where} 的单位“{unit}”与规定单位“{setting.unit}”不符。")
        value = entry["value"]
        by_type: dict[str, Any] = {}
        if isinstance(value, dict):
            if not setting.per_type:
                raise ProfileError(f"{where} 不按设备类型区分，value 须为单个值。")
            if "default" not in value:
                raise ProfileError(f"{where} 按设备类型取值时须有 default。")
            bad = sorted(set(value) - {"default"} - set(DEVICE_TYPES))
            if bad:
                raise ProfileError(f"{where} 含未知的设备类型：{'、'.join(bad)}；可用：{'、'.join(DEVICE_TYPES)}。")
            by_type = {k: _check_value(v, setting, f"{where}（{k}）") for k, v in value.items() if k != "default"}
            value = value["default"]
        values[name] = ProfileValue(setting, _check_value(value, setting, where), by_type, str(entry["help"]),
                                    str(entry["source"]), str(entry.get("note", "")))
    return Profile(name=str(data.get("name") or path.stem), title=str(data.get("title") or path.stem), path=path,
                   values=values, extends=data.get("extends"), description=str(data.get("description", "")))


def settings_table(names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The documented settings (for `camaudit rules` and the docs)."""
    chosen = SETTINGS if names is None else {n: SETTINGS[n] for n in names}
    return [{"name": s.name, "kind": s.kind, "unit": s.unit, "help": s.help, "per_type": s.per_type}
            for s in chosen.values()]


__all__ = ["SETTINGS", "Setting", "Profile", "ProfileValue", "ProfileError", "load_profile", "list_profiles",
           "profile_title", "settings_table", "DEFAULT_SOURCE", "PROFILE_DIR"]
