"""The device list in SQL (audit.casework.devicelist): every filter, sort and page gives the devices that the
definition of an open current finding gives, worked out here in Python from the stored findings and problems."""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from audit.casework import problems as P
from audit.casework.devicelist import DeviceCriteria, department_choices, device_page, matching_ids
from audit.registry.models import AuditRun, Department, Device, Finding, Problem
from tests.audit.exports import world

PER_PAGE = 7


@pytest.fixture
def registry(session):
    """The shared world and 30 more devices of both departments, with and without reviews, signs and names."""
    world.build(session)
    depts = list(session.scalars(select(Department).order_by(Department.id)))
    for i in range(30):
        attrs = dict(world.GOOD, name=None if i % 5 == 0 else f"测试设备{i:02d}", road=None if i % 4 == 0 else
                     f"测试路{i % 3}", address=f"测试路{i % 3}第{i}号", lon=117.40 + i * 0.003, lat=26.70 + i * 0.002)
        if i % 3 == 0:
            attrs.update(legal_review_on=None, legal_review_no=None)  # REV01, 严重
        if i % 4 == 1:
            attrs.update(signage=False)  # SGN01
        if i % 7 == 2:
            attrs.update(in_service_on=None, status="停用")
        session.add(Device(device_code=f"GX-{i:03d}", department_id=depts[i % 2].id, device_type=("闯红灯", "违法停车")[i % 2],
                           raw_lon=attrs["lon"], raw_lat=attrs["lat"], **attrs))
    session.commit()
    world.run(session)
    return session, depts


def expected(session, criteria: DeviceCriteria, scope, sort, desc):
    """The list by the definition: a device's open findings are those of its department's latest run (its own,
    or the latest run of all) that observe a problem not dismissed (or dismissed on evidence since changed)."""
    runs = list(session.execute(select(AuditRun.id, AuditRun.department).order_by(AuditRun.id)))
    open_, unassessed = set(), set()
    problems = {p.id: p for p in session.scalars(select(Problem))}
    for f in session.scalars(select(Finding)):
        current = [rid for rid, dept in runs if dept is None or dept == f.department]
        if f.device_id is None or not current or f.run_id != current[-1]:
            continue
        if f.problem_id is None:
            unassessed.add(f.device_id)
        elif not (problems[f.problem_id].verdict == "dismissed" and not problems[f.problem_id].stale) and \
                criteria.rule in ("", f.rule) and criteria.severity in ("", f.severity):
            open_.add(f.device_id)
    names = {i: n for i, n in session.execute(select(Department.id, Department.name))}
    out = []
    for d in session.scalars(select(Device)):
        text = [d.device_code, d.name, d.road, d.address]
        if (scope is not None and d.department_id != scope) or \
                (criteria.department_id is not None and d.department_id != criteria.department_id) or \
                (criteria.device_type and d.device_type != criteria.device_type) or \
                (criteria.status and d.status != criteria.status) or \
                (criteria.q and not any(criteria.q in (t or "") for t in text)) or \
                ((criteria.rule or criteria.severity) and d.id not in open_) or \
                (criteria.unassessed and d.id not in unassessed):
            continue
        out.append(d)
    key = {"code": None, "name": "name", "type": "device_type", "road": "road", "status": "status",
           "in_service": "in_service_on", "department": "department"}[sort]
    out.sort(key=lambda d: d.device_code)  # the tie-break, always ascending
    if key is None:
        return [d.device_code for d in sorted(out, key=lambda d: d.device_code, reverse=desc)]
    value = (lambda d: names[d.department_id]) if key == "department" else (lambda d: getattr(d, key))
    filled = sorted((d for d in out if value(d) is not None), key=value, reverse=desc)  # stable: by code
    return [d.device_code for d in filled + [d for d in out if value(d) is None]]


def pages_of(session, criteria, scope, sort, desc):
    """Every page's devices, cut from the matching ids as the web app keeps them."""
    matches = matching_ids(session, criteria, scope=scope, sort=sort, desc=desc)
    asked = dict(scope=scope, sort=sort, desc=desc, per_page=PER_PAGE)
    first = device_page(session, criteria, page=1, matches=matches, **asked)
    assert device_page(session, criteria, page=1, **asked) == first  # the ids read there when not given
    codes = [r.device_code for r in first.rows]
    for page in range(2, first.pages + 1):
        codes += [r.device_code for r in device_page(session, criteria, page=page, matches=matches, **asked).rows]
    assert len(codes) == first.total
    return codes


