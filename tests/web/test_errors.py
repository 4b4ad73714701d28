"""Errors that stay errors, never a 500, on either backend: an id too large for the database names no record (404 or
a form's message; PostgreSQL's INTEGER ids refuse what SQLite would only not find), and a NUL character, which
PostgreSQL refuses in text, is refused with the request."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from audit.casework.plan import get_plan, load_plan
from audit.registry.models import Decision, LoginThrottle

from .support import DEPT_A, client_for, csrf, database_session, make_app, populate, post, upload

HUGE = "99999999999999999999"  # more than any database integer
# the first id an INTEGER column cannot hold, HUGE, and more digits than int() converts
BEYOND = [str(2**31), HUGE, "1" * 5000]


@pytest.fixture
def world(db_engine, tmp_path):
    """The seeded app on each backend (PostgreSQL where a server is given), with a plan and its task."""
    world = populate(make_app(tmp_path, DATABASE_URL=db_engine.url.render_as_string(hide_password=False)), tmp_path)
    with database_session(world.app) as db:
        plan = load_plan(db, {"title": "专项监督工作方案", "issuer": "某县司法局", "doc_prefix": "某司监督",
                              "tasks": [{"title": "报送自查报告", "deliverable": "自查报告", "deadline": "2024-07-25",
                                         "departments": [DEPT_A]}]}, user="admin")
        db.commit()
        world.extra.update(plan=plan.id, task=plan.tasks[0].id)
    return world


def test_every_url_with_an_id_answers_404_for_an_id_out_of_range(world):
    client = client_for(world.app, "admin")
    rules = [r for r in world.app.url_map.iter_rules() if "<int:" in r.rule]
    assert len(rules) >= 15
    for big in BEYOND:
        for rule in rules:
            url = re.sub(r"<int:\w+>", big, rule.rule)
            url = re.sub(r"<\w+>", "x", url)
            response = client.get(url) if "GET" in rule.methods else post(client, url)
            assert response.status_code == 404, (url, response.status_code)


def test_ids_out_of_range_in_query_strings_and_forms_are_no_500(world):
    client = client_for(world.app, "auditor")
    device, plan, task = world.device["JB-001"], world.extra["plan"], world.extra["task"]
    for big in BEYOND:
        for url in (f"/devices?department={big}", f"/api/devices?department={big}", f"/map?department={big}",
                    f"/ledger?department={big}", f"/plan?plan={big}", f"/api/findings?run={big}",
                    f"/reports/self-report?task={big}", f"/letters/new?kind=opinion&department={big}",
                    f"/letters/preview?kind=opinion&department={big}&deadline=2099-01-01"):
            assert client.get(url).status_code == 404, url
        assert client.get(f"/map?focus={big}").status_code == 200
        assert client.get(f"/documents/file?document=summary.docx&run={big}").status_code < 500
        preview = client.get(f"/letters/preview?kind=opinion&department={world.dept['b']}&deadline=2099-01-01"
                             f"&problem={big}")
        assert preview.status_code < 500
        response = post(client, f"/review/devices/{device}/keep", {"reason": "", "finding": big})
        assert response.status_code == 303
        assert post(client, "/reports/self-report", {"department": world.dept["a"], "case": big}).status_code == 404
        assert post(client, f"/plan/tasks/{task}/file", {"department": big, "method": "generated"}).status_code < 500
        if len(big) > 19 or int(big) >= 2**63:  # a seed is a BIGINT
            drawn = post(client, "/spotchecks", {"devices": "1", "roster": "甲\n乙", "seed": big})
            assert drawn.status_code == 400 and "随机种子" in drawn.text, drawn.status_code
        for form in ({"title": "新任务", "deliverable": "自查报告", "deadline": "2024-08-01", "phase_id": big},
                     {"title": "新任务", "deliverable": "自查报告", "deadline": "2024-08-01", "department": big}):
            assert post(client, f"/plan/{plan}/tasks", form).status_code == 303, form
    with database_session(world.app) as db:
        assert [t.title for t in get_plan(db, plan).tasks] == ["报送自查报告"]  # each form was refused


def test_a_nul_character_anywhere_in_a_request_is_refused_before_anything_reads_it(world):
    """PostgreSQL refuses NUL in text, so a crafted request was a 500 (the login form's, unsigned in, included)."""
    anonymous = world.app.test_client()
    refused = [anonymous.post("/login", data={"username": "aud\x00itor", "password": "x",
                                              "csrf_token": csrf(anonymous)}),
               anonymous.post("/login", json={"username": "auditor", "password": "pa\x00ss"}),
               anonymous.get("/public?q=a%00b")]
    client = client_for(world.app, "auditor")
    device = world.device["JB-001"]
    with database_session(world.app) as db:
        decisions = db.scalar(select(func.count()).select_from(Decision))
    refused += [client.get("/devices?q=a%00b"), client.get("/api/findings?rule=a%00b"),
                client.get("/reports/self-report%00"),
                post(client, f"/review/devices/{device}/keep", {"reason": "已核实\x00"}),
                post(client, f"/review/devices/{device}/keep", {"reason": "已核实", "x\x00": "1"}),
                upload(client_for(world.app, "dept_a"), "设备\x00.csv", "设备编号\n".encode(), wait=False)]
    for response in refused:
        assert response.status_code == 400, (response.request.url, response.status_code)
        text = response.get_json()["error"] if response.is_json else response.text
        assert "空字符（NUL）" in text, response.request.url
    with database_session(world.app) as db:
        assert db.scalar(select(func.count()).select_from(Decision)) == decisions
    assert client.get("/devices?q=JB").status_code == 200


def test_a_name_longer_than_any_account_is_counted_and_refused_like_any_wrong_name(world):
    """The failure counter is keyed by the name: one longer than its column was a 500 on PostgreSQL (unsigned in)."""
    anonymous = world.app.test_client()
    long_name = "长" * 400
    for _ in range(2):
        response = anonymous.post("/login", data={"username": long_name, "password": "x", "csrf_token": csrf(anonymous)})
        assert response.status_code == 401 and "用户名或密码错误" in response.text
    assert anonymous.post("/login", json={"username": long_name * 10, "password": "x"},
                          headers={"X-CSRFToken": csrf(anonymous)}).status_code == 401
    with database_session(world.app) as db:
        keys = db.scalars(select(LoginThrottle.key).where(LoginThrottle.key.like("account:%"))).all()
        failures = db.scalars(select(LoginThrottle.failures).where(LoginThrottle.key.like("account:%"))).all()
    assert len(keys) == 2 and all(len(k) <= 300 and k.startswith("account:sha256:") for k in keys)
    assert sorted(failures) == [1, 2]
