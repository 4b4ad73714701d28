"""Audit profiles: TOML files with documented settings, inheritance, and clear errors for a broken file."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from audit.rules.profiles import PROFILE_DIR, SETTINGS, ProfileError, list_profiles, load_profile


def test_shipped_profiles() -> None:
    assert {"national", "guangdong"} <= set(list_profiles())
    national, guangdong = load_profile("national"), load_profile("guangdong")
    assert national.get("publication_lead_days").value == 0
    lead = guangdong.get("publication_lead_days")
    assert lead.value == 30 and lead.source == "《广东省非现场执法管理办法》粤府〔2025〕12号" and lead.unit == "天"
    assert guangdong.get("publication_lead_effective_from").value == dt.date(2025, 5, 1)
    # Everything else is inherited unchanged.
    for name in set(SETTINGS) - {"publication_lead_days", "publication_lead_effective_from"}:
        assert guangdong.values[name] == national.values[name]
    spacing = national.get("min_spacing_m")
    assert spacing.for_type("固定测速") == 500.0 and spacing.for_type("违法停车") == spacing.value
    assert spacing.source == "default: set by the auditing body"
    assert national.get("verification_required").for_type("尾气遥感") is False
    assert national.digest() == load_profile("national").digest() != guangdong.digest()


def test_profile_by_path_and_unknown_name(tmp_path: Path) -> None:
    assert load_profile(PROFILE_DIR / "guangdong.toml").name == "guangdong"
    with pytest.raises(ProfileError, match="没有名为“fujian”的审查配置；已有：guangdong、national"):
        load_profile("fujian")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "local.toml"
    path.write_text('name = "local"\nextends = "national"\n' + text, encoding="utf-8")
    return path


def test_auditor_profile_overrides_per_type_and_drops_the_parents_note(tmp_path: Path) -> None:
    path = _write(tmp_path, '[settings.min_spacing_m]\nsource = "某市规定"\n'
                            '[settings.min_spacing_m.value]\ndefault = 80.0\n"固定测速" = 2000\n')
    spacing = load_profile(path).get("min_spacing_m")
    assert spacing.for_type("固定测速") == 2000.0 and spacing.for_type("闯红灯") == 80.0
    assert spacing.source == "某市规定" and spacing.note == "" and spacing.unit == "米"
    assert spacing.threshold("固定测速") == {"value": 2000.0, "unit": "米", "source": "某市规定"}


@pytest.mark.parametrize(("text", "message"), [
    ('[settings.min_spacing]\nvalue = 1\nsource = "x"\n', "未定义的设置：min_spacing"),
    ('[settings.min_spacing_m]\nunit = "公里"\n', "单位“公里”与规定单位“米”不符"),
    ('[settings.min_spacing_m]\nsource = ""\n', "min_spacing_m 缺少 source"),
    ('[settings.min_spacing_m.value]\ndefault = 1.0\n"卡口" = 2.0\n', "未知的设备类型：卡口"),
    ('[settings.publication_lead_days]\nvalue = "三十"\n', "值“三十”无效，应为整数"),
    ('[settings.publication_lead_days]\nvalue = -3\n', "不能为负数"),
    ('[settings.publication_lead_days.value]\ndefault = 3\n', "不按设备类型区分"),
    ('[settings.verification_required.value]\n"固定测速" = true\n', "须有 default"),
    ('[settings.min_spacing_m\n', "格式错误"),
])
def test_broken_profile_is_reported(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(_write(tmp_path, text))


def test_profile_without_parent_must_be_complete(tmp_path: Path) -> None:
    path = tmp_path / "bare.toml"
    path.write_text('name = "bare"\n[settings.publication_lead_days]\nvalue = 0\nunit = "天"\nhelp = "h"\n'
                    'source = "s"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="缺少设置：.*min_spacing_m"):
        load_profile(path)


def test_extends_cycle_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extends = "b"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('extends = "a"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="循环"):
        load_profile(tmp_path / "a.toml")
