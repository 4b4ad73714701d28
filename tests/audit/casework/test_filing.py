"""Filing a run's findings under their problems, set-based (audit.casework.problems.file_and_store): three runs of
hand-made findings over two departments, whose evidence keys differ only in case or whitespace or hold JSON's
special characters, some reviewed or decided between runs; every problem and finding row is as the rules of
filing say (new, observed again, back to review, resolved, not assessed, re-opened), and filing the stored findings
again (record_run) changes nothing."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select

from audit.casework import decisions as D
from audit.casework import problems as P
from audit.registry.models import Finding, Problem
from audit.rules.findings import findings_frame, store_run
from audit.rules.schema import FINDING_COLUMNS
from tests.audit.exports import world

SPECIAL = 'x"y\\z\n{}[],:\u5f55'  # quote, backslash, newline, JSON's brackets, a CJK character
THRESHOLD = {"max_lapse_days": {"value": 30, "unit": "天", "source": "《计量法》"}}


def finding(code, rule, key, *, cannot=False, **evidence):
    department = world.CITY if code and code.startswith("CG") else world.POLICE
    evidence = ({"cannot_assess": True} if cannot else {"key": key}) | evidence
    return {"rule": rule, "device_code": code, "department": department,
            "severity": "high", "action": "整改", "message": f"{code} {rule} {key!r} {evidence}",
            "evidence": evidence, "basis": "依据", "profile": "national", "threshold": THRESHOLD,
            "title_zh": rule, "title_en": rule}


def file(session, devices, rows, as_of):
    frame = pd.DataFrame(rows, columns=FINDING_COLUMNS).astype(object)
    frame = frame.where(frame.notna(), None)  # as the rules give it (audit.rules.engine.sort_findings)
    run = store_run(session, frame, as_of=as_of, profile="national", batch_ids=[], department=None,
                    device_count=len(devices), user="auditor", store_findings=False)
    outcome = P.file_and_store(session, run, frame, {c: d.id for c, d in devices.items()})
    session.commit()
    return run, outcome


def problems(session):
    return {(p.device_code, p.rule, p.key): p for p in session.scalars(select(Problem))}


def state(p):
    return (p.first_run_id, p.last_run_id, p.checked_run_id, p.last_check, p.resolved_run_id, p.resolved_reason,
            p.verdict, p.stale)


def links(session, run):
    return [(f.device_code, f.rule, (f.evidence or {}).get("key"), f.problem_id)
            for f in session.scalars(select(Finding).where(Finding.run_id == run.id).order_by(Finding.id))]


def test_a_reaudit_files_each_finding_under_the_problem_of_its_exact_key(session):
    devices = world.build(session)
    first = [finding("JL-001", "VIO02", "A", count=5), finding("JL-001", "VIO02", "a", count=5),
             finding("JL-001", "VIO02", " a", count=5), finding("JL-002", "VIO02", SPECIAL, count=1),
             finding("JL-002", "SGN01", None, signage=False), finding("CG-002", "VIO04", "键\t值", level_during=3),
             finding("JL-003", "PUB01", "", published_on=None), finding("JL-004", "REV01", None),
             finding("JL-002", "REV01", None, cannot=True), finding(None, "PLC03", "dept"),
             finding("JL-001", "VIO02", "A", count=6)]  # the same identity again: the last gives the state
    run1, out1 = file(session, devices, first, world.AS_OF)
    assert (out1.new, out1.observed, out1.resolved, out1.not_assessed) == (8, 0, 0, 0)
    found = problems(session)
    assert sorted(found) == sorted([("JL-001", "VIO02", "A"), ("JL-001", "VIO02", "a"), ("JL-001", "VIO02", " a"),
                                    ("JL-002", "VIO02", SPECIAL), ("JL-002", "SGN01", ""), ("CG-002", "VIO04", "键\t值"),
                                    ("JL-003", "PUB01", ""), ("JL-004", "REV01", "")])
    a_up, a_low, a_space = (found[("JL-001", "VIO02", k)] for k in ("A", "a", " a"))
    special, sgn, vio04 = found[("JL-002", "VIO02", SPECIAL)], found[("JL-002", "SGN01", "")], \
        found[("CG-002", "VIO04", "键\t值")]
    pub, rev = found[("JL-003", "PUB01", "")], found[("JL-004", "REV01", "")]
    assert a_up.material == {"severity": "high", "action": "整改", "count": 6}
    assert special.identity == f"{devices['JL-002'].id}|VIO02|{SPECIAL}" and special.material["count"] == 1
    assert len(found) == len({p.id for p in found.values()})
    ids = {k: p.id for k, p in found.items()}
    assert links(session, run1) == [
        ("JL-001", "VIO02", "A", ids[("JL-001", "VIO02", "A")]), ("JL-001", "VIO02", "a", ids[("JL-001", "VIO02", "a")]),
        ("JL-001", "VIO02", " a", ids[("JL-001", "VIO02", " a")]), ("JL-002", "VIO02", SPECIAL, special.id),
        ("JL-002", "SGN01", None, sgn.id), ("CG-002", "VIO04", "键\t值", vio04.id), ("JL-003", "PUB01", "", pub.id),
        ("JL-004", "REV01", None, rev.id), ("JL-002", "REV01", None, None), (None, "PLC03", "dept", None),
        ("JL-001", "VIO02", "A", ids[("JL-001", "VIO02", "A")])]
    assert findings_frame(session, run1.id)["evidence"].tolist() == [r["evidence"] for r in first]

    P.review_problem(session, a_up.id, confirm=True, reason=None, user="张三")
    P.review_problem(session, vio04.id, confirm=False, reason="设备故障期间，已另案说明", user="张三")
    P.review_problem(session, special.id, confirm=True, reason=None, user="张三")
    _, item = D.rectify(session, devices["JL-002"].id, measure="设置明显标识", requirement="设置标识牌",
                        deadline=dt.date(2024, 8, 31), responsible="李四", user="张三", problem_ids=[sgn.id],
                        on=dt.date(2024, 7, 1))
    session.commit()

    second = [finding("JL-001", "VIO02", "A", count=6), finding("JL-001", "VIO02", " a", count=5),
              finding("JL-002", "VIO02", SPECIAL, count=1), finding("CG-002", "VIO04", "键\t值", level_during=4),
              finding("JL-003", "PUB01", None, cannot=True), finding("CG-002", "VIO02", "A ", count=2),
              finding("CG-002", "VIO02", "a ", count=2)]
    run2, out2 = file(session, devices, second, world.AS_OF + dt.timedelta(days=31))
    assert (out2.new, out2.observed, out2.reappeared, out2.back_to_review, out2.resolved, out2.not_assessed) == \
        (2, 4, 0, [vio04.id], 2, 2)
    found = problems(session)
    assert len(found) == 10
    r1, r2 = run1.id, run2.id
    expected = {
        ("JL-001", "VIO02", "A"): (r1, r2, r2, "observed", None, None, "confirmed", False),  # same material
        ("JL-001", "VIO02", "a"): (r1, r1, r2, "resolved", r2, P.RESOLVED_NOT_FOUND, None, False),
        ("JL-001", "VIO02", " a"): (r1, r2, r2, "observed", None, None, None, False),
        ("JL-002", "VIO02", SPECIAL): (r1, r2, r2, "observed", None, None, "confirmed", False),
        ("JL-002", "SGN01", ""): (r1, r1, r2, "resolved", r2, P.RESOLVED_NOT_FOUND, None, False),
        ("CG-002", "VIO04", "键\t值"): (r1, r2, r2, "observed", None, None, "dismissed", True),  # evidence changed
        ("JL-003", "PUB01", ""): (r1, r1, r2, "not_assessed", None, None, None, False),  # cannot assess now
        ("JL-004", "REV01", ""): (r1, r1, r2, "not_assessed", None, None, None, False),  # planned: not examined
        ("CG-002", "VIO02", "A "): (r2, r2, r2, "observed", None, None, None, False),
        ("CG-002", "VIO02", "a "): (r2, r2, r2, "observed", None, None, None, False),
    }
    assert {k: state(p) for k, p in found.items()} == expected
    assert found[("CG-002", "VIO04", "键\t值")].material["level_during"] == 4
    assert found[("JL-002", "SGN01", "")].open_item_id == item.id  # the ledger keeps its item
    assert [pid for *_, pid in links(session, run2)] == [
        found[k].id for k in [("JL-001", "VIO02", "A"), ("JL-001", "VIO02", " a"), ("JL-002", "VIO02", SPECIAL),
                              ("CG-002", "VIO04", "键\t值")]] + [None] + \
        [found[("CG-002", "VIO02", "A ")].id, found[("CG-002", "VIO02", "a ")].id]
    assert found[("CG-002", "VIO02", "A ")].created_at == run2.created_at

    # A resolved problem found again is re-opened; what the third run does not find is resolved, but a 拆除
    # device's problems say so.
    devices["CG-002"].status = "拆除"
    session.commit()
    third = [finding("JL-001", "VIO02", "a", count=7), finding("JL-001", "VIO02", "A", count=6)]
    run3, out3 = file(session, devices, third, world.AS_OF + dt.timedelta(days=62))
    assert (out3.new, out3.observed, out3.reappeared, out3.resolved) == (0, 2, 1, 6)
    found = problems(session)
    assert state(found[("JL-001", "VIO02", "a")]) == (r1, run3.id, run3.id, "observed", None, None, None, False)
    assert found[("JL-001", "VIO02", "a")].material["count"] == 7
    assert {k[2]: found[k].resolved_reason for k in found if k[0] == "CG-002"} == {
        "键\t值": P.RESOLVED_REMOVED, "A ": P.RESOLVED_REMOVED, "a ": P.RESOLVED_REMOVED}

    # Filing the stored findings again (record_run) finds every problem where the first filing put it.
    before = {k: (state(p), p.material, p.message) for k, p in problems(session).items()}
    before_links = links(session, run3)
    again = P.record_run(session, run3)
    session.commit()
    assert (again.new, again.observed, again.reappeared, again.back_to_review) == (0, 2, 0, [])
    assert {k: (state(p), p.material, p.message) for k, p in problems(session).items()} == before
    assert links(session, run3) == before_links
