"""The detection rules on the shapes the happy path never shows: no device, one device, every device retired,
monthly reporters only, a series that ends on the as-of date with a spike."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from audit.rules.engine import AuditContext, devices_frame, run_rules
from audit.rules.findings import is_cannot_assess
from audit.rules.profiles import load_profile

from .casefiles import CLEAN_DEVICE

RULES = ["VIO01", "VIO02", "VIO04", "VIO05", "SRV01"]
START, AS_OF = dt.date(2024, 1, 1), dt.date(2024, 6, 28)


def daily(code: str, counts, start: dt.date = START) -> list[dict]:
    return [{"device_code": code, "period": "day", "period_start": start + dt.timedelta(days=i), "count": c,
             "fine_yuan": 200.0 * c} for i, c in enumerate(counts)]


def audit(records: list[dict], rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    ctx = AuditContext(as_of=AS_OF, profile=load_profile("national"), violations=pd.DataFrame(rows) if rows else None)
    found = run_rules(devices_frame(records), ctx, rules=RULES)
    unassessed = is_cannot_assess(found)
    return found[~unassessed], found[unassessed]


def test_no_device_at_all() -> None:
    real, unassessed = audit([], daily("ELSEWHERE", [5] * 100))
    assert real.empty and unassessed.empty


def test_one_device_alone() -> None:
    counts = ([6, 7, 5, 6, 8, 9, 7] * 26)[:180]
    counts[-1] = 70  # a spike on the last day of the data, the as-of date
    real, unassessed = audit([CLEAN_DEVICE | {"device_code": "ONLY"}], daily("ONLY", counts))
    assert list(zip(real["rule"], real["evidence"].map(lambda e: e.get("date")))) == [("VIO02", "2024-06-28")]
    assert list(unassessed["rule"]) == ["VIO01"]  # no peers
    assert "同类设备中可比较的不足 8 台" in unassessed["message"].iloc[0]


def test_every_device_retired_without_a_date() -> None:
    """Retired devices whose data stop: no outage to the department's last day, and SRV01 cannot say whether they
    recorded after they stopped (no date of effect)."""
    records = [CLEAN_DEVICE | {"device_code": f"R{k}", "status": "拆除"} for k in range(9)]
    rows = [r for k in range(9) for r in daily(f"R{k}", [10 + k] * (90 + 10 * k))]
    real, unassessed = audit(records, rows)
    assert real.empty
    assert set(unassessed.loc[unassessed["rule"] == "SRV01", "device_code"]) == {f"R{k}" for k in range(9)}
    assert set(unassessed["rule"]) == {"SRV01"}  # the count rules and the peers judge their days in service


def test_no_data_is_asked_of_a_device_not_in_use() -> None:
    """A removed and a planned device with a day of counts each: no request for more days to build a baseline or
    to compare with peers (nothing to judge them for); a device in use with the same day is asked."""
    records = [CLEAN_DEVICE | {"device_code": "GONE", "status": "拆除"},
               CLEAN_DEVICE | {"device_code": "PLAN", "status": "拟建", "in_service_on": None},
               CLEAN_DEVICE | {"device_code": "USED"}]
    rows = [r for code in ("GONE", "PLAN", "USED") for r in daily(code, [3], start=AS_OF)]
    _, unassessed = audit(records, rows)
    asked = unassessed[unassessed["rule"] != "SRV01"]
    assert set(asked["device_code"]) == {"USED"}
    assert {"VIO02", "VIO04", "VIO05"} <= set(asked["rule"])


def test_monthly_reporters_only() -> None:
    """Monthly totals: the count model cannot judge them (cannot assess, said why), the peer rule can, and the
    cases before 启用日期 are counted by whole months."""
    records = [CLEAN_DEVICE | {"device_code": f"M{k}"} for k in range(8)]
    records.append(CLEAN_DEVICE | {"device_code": "LATE", "in_service_on": dt.date(2024, 3, 1)})
    rows = [{"device_code": r["device_code"], "period": "month", "period_start": dt.date(2024, m, 1),
             "count": 300 + 10 * m, "fine_yuan": 6000.0} for r in records for m in range(1, 6)]
    real, unassessed = audit(records, rows)
    monthly = unassessed[unassessed["rule"].isin(["VIO02", "VIO04", "VIO05"])]
    assert len(monthly) == 27 and set(monthly["message"].str.contains("按月报送")) == {True}
    (late,) = real.loc[real["rule"] == "SRV01", "evidence"]
    assert late["cases"]["violations"] == 310 + 320 and late["cases"]["whole_months"] == 2
    assert real[real["rule"] == "VIO01"].empty


def test_a_spike_s_evidence_reproduces_its_p_value() -> None:
    """The expected count and dispersion VIO02 states are those its p-value was computed with (NB: mean, size 1/α),
    so an auditor can check the figure; the device's overall dispersion, widened by the spike, would not give it."""
    from scipy import stats

    counts = ([6, 7, 5, 6, 8, 9, 7] * 26)[:180]
    counts[-1] = 70
    real, _ = audit([CLEAN_DEVICE | {"device_code": "ONLY"}], daily("ONLY", counts))
    evidence = real["evidence"].iloc[0]
    size = 1 / evidence["dispersion"]
    p = stats.nbinom.sf(evidence["count"] - 1, size, size / (size + evidence["expected"]))
    assert abs(p / evidence["p_value"] - 1) < 0.05
