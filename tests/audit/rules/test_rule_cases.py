"""Every rule case file, run through audit.engine.run_rules: flagged, passing and cannot-assess devices."""
from __future__ import annotations

import math

import pytest

from audit.rules import get_rule

from .casefiles import CASE_DIR, case_ids, load_cases


def _matches(actual, expected) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _matches(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            _matches(a, e) for a, e in zip(actual, expected))
    if isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        return math.isclose(actual, expected, rel_tol=1e-3, abs_tol=1e-6)
    return actual == expected


def _select(findings, spec):
    if "device_code" in spec:
        return findings[findings["device_code"] == spec["device_code"]]
    return findings[findings["device_code"].isna() & (findings["department"] == spec["department"])]


@pytest.mark.parametrize(("code", "index"), case_ids(), ids=[f"{c}-{i}" for c, i in case_ids()])
def test_rule_case(code: str, index: int) -> None:
    case = load_cases(CASE_DIR / f"{code}.toml")[index]
    rule = get_rule(code)
    findings = case.run()
    expect = case.expect
    assert set(findings["rule"]) <= {code}
    cannot = findings["evidence"].map(lambda e: bool(e.get("cannot_assess"))).astype(bool)
    real, unassessed = findings[~cannot], findings[cannot]

    listed = set(expect.get("flagged", [])) | set(expect.get("not_flagged", [])) | set(expect.get("cannot_assess", []))
    assert listed == set(case.devices["device_code"]), "every device of a case is expected something"
    for device in expect.get("flagged", []):
        assert device in set(real["device_code"]), f"{device} should be flagged by {code} ({case.name})"
        assert device not in set(unassessed["device_code"])
    for device in expect.get("not_flagged", []):
        said = findings.loc[findings["device_code"] == device, "message"].tolist()
        assert not said, f"{device} should pass {code} ({case.name}): {said}"
    for device in expect.get("cannot_assess", []):
        assert device in set(unassessed["device_code"]), f"{device}: {code} should say it cannot assess"
        assert device not in set(real["device_code"])
    dept_unassessed = set(unassessed.loc[unassessed["device_code"].isna(), "department"])
    assert dept_unassessed == set(expect.get("department_cannot_assess", []))

    for spec in expect.get("evidence", []):
        chosen = _select(findings, spec)
        assert any(_matches(e, spec["evidence"]) for e in chosen["evidence"]), \
            f"no {code} finding for {spec} among {chosen['evidence'].tolist()}"
        if "threshold" in spec:
            assert any(_matches(t, spec["threshold"]) for t in chosen["threshold"])
    for device, n in expect.get("finding_counts", {}).items():
        assert (findings["device_code"] == device).sum() == n
    for spec in expect.get("absent", []):
        chosen = _select(findings, spec)
        assert not any(_matches(e, spec["evidence"]) for e in chosen["evidence"])

    # Every finding carries the rule's metadata; a finding (not a cannot-assess) records the thresholds it used.
    assert (findings["basis"] == rule.basis_for(case.ctx.profile)).all() and (findings["profile"] == case.ctx.profile.name).all()
    assert findings["message"].map(lambda m: isinstance(m, str) and len(m) > 10).all()
    for t in real["threshold"]:
        if t is not None:
            assert set(t) <= set(rule.settings) and all({"value", "unit", "source"} <= set(v) for v in t.values())
    assert set(unassessed["severity"]) <= {"一般"} and set(unassessed["action"]) <= {"核查"}
    assert set(real["severity"]) <= {rule.severity} and set(real["action"]) <= {rule.action}
