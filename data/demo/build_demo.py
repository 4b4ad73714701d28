"""Build the demo county 将乐县 (Jiangle, Sanming, Fujian; adcode 350428): synthetic devices on the real township map.

Everything written here is synthetic except the township polygons (data/boundaries/jiangle_350428_townships.geojson).
Streets and highways are invented polylines drawn over the real county; devices are placed along them, mostly in the
county seat (古镛镇, 水南镇). The generator is deterministic (one seeded RNG) and rewrites every file:

  jiangle_jj_devices.xlsx   将乐县公安局交通管理大队: the template layout (title, 填报单位, header), Chinese headers
  jiangle_jt_devices.xlsx   将乐县交通运输局: a system export, English alias headers in row 1, dates as text
  jiangle_cg_devices.csv    将乐县城市管理和综合执法局: GBK CSV with two title rows, Chinese headers without '*'
  jiangle_hb_devices.xlsx   三明市将乐生态环境局: one title row, GCJ02 coordinates (高德) stated in 坐标系
  verifications.xlsx        the verification history of the speed and weigh-in-motion devices (template layout)
  violations.csv            daily violation counts and fines of every device in use (and of two 拟建 devices that
                            record anyway), 2025-01-01 … 2025-06-30
  defects.csv               the defects planted for the audit to find: device_code, defect, detail
  rejected_example.csv      a small upload with typical mistakes, to show the validation report
  manifest.toml             what `camaudit demo` loads, in order

Run: .venv/bin/python data/demo/build_demo.py
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from builder.counts import uncovered_violations, violations
from builder.county import CG, DEPARTMENTS, FILES, HB, HERE, JJ, JT, NEEDS_VERIFICATION, PERIOD_END, SEED, SPEED, County
from builder.defects import plant_defects, plant_outside, plant_spacing_pairs
from builder.devices import assign_codes, build_devices, describe, sync_inventory, verification_history
from builder.files import (
    MANIFEST,
    write_cg,
    write_hb,
    write_jj,
    write_jt,
    write_rejected,
    write_roads,
    write_verifications,
    write_violations,
)


def main() -> None:
    rng = np.random.default_rng(SEED)
    county = County(rng)
    cluster = build_devices(county)
    plant_spacing_pairs(county)
    plant_outside(county)

    # statuses other than 在用, chosen among devices with no special role
    plain = [d for d in county.devices if d not in cluster and "_partner" not in d.fields
             and "_outside" not in d.fields and d.type not in ("区间测速", "移动测速")
             and not any(p.fields.get("_partner") is d for p in county.devices)]
    for dev, status in zip((plain[i] for i in rng.choice(len(plain), 12, replace=False)),
                           ["停用"] * 6 + ["拆除"] * 2 + ["拟建"] * 4):
        dev.status = status

    noise = np.random.default_rng(SEED + 1)  # apart, so that adding it left the other draws as they were
    for dev in county.devices:
        dev.rate_mult = float(np.clip(rng.lognormal(0, 0.3), 0.55, 1.8))
        dev.dispersion = float(np.clip(noise.lognormal(np.log(0.05), 0.6), 0.005, 0.4))
        dev.warn_share = float(rng.uniform(0.3, 0.6) if dev.type == "城市管理" else rng.uniform(0.03, 0.2))
        dev.severe_share = float(rng.uniform(0.02, 0.12)) if dev.type in SPEED else 0.0
    seq: dict[tuple[str, int], int] = {}
    for dev in county.devices:
        describe(county, dev, rng, seq)
    assign_codes(county)
    counter: dict = {}
    for dev in county.devices:
        if dev.type in NEEDS_VERIFICATION and dev.status != "拟建":
            until = PERIOD_END if dev.status == "在用" else dt.date(2024, 6, 30)
            dev.verifications = verification_history(dev, rng, counter, until)

    defects = plant_defects(county, cluster, counter)
    for dev in county.devices:
        partner = dev.fields.get("_partner")
        if partner is not None:
            dist = dev.point.distance(partner.point)
            for d in (partner, dev):
                defects.append((d.code, "spacing_too_close",
                                f"{partner.code}与{dev.code}同路同向同类，相距{dist:.0f}米"))
        if dev.fields.get("_outside"):
            dist = county.area.boundary.distance(dev.point)
            defects.append((dev.code, "outside_boundary", f"位于将乐县界外约{dist / 1000:.1f}公里"))
        if dev.type in NEEDS_VERIFICATION:
            sync_inventory(dev)

    table = violations(county)
    defects += uncovered_violations(county, table)

    HERE.mkdir(exist_ok=True)
    write_jj(county, HERE / FILES[JJ])
    write_jt(county, HERE / FILES[JT])
    write_cg(county, HERE / FILES[CG])
    write_hb(county, HERE / FILES[HB])
    write_verifications(county, HERE / "verifications.xlsx")
    write_violations(table, HERE / "violations.csv")
    write_rejected(HERE / "rejected_example.csv")
    write_roads(HERE / "roads.geojson")
    (HERE / "manifest.toml").write_text(MANIFEST, encoding="utf-8")
    defects_frame = pd.DataFrame(defects, columns=["device_code", "defect", "detail"])
    defects_frame.sort_values(["defect", "device_code"]).to_csv(HERE / "defects.csv", index=False,
                                                               encoding="utf-8", lineterminator="\n")

    n = len(county.devices)
    flagged = defects_frame["device_code"].nunique()
    print(f"{n} devices ({', '.join(f'{d} {sum(x.dept == d for x in county.devices)}' for d in DEPARTMENTS)}); "
          f"{flagged} with defects ({flagged / n:.0%}); {len(table)} violation rows")
    print(defects_frame["defect"].value_counts().sort_index().to_string())


if __name__ == "__main__":
    main()
