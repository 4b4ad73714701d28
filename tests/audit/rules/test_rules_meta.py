"""The rule registry stays documented: codes, titles, basis, cases, settings (Datasette's test_docs idea)."""
from __future__ import annotations

import re
import tomllib

import pandas as pd
import pytest

from audit.rules import all_rules, get_rule, register
from audit.rules.base import ACTIONS, SEVERITIES, Rule, UndocumentedSettingError
from audit.rules.engine import AuditContext, devices_frame, run_rules
from audit.rules.profiles import SETTINGS, list_profiles, load_profile

from .casefiles import CLEAN_DEVICE, case_paths, load_cases

FIXED_CODES = {"REV01", "REV02", "PUB01", "SGN01", "SGN02", "CAL01", "CAL02", "CAL03", "CAL04", "PLC01", "PLC02",
               "PLC03", "PLC04", "VIO01", "VIO02", "VIO03", "VIO04", "VIO05", "SRV01"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_registry_holds_the_fixed_codes() -> None:
    assert {r.code for r in all_rules()} == FIXED_CODES


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_rule_is_documented(rule: Rule) -> None:
    assert CJK.search(rule.title_zh) and rule.title_en.isascii() and rule.title_en.strip()
    assert "《" in rule.basis or "国发" in rule.basis
    assert rule.severity in SEVERITIES and rule.action in ACTIONS
    doc = rule.__doc__ or ""
    assert "Fails" in doc and "Passes" in doc, f"{rule.code}: the docstring gives a failing and a passing example"
    for name in rule.settings:
        setting = SETTINGS[name]
        assert setting.unit and setting.help and setting.kind in ("int", "float", "bool", "date")
    info = rule.describe()
    assert info["code"] == rule.code and info["action_en"] in ("suspend", "rectify", "review")


def test_every_rule_has_cases_that_flag_and_pass() -> None:
    files = {p.stem for p in case_paths()}
    assert files == FIXED_CODES, "one case file per rule code, and no file for an unknown code"
    for path in case_paths():
        with open(path, "rb") as fh:
            cases = tomllib.load(fh)["cases"]
        # Failing: devices flagged, or area/department findings checked by their evidence (PLC02).
        flagged = [c for case in cases for c in case.get("expect", {}).get("flagged", [])] + [
            e for case in cases for e in case.get("expect", {}).get("evidence", [])
            if "device_code" not in e and not e["evidence"].get("cannot_assess")]
        passing = [c for case in cases for c in case.get("expect", {}).get("not_flagged", [])]
        assert flagged and passing, f"{path.name} needs failing and passing devices"


def test_every_setting_is_read_by_the_rule_that_declares_it() -> None:
    """Running all cases reads each declared setting, and no setting in SETTINGS is orphaned."""
    read: dict[str, set[str]] = {}
    with_threshold: set[str] = set()
    for path in case_paths():
        for case in load_cases(path):
            findings = case.run()
            read.setdefault(case.code, set()).update(case.ctx.profile.reads)
            if findings["threshold"].notna().any():
                with_threshold.add(case.code)
    declared = set()
    for rule in all_rules():
        assert read.get(rule.code, set()) == set(rule.settings), f"{rule.code} reads {read.get(rule.code)}"
        declared |= set(rule.settings)
        if rule.settings:
            assert rule.code in with_threshold, f"{rule.code}: findings record the threshold used"
    assert declared == set(SETTINGS)


def test_reading_an_undeclared_setting_fails() -> None:
    class Sloppy(Rule):
        """Reads a setting it does not declare. Fails: always. Passes: never."""

        code = "TST01"
        title_zh, title_en, basis, severity, action = "测试", "Test", "《测试》", "一般", "核查"
        settings = ("min_spacing_m",)

        def check(self, devices, ctx):
            self.setting(ctx, "min_spacing_m")
            self.setting(ctx, "peer_score_threshold")
            return []

    ctx = AuditContext(as_of=pd.Timestamp("2024-06-30").date(), profile=load_profile("national"))
    devices = devices_frame([CLEAN_DEVICE | {"device_code": "A", "lon": 117.0, "lat": 26.5}])
    with pytest.raises(UndocumentedSettingError, match="peer_score_threshold"):
        run_rules(devices, ctx, rules=[Sloppy()])

    class Undocumented(Sloppy):
        settings = ("min_spacing_m", "not_a_setting")

        def check(self, devices, ctx):
            self.setting(ctx, "not_a_setting")
            return []

    with pytest.raises(UndocumentedSettingError, match="not_a_setting"):
        run_rules(devices, ctx, rules=[Undocumented()])


def test_codes_are_never_reused() -> None:
    class Impostor(Rule):
        code = "REV01"
        title_zh, title_en, basis, severity, action = "冒用", "Impostor", "《测试》", "一般", "核查"

    with pytest.raises(ValueError, match="already registered"):
        register(Impostor)
    assert type(get_rule("REV01")).__name__ == "LegalReview"


@pytest.mark.parametrize("name", list_profiles())
def test_shipped_profiles_document_every_setting(name: str) -> None:
    profile = load_profile(name)
    assert set(profile.values) == set(SETTINGS)
    for value in profile.values.values():
        assert value.unit == SETTINGS[value.name].unit and value.help and value.source


def test_case_files_only_use_known_device_columns() -> None:
    known = set(devices_frame([]).columns)
    for path in case_paths():
        with open(path, "rb") as fh:
            for case in tomllib.load(fh)["cases"]:
                for dev in case["devices"] + [case.get("defaults", {})]:
                    assert set(dev) <= known, f"{path.name}: unknown columns {set(dev) - known}"
