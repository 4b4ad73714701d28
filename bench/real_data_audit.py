"""The capture and spacing rules on real open data: Chicago speed cameras (VIO01, VIO02, VIO04, VIO05, SRV01), Korean
cameras (PLC01).

    .venv/bin/python bench/real_data_audit.py

Chicago: 156 speed cameras, daily violations 2019-01-01 … 2019-04-17 (no fines, so VIO03 cannot be assessed).
Korea: the 12,295 cameras of the national standard data (type codes read as in tests/audit/rules/realdata.py).
The VIO01 ranking uses an auditor profile with the threshold and the minimum ratio at 0, which lists every score
through the rule itself.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.rules.engine import AuditContext, run_rules  # noqa: E402
from audit.rules.profiles import load_profile  # noqa: E402
from tests.audit.rules.realdata import (  # noqa: E402
    CHICAGO_AS_OF,
    CHICAGO_VIOLATIONS,
    KOREA_CAMERAS,
    chicago_frames,
    korea_devices,
    profile_with,
)


def real(findings: pd.DataFrame) -> pd.DataFrame:
    return findings[~findings["evidence"].map(lambda e: bool(e.get("cannot_assess"))).astype(bool)]


def chicago(folder: Path) -> None:
    devices, violations = chicago_frames()
    print(f"Chicago: {len(devices)} speed cameras, {len(violations):,} camera-days, as of {CHICAGO_AS_OF}")
    rules = ["VIO01", "VIO02", "VIO04", "VIO05", "SRV01"]
    for label, profile in (("national", load_profile("national")),
                           ("ranking (VIO01 threshold 0)", load_profile(profile_with(
                               folder, "rank", peer_score_threshold=0.0, peer_min_ratio=0.0)))):
        ctx = AuditContext(as_of=CHICAGO_AS_OF, profile=profile, violations=violations)
        t = time.perf_counter()
        found = run_rules(devices, ctx, rules=rules if label == "national" else ["VIO01"])
        took = time.perf_counter() - t
        flagged = real(found)
        unassessed = found["evidence"].map(lambda e: bool(e.get("cannot_assess"))).astype(bool)
        print(f"\n[{label}] {took:.2f} s; findings: "
              + ", ".join(f"{r} {n}" for r, n in flagged.groupby("rule").size().items())
              + "; cannot assess: " + ", ".join(f"{r} {n}" for r, n in found[unassessed].groupby("rule").size().items()))
        vio1 = flagged[flagged["rule"] == "VIO01"]
        if label != "national":
            top1 = sorted(zip(vio1["device_code"], vio1["evidence"]), key=lambda x: -x[1]["score"])[:10]
            print("  VIO01 top cameras: code, violations/day, days, peer median/day (peers), robust z")
            for code, e in top1:
                print(f"    {code}  {e['per_day']:7.2f}  {e['days']:4d}  {e['peer_median_per_day']:6.2f} "
                      f"({e['peer_count']})  {e['score']:5.2f}")
            continue
        for rule in rules[1:]:
            part = flagged[flagged["rule"] == rule]
            print(f"  {rule}: {len(part)}")
            for code, message in zip(part["device_code"], part["message"]):
                print(f"    {code}  {message[:110]}")


def korea() -> None:
    devices = korea_devices()
    ctx = AuditContext(as_of=pd.Timestamp("2020-12-31").date(), profile=load_profile("national"))
    t = time.perf_counter()
    found = run_rules(devices, ctx, rules=["PLC01"])
    took = time.perf_counter() - t
    flagged = real(found)
    ev = pd.DataFrame(flagged["evidence"].tolist())
    types = devices.set_index("device_code").loc[flagged["device_code"], "device_type"].to_numpy()
    located = int((devices["lon"].notna() & devices["lat"].notna()).sum())
    print(f"\nKorea: {len(devices):,} cameras ({located:,} with coordinates); PLC01 in {took:.2f} s "
          f"(national spacing: 固定测速 500 m, 区间测速 1000 m, 闯红灯 100 m, others 50 m; same road and direction when "
          f"both are given)")
    print(f"  flagged devices {len(flagged):,}; cannot assess (no coordinates) {len(found) - len(flagged)}; "
          f"pairs {int(ev['neighbour_count'].sum()) // 2:,}; at distance 0 (duplicate coordinates) "
          f"{int((ev['distance_m'] == 0).sum()):,} devices")
    print("  flagged by type: " + ", ".join(f"{t} {n:,}" for t, n in pd.Series(types).value_counts().items()))
    print("  nearest-neighbour distance of flagged devices (m): "
          + ", ".join(f"{q:.0%} {v:.0f}" for q, v in ev["distance_m"].quantile([0.1, 0.5, 0.9]).items()))


def main() -> None:
    if not CHICAGO_VIOLATIONS.is_file() or not KOREA_CAMERAS.is_file():
        sys.exit("the real data under ../shared/data/real is not available")
    with tempfile.TemporaryDirectory() as folder:
        chicago(Path(folder))
    korea()


if __name__ == "__main__":
    main()