CRITERIA = [DeviceCriteria(), DeviceCriteria(severity="严重"), DeviceCriteria(rule="SGN01"),
            DeviceCriteria(rule="REV01", severity="严重"), DeviceCriteria(rule="REV01", severity="一般"),
            DeviceCriteria(unassessed=True), DeviceCriteria(q="测试路1"), DeviceCriteria(device_type="闯红灯",
                                                                                      severity="严重"),
            DeviceCriteria(status="停用", unassessed=True), DeviceCriteria(q="100%")]


def test_every_filter_sort_and_page_lists_what_the_definition_gives(registry):
    session, depts = registry
    for criteria, sort, desc in itertools.product(CRITERIA, ["code", "name", "road", "department", "in_service"],
                                                  [False, True]):
        assert pages_of(session, criteria, None, sort, desc) == expected(session, criteria, None, sort, desc), \
            (criteria, sort, desc)
    for criteria in CRITERIA:  # a department user: its own devices only, whatever it asks for
        for scope in (d.id for d in depts):
            asked = dataclasses.replace(criteria, department_id=scope)
            assert pages_of(session, criteria, scope, "code", False) == expected(session, asked, scope, "code", False)
    assert pages_of(session, DeviceCriteria(severity="严重"), None, "code", False)  # the test lists something


def test_the_page_shows_each_device_s_open_findings_and_a_dismissal_takes_its_device_off(registry):
    session, _ = registry
    page = device_page(session, DeviceCriteria(rule="REV01"), scope=None, per_page=100)
    listed = {r.device_code for r in page.rows}
    assert "JL-001" in listed and "GX-000" in listed
    by_device = {(r.device_code, rule) for r in page.rows for d, rule, _ in page.findings if d == r.id}
    assert ("JL-001", "REV01") in by_device
    P.review_problem(session, world.problem(session, "JL-001", "REV01").id, confirm=False, reason="已补审核",
                     user="张三")
    session.commit()
    page = device_page(session, DeviceCriteria(rule="REV01"), scope=None, per_page=100)
    assert "JL-001" not in {r.device_code for r in page.rows} and "GX-000" in {r.device_code for r in page.rows}
    assert [r.device_code for r in page.rows] == expected(session, DeviceCriteria(rule="REV01"), None, "code", False)


def test_a_department_s_own_later_run_is_its_current_run(registry):
    session, depts = registry
    police = session.scalar(select(Department).where(Department.name == world.POLICE))
    for device in session.scalars(select(Device).where(Device.department_id == police.id)):
        device.legal_review_on, device.legal_review_no = dt.date(2023, 6, 1), "将公法审〔2023〕99号"
    session.commit()
    world.run(session, department=world.POLICE)
    found = [r.device_code for r in device_page(session, DeviceCriteria(rule="REV01"), scope=None, per_page=100).rows]
    assert found and all(session.scalar(select(Device.department_id).where(Device.device_code == c)) != police.id
                         for c in found)  # the city bureau's, still from the run of all departments
    assert found == expected(session, DeviceCriteria(rule="REV01"), None, "code", False)


def test_a_page_past_the_end_is_the_last_page_and_an_empty_list_has_one(registry):
    session, _ = registry
    total = device_page(session, DeviceCriteria(), scope=None, per_page=PER_PAGE).total
    last = device_page(session, DeviceCriteria(), scope=None, page=99, per_page=PER_PAGE)
    assert (last.page, last.pages, len(last.rows)) == (-(-total // PER_PAGE),) * 2 + (total % PER_PAGE or PER_PAGE,)
    none = device_page(session, DeviceCriteria(q="没有这个设备"), scope=None, page=3, per_page=PER_PAGE)
    assert (none.total, none.page, none.pages, none.rows, none.findings) == (0, 1, 1, [], [])


def test_the_department_choices_are_all_or_only_the_confined_user_s_own(registry):
    session, depts = registry
    by_name = sorted((d.id, d.name) for d in depts)
    by_name.sort(key=lambda d: d[1])
    assert [(d.id, d.name) for d in department_choices(session, None, confined=False)] == by_name
    assert [(d.id, d.name) for d in department_choices(session, depts[1].id, confined=True)] == [(depts[1].id,
                                                                                                    depts[1].name)]
    assert department_choices(session, None, confined=True) == []  # confined but of no department: none
