"""The audit run: run_rules on frames (schema, order, determinism) and run_audit on the database."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from shapely.geometry import box
from sqlalchemy import select

from audit.registry import store as registry
from audit.registry.db import init_db, make_engine, session_factory
from audit.registry.models import Department, Device, ImportBatch, VerificationRecord, ViolationStat
from audit.rules.schema import FINDING_COLUMNS
from audit.rules.engine import AuditContext, describe_rules, devices_frame, run_audit, run_rules
from audit.rules.schema import RULESET_VERSION
from audit.registry.models import AuditRun, Finding
from audit.rules.findings import findings_frame
from audit.rules.profiles import load_profile

from .casefiles import CLEAN_DEVICE

AS_OF = dt.date(2024, 6, 30)


def _devices() -> pd.DataFrame:
    records = [CLEAN_DEVICE | {"device_code": f"D{k:02d}", "lon": 117.0 + 0.05 * k, "lat": 26.5} for k in range(12)]
    records[1] |= {"legal_review_on": None, "signage": False}
    records[2] |= {"lon": records[3]["lon"] + 0.001}           # 100 m from D03: PLC01
    records[4] |= {"verification_valid_until": dt.date(2024, 1, 9), "verified_on": dt.date(2023, 1, 10)}
    records[5] |= {"status": None, "in_service_on": None}
    records[6] |= {"department": "测试县交通运输局", "device_type": "超限超载"}
    return devices_frame(records)


def _violations(devices: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for k, code in enumerate(devices["device_code"]):
        for d in range(90):
            day = dt.date(2024, 1, 10) + dt.timedelta(days=d)
            rows.append({"device_code": code, "period": "day", "period_start": day,
                         "count": 200 if (code == "D07" or (code == "D08" and d == 40)) else 5 + k % 4 + d % 3,
                         "fine_yuan": 200.0 * (5 + k % 4)})
    return pd.DataFrame(rows)


def _ctx(devices: pd.DataFrame, profile: str = "national") -> AuditContext:
    return AuditContext(as_of=AS_OF, profile=load_profile(profile), violations=_violations(devices))


def test_run_rules_schema_order_and_determinism() -> None:
    devices = _devices()
    findings = run_rules(devices, _ctx(devices))
    assert list(findings.columns) == FINDING_COLUMNS
    key = findings.assign(dc=findings["device_code"].fillna(""), dep=findings["department"].fillna(""))
    assert key[["rule", "dep", "dc", "message"]].equals(
        key[["rule", "dep", "dc", "message"]].sort_values(["rule", "dep", "dc", "message"]).reset_index(drop=True))
    flagged = {(r, c) for r, c in zip(findings["rule"], findings["device_code"])}
    assert {("REV01", "D01"), ("SGN01", "D01"), ("PLC01", "D02"), ("PLC01", "D03"), ("CAL02", "D04"),
            ("CAL04", "D04"), ("VIO01", "D07"), ("VIO02", "D08")} <= flagged
    assert ("REV01", "D05") in flagged and findings.loc[
        (findings["rule"] == "REV01") & (findings["device_code"] == "D05"), "evidence"].iloc[0]["cannot_assess"]
    assert "D00" not in set(findings["device_code"]), "the compliant device gets no finding"
    assert (findings["profile"] == "national").all()

    # The same data in another order gives the same findings.
    shuffled = devices.sample(frac=1, random_state=3).reset_index(drop=True)
    ctx = _ctx(devices)
    ctx.violations = ctx.violations.sample(frac=1, random_state=4).reset_index(drop=True)
    again = run_rules(shuffled, ctx)
    pd.testing.assert_frame_equal(findings, again)
    # Device codes as a categorical (how large tables save memory), with codes of unknown devices: the same.
    extra = pd.DataFrame({"device_code": ["NOT-AUDITED"], "period": ["day"],
                          "period_start": [pd.Timestamp("2024-02-01")], "count": [999], "fine_yuan": [1.0]})
    table = pd.concat([_violations(devices), extra], ignore_index=True)
    table["device_code"] = table["device_code"].astype("category")
    ctx = AuditContext(as_of=AS_OF, profile=load_profile("national"), violations=table)
    pd.testing.assert_frame_equal(findings, run_rules(devices, ctx))


def test_run_rules_subset_progress_and_empty_registry() -> None:
    devices = _devices()
    seen = []
    findings = run_rules(devices, _ctx(devices), rules=["sgn01", "REV01"],
                         progress=lambda c, i, n: seen.append((c, i, n)))
    assert seen == [("SGN01", 0, 2), ("REV01", 1, 2)]
    assert set(findings["rule"]) == {"REV01", "SGN01"}
    empty = run_rules(devices_frame([]), AuditContext(as_of=AS_OF, profile=load_profile("national")))
    assert list(empty.columns) == FINDING_COLUMNS and len(empty) == 0
    with pytest.raises(KeyError, match="没有编号为“XYZ99”的审查规则"):
        run_rules(devices, _ctx(devices), rules=["XYZ99"])


def test_run_rules_refuses_duplicate_codes() -> None:
    devices = _devices()
    twice = pd.concat([devices, devices.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="not unique"):
        run_rules(twice, _ctx(devices))


def test_describe_rules_lists_settings_with_profile_values() -> None:
    rules = describe_rules("guangdong")
    assert len(rules) == 19
    pub = next(r for r in rules if r["code"] == "PUB01")
    assert pub["profile"] == "guangdong" and pub["title_zh"] and "Fails" in pub["doc"]
    lead = next(s for s in pub["setting_values"] if s["name"] == "publication_lead_days")
    assert lead["value"] == 30 and lead["unit"] == "天"


@pytest.fixture()
def session():
    engine = make_engine("sqlite://")
    init_db(engine)
    with session_factory(engine)() as s:
        yield s


def _load(session, devices: pd.DataFrame) -> None:
    """The frames into the ORM, as imports would leave them."""
    depts = {}
    for name in sorted(devices["department"].unique()):
        depts[name] = Department(name=name)
        session.add(depts[name])
    session.flush()
    batch = ImportBatch(kind="devices", filename="devices.xlsx", sha256="0" * 64, user="test")
    vbatch = ImportBatch(kind="violations", filename="violations.xlsx", sha256="1" * 64, user="test")
    session.add_all([batch, vbatch])
    session.flush()
    keys = [c for c in devices.columns if c not in ("id", "department", "geometry")]
    ids = {}
    for rec in devices.to_dict("records"):
        values = {k: (None if pd.isna(rec[k]) else (rec[k].date() if isinstance(rec[k], pd.Timestamp) else rec[k]))
                  for k in keys}
        values["speed_limit_kmh"] = None if values["speed_limit_kmh"] is None else int(values["speed_limit_kmh"])
        values["signage"] = None if values["signage"] is None else bool(values["signage"])
        dev = Device(department_id=depts[rec["department"]].id, created_batch_id=batch.id, **values)
        session.add(dev)
        session.flush()
        ids[rec["device_code"]] = dev.id
        if values["verified_on"]:
            session.add(VerificationRecord(device_id=dev.id, verified_on=values["verified_on"],
                                           valid_until=values["verification_valid_until"],
                                           result=values["verification_result"], batch_id=batch.id))
    for rec in _violations(devices).to_dict("records"):
        session.add(ViolationStat(device_id=ids[rec["device_code"]], period="day", period_start=rec["period_start"],
                                  count=rec["count"], fine_yuan=rec["fine_yuan"], batch_id=vbatch.id))
    registry.set_boundary(session, "测试县交通运输局", box(118.0, 26.0, 118.5, 27.0), "test", user="test")
    session.flush()


def test_run_audit_stores_a_reproducible_run(session) -> None:
    devices = _devices()
    _load(session, devices)
    run, findings = run_audit(session, as_of=AS_OF, profile_name="guangdong", user="auditor")
    session.commit()
    assert run.id and run.profile == "guangdong" and run.ruleset_version == RULESET_VERSION
    assert run.as_of == AS_OF and run.batch_ids == [1, 2] and run.user == "auditor" and run.department is None
    assert run.device_count == 12 and run.finding_count == len(findings) > 0
    assert run.profile_digest == load_profile("guangdong").digest()

    stored = findings_frame(session, run.id)
    pd.testing.assert_frame_equal(stored, findings)
    # The frames from the database give the same findings as the frames themselves.
    direct = run_rules(devices, AuditContext(as_of=AS_OF, profile=load_profile("guangdong"),
                                             violations=_violations(devices),
                                             boundaries={"测试县交通运输局": box(118.0, 26.0, 118.5, 27.0)}))
    pd.testing.assert_frame_equal(findings, direct)
    # PLC03: the boundary stored for 测试县交通运输局 puts its device D06 outside.
    assert ("PLC03", "D06") in set(zip(findings["rule"], findings["device_code"]))

    # Device findings link to the device row; department-level findings have no device.
    rows = session.execute(select(Finding.device_code, Finding.device_id, Device.device_code)
                           .outerjoin(Device, Finding.device_id == Device.id)
                           .where(Finding.run_id == run.id)).all()
    assert all(code == linked for code, _, linked in rows)

    run2, findings2 = run_audit(session, as_of=AS_OF, profile_name="guangdong", user="auditor")
    session.commit()
    assert run2.id != run.id
    pd.testing.assert_frame_equal(findings_frame(session, run2.id), stored)
    assert session.scalar(select(AuditRun).where(AuditRun.id == run.id)).finding_count == len(stored)


def test_run_audit_for_one_department(session) -> None:
    _load(session, _devices())
    run, findings = run_audit(session, as_of=AS_OF, department="测试县交通运输局")
    assert run.department == "测试县交通运输局" and run.device_count == 1
    assert set(findings["department"]) == {"测试县交通运输局"}
    assert set(findings["device_code"].dropna()) == {"D06"}
    with pytest.raises(KeyError, match="没有编号为 999 的审查记录"):
        findings_frame(session, 999)
