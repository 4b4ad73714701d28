"""Every legal basis comes from the profile in force: a national audit never cites a provincial measure."""
from __future__ import annotations

import datetime as dt

import pytest

from audit.rules import all_rules
from audit.rules.engine import AuditContext, devices_frame, run_rules
from audit.rules.profiles import load_profile

from .casefiles import CLEAN_DEVICE

GUANGDONG = "广东省非现场执法管理办法"


@pytest.mark.parametrize("profile, cites", [("national", False), ("guangdong", True)])
def test_publication_cites_the_guangdong_measure_only_under_the_guangdong_profile(profile, cites):
    devices = devices_frame([CLEAN_DEVICE | {"device_code": "D-1", "lon": 117.0, "lat": 26.5,
                                             "in_service_on": dt.date(2025, 7, 1), "published_on": None}])
    ctx = AuditContext(as_of=dt.date(2025, 8, 1), profile=profile)
    [basis] = set(run_rules(devices, ctx, rules=["PUB01"])["basis"])
    assert (GUANGDONG in basis) is cites and "行政处罚法" in basis


def test_no_rule_cites_a_provincial_measure_under_the_national_profile():
    national = load_profile("national")
    for rule in all_rules():
        assert GUANGDONG not in rule.basis_for(national), rule.code
