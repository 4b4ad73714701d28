"""Export benchmark: the self-inspection attachment (突出问题清单) and the rectification ledger for 10,000 findings.

A generated SQLite registry: 10,000 devices in 10 departments, one audit run with one finding per device, and a
ledger item for every finding (the worst case: no two problems are handled alike, so every finding is a row).
Target: each export under 10 s.
"""
from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from audit.registry.models import Decision, LedgerEvent, LedgerItem
from audit.casework.decisions import category_of  # noqa: E402
from audit.exports import export  # noqa: E402
from audit.registry.db import init_db, make_engine, session_factory  # noqa: E402
from audit.registry.models import Base, Department, Device  # noqa: E402
from audit.registry.models import AuditRun, Finding  # noqa: E402

N_FINDINGS = 10_000
N_DEPARTMENTS = 10
TARGET_S = 10.0
RULES = [("REV01", "严重", "停用"), ("SGN01", "较重", "整改"), ("CAL02", "严重", "停用"), ("PLC01", "较重", "整改"),
         ("PUB01", "严重", "停用")]
STATUSES = ["待整改", "整改中", "已整改待核查", "已销号"]


def populate(session) -> None:  # type: ignore[no-untyped-def]
    session.execute(insert(Department), [{"name": f"基准测试第{d}大队"} for d in range(N_DEPARTMENTS)])
    depts = list(session.scalars(select(Department).order_by(Department.id)))
    session.execute(insert(Device), [
        {"device_code": f"BM-{i:06d}", "department_id": depts[i % N_DEPARTMENTS].id, "device_type": "闯红灯",
         "name": f"测试设备{i}", "road": f"测试路{i % 300}", "address": f"测试路{i % 300}第{i}号", "status": "在用",
         "lon": 117.0 + i * 1e-5, "lat": 26.0 + i * 1e-5} for i in range(N_FINDINGS)])
    devices = list(session.execute(select(Device.id, Device.device_code, Department.name).join(Department)
                                   .order_by(Device.id)))
    run = AuditRun(as_of=dt.date(2024, 6, 30), profile="national", ruleset_version="bench", batch_ids=[],
                   device_count=N_FINDINGS, finding_count=N_FINDINGS, user="bench")
    session.add(run)
    session.flush()
    findings = []
    for i, (device_id, code, dept) in enumerate(devices):
        rule, severity, action = RULES[i % len(RULES)]
        findings.append({"run_id": run.id, "rule": rule, "device_id": device_id, "device_code": code,
                         "department": dept, "severity": severity, "action": action,
                         "message": f"设备{code}存在问题，第{i}项；应限期整改。", "evidence": {"n": i},
                         "basis": "《中华人民共和国行政处罚法》第四十一条第一款", "threshold": None})
    session.execute(insert(Finding), findings)
    ids = list(session.scalars(select(Finding.id).where(Finding.run_id == run.id).order_by(Finding.id)))
    on = dt.date(2024, 7, 1)
    session.execute(insert(Decision), [
        {"device_id": f["device_id"], "kind": "rectify", "decided_on": on, "reason": f["message"],
         "decided_by": "bench", "finding_ids": [fid]} for f, fid in zip(findings, ids)])
    decision_ids = list(session.scalars(select(Decision.id).order_by(Decision.id)))
    items = []
    for i, (f, decision_id) in enumerate(zip(findings, decision_ids)):
        status = STATUSES[i % 4]
        closed = status == "已销号"
        items.append({"device_id": f["device_id"], "decision_id": decision_id, "department": f["department"],
                      "problem": f["message"], "category": category_of(f["rule"]), "rules": [f["rule"]],
                      "measure": f"整改措施{i}", "requirement": "按规定整改", "responsible": f"责任人{i % 50}",
                      "deadline": on + dt.timedelta(days=30 + i % 90), "status": status,
                      "closed_on": on + dt.timedelta(days=40) if closed else None,
                      "closed_by": "核查人" if closed else None, "close_evidence": "现场照片" if closed else None})
    session.execute(insert(LedgerItem), items)
    item_ids = list(session.scalars(select(LedgerItem.id).order_by(LedgerItem.id)))
    session.execute(insert(LedgerEvent), [{"item_id": i, "user": "bench", "to_status": "待整改"} for i in item_ids])
    session.commit()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        engine = make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
        init_db(engine)
        Base.metadata.create_all(engine)
        with session_factory(engine)() as session:
            t0 = time.perf_counter()
            populate(session)
            print(f"setup: {N_FINDINGS:,} devices, findings and ledger items in {time.perf_counter() - t0:.1f} s")
            results = {}
            for kind, suffix in (("self-inspection", ".xlsx"), ("ledger", ".xlsx"), ("self-inspection", ".docx")):
                t0, c0 = time.perf_counter(), time.process_time()
                path = export(session, kind, folder / f"{kind}{suffix}", as_of=dt.date(2024, 9, 1))
                elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
                results[f"{kind}{suffix}"] = elapsed
                print(f"{kind}{suffix}: {elapsed:.2f} s wall, {cpu:.2f} s CPU ({path.stat().st_size / 2**20:.1f} MB)")
        engine.dispose()
    slow = [k for k, v in results.items() if v >= TARGET_S]
    print(f"target < {TARGET_S:.0f} s each: " + ("met" if not slow else "MISSED by " + ", ".join(slow)))


if __name__ == "__main__":
    main()
