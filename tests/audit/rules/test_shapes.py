"""Every rule on the shapes of registry the happy path never shows: nothing at all, one device type only, a
department of one device, every device retired, only planned devices, a department with data but no in-use device
under compulsory verification. No finding may lack a device unless it is a department-level request for data, and
no message may print a missing value ("nan", "None", "NaT")."""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from audit.rules import all_rules
from audit.rules.engine import AuditContext, devices_frame, run_rules

from .casefiles import CLEAN_DEVICE

AS_OF = dt.date(2024, 6, 30)
MISSING_TEXT = re.compile(r"nan|None|NaT|NaN|null", re.IGNORECASE)


def devices(*specs: dict) -> pd.DataFrame:
    return devices_frame([CLEAN_DEVICE | {"device_code": f"D-{i:03d}", "lon": 117.0 + 0.05 * i, "lat": 26.5} | spec
                          for i, spec in enumerate(specs)])


# A device that is not a metering instrument has no verification record.
UNVERIFIED = {"verified_on": None, "verification_valid_until": None, "verification_result": None,
              "certificate_no": None}


def daily(codes: list[str], per_day: int = 5, days: int = 120) -> pd.DataFrame:
    start = AS_OF - dt.timedelta(days=days - 1)
    return pd.DataFrame([{"device_code": c, "period": "day", "period_start": start + dt.timedelta(days=k),
                          "count": per_day, "fine_yuan": per_day * 200.0} for c in codes for k in range(days)])


SHAPES = {
    "empty registry": (lambda: devices_frame([]), None),
    "red-light devices only": (lambda: devices(*[{"device_type": "闯红灯", **UNVERIFIED}] * 3),
                               ["D-000", "D-001", "D-002"]),
    "one device in its department": (lambda: devices({"department": "测试县交通运输局", "device_type": "超限超载"}),
                                     ["D-000"]),
    "every device retired": (lambda: devices({"status": "停用"}, {"status": "拆除"}, {"status": "停用",
                                                                                   "device_type": "闯红灯"}),
                             ["D-000", "D-001"]),
    "planned devices only": (lambda: devices({"status": "拟建", "in_service_on": None},
                                             {"status": "拟建", "in_service_on": None, "device_type": "区间测速"}),
                             None),
    "urban management only, with counts": (lambda: devices({"department": "测试县城市管理和综合执法局",
                                                             "device_type": "城市管理", **UNVERIFIED}), ["D-000"]),
    "every device retired, never verified": (lambda: devices({"status": "停用", **UNVERIFIED},
                                                             {"status": "拆除", **UNVERIFIED}), None),
}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("profile", ["national", "guangdong"])
def test_no_finding_without_a_device_and_no_missing_value_printed(shape, profile):
    build, with_counts = SHAPES[shape]
    frame = build()
    ctx = AuditContext(as_of=AS_OF, profile=profile, violations=daily(with_counts) if with_counts else None)
    for rule in all_rules():
        findings = run_rules(frame, ctx, rules=[rule.code])
        no_device = findings[findings["device_code"].isna()]
        for _, f in no_device.iterrows():
            assert f["evidence"].get("cannot_assess") and isinstance(f["department"], str), (rule.code, f["message"])
        assert findings["department"].map(lambda d: isinstance(d, str) and d.strip() != "").all(), rule.code
        for message in findings["message"]:
            assert not MISSING_TEXT.search(message), (rule.code, message)
        known = set(frame["device_code"])
        assert set(findings["device_code"].dropna()) <= known, rule.code
