"""Every endpoint against every role: who gets the page, who is sent to log in, who gets 403 or 404.

A department user asking for anything of another department gets 404, never its content. The matrix must name
every endpoint of the app: a new endpoint without a row here fails test_matrix_covers_every_endpoint.
"""
from __future__ import annotations

import pytest

import datetime as dt
from pathlib import Path

from tests import filesamples

from .support import AS_OF, DEPT_A, DEPT_B, client_for, database_session, post, token_of, upload

ROLES = ("anonymous", "admin", "auditor", "dept_a", "dept_b")
LOGIN = "login"  # anonymous: pages redirect to the login form, the API answers 401

BAD_CSV = "设备编号,设备类型,经度,纬度\nJA-009,无人机,abc,26.7\n".encode()


@pytest.fixture(scope="module")
def world(shared_world):
    """The shared world plus two pending uploads of department A (one for the cancel endpoint), a photo of a device
    of each department, department B's answer to its problem (already rejected), a spot check, a plan whose task is
    department A's with a filing, an issued document and an assessment."""
    from audit.casework import attachments, responses, spotcheck
    from audit.casework.filings import file_task
    from audit.casework.plan import load_plan
    from audit.exports.letters import issue, request

    clerk = client_for(shared_world.app, "dept_a")
    shared_world.token["a"] = token_of(upload(clerk, "bad.csv", BAD_CSV))
    shared_world.token["cancel"] = token_of(upload(clerk, "bad.csv", BAD_CSV))
    folder = Path(shared_world.app.config["ATTACHMENTS_FOLDER"])
    with database_session(shared_world.app) as db:
        for key, code in (("a", "JA-001"), ("b", "JB-001")):
            [photo] = attachments.attach(db, folder, [attachments.Upload(filesamples.jpeg(), "标识.jpg")],
                                         device_id=shared_world.device[code], purpose="标识照片", user="setup")
            shared_world.extra[f"attachment_{key}"] = photo.id
        answer = responses.respond(db, shared_world.problem["b"], kind="说明", text="已补办审核手续", user="clerk_b",
                                   department=DEPT_B)
        responses.reject(db, answer.id, reason="未见审核意见书", user="auditor")
        shared_world.extra["response_b"] = answer.id
        check = spotcheck.draw(db, devices=1, inspectors=["甲", "乙"], seed=7, user="auditor")
        shared_world.extra["spot_check"] = check.id
        shared_world.extra["spot_device"] = check.items[0].device_id
        plan = load_plan(db, {"title": "专项监督工作方案", "issuer": "某县司法局", "doc_prefix": "某司监督",
                              "tasks": [{"title": "报送自查报告", "deliverable": "自查报告", "deadline": "2024-07-25",
                                         "departments": [DEPT_A]}]}, user="admin")
        task = plan.tasks[0]
        filing = file_task(db, task.id, shared_world.dept["a"], content=b"%PDF-1.4 report", filename="自查报告.pdf",
                           method="upload", user="clerk_a", on=AS_OF)
        document = issue(db, request(db, "opinion", department=DEPT_B, deadline=AS_OF + dt.timedelta(days=30),
                                     on=AS_OF), prefix=None, user="auditor")
        db.commit()
        shared_world.extra.update(plan=plan.id, task=task.id, filing=filing.id, document=document.id)
    return shared_world


@pytest.fixture
def clients(world):
    return {role: client_for(world.app, role) for role in ROLES}


def A(w):  # noqa: N802  (device ids by department)
    return w.device["JA-001"]


def B(w):  # noqa: N802
    return w.device["JB-001"]


# (endpoint, method, url builder, form data (or its builder), expected per role in ROLES order)
MATRIX = [
    ("overview.index", "GET", lambda w: "/", None, (LOGIN, 200, 200, 200, 200)),
    ("devices.index", "GET", lambda w: "/devices", None, (LOGIN, 200, 200, 200, 200)),
    ("devices.index", "GET", lambda w: f"/devices?department={w.dept['b']}", None, (LOGIN, 200, 200, 404, 200)),
    ("devices.show", "GET", lambda w: f"/devices/{A(w)}", None, (LOGIN, 200, 200, 200, 404)),
    ("devices.show", "GET", lambda w: f"/devices/{B(w)}", None, (LOGIN, 200, 200, 404, 200)),
    ("devices.export_csv", "GET", lambda w: f"/devices/export.csv?department={w.dept['a']}", None,
     (LOGIN, 200, 200, 200, 404)),
    ("devices.funnel", "GET", lambda w: f"/devices/funnel?department={w.dept['a']}&type=固定测速", None,
     (LOGIN, 200, 200, 200, 404)),
    ("devices.funnel", "GET", lambda w: f"/devices/funnel?department={w.dept['b']}", None, (LOGIN, 200, 200, 404, 200)),
    ("map.index", "GET", lambda w: "/map", None, (LOGIN, 200, 200, 200, 200)),
    ("map.index", "GET", lambda w: f"/map?department={w.dept['a']}", None, (LOGIN, 200, 200, 200, 404)),
    ("map.popup", "GET", lambda w: f"/map/popup/{A(w)}", None, (LOGIN, 200, 200, 200, 404)),
    ("review.index", "GET", lambda w: "/review", None, (LOGIN, 200, 200, 403, 403)),
    ("upload.index", "GET", lambda w: "/upload", None, (LOGIN, 200, 200, 200, 200)),
    ("upload.template", "GET", lambda w: "/upload/template/devices.xlsx", None, (LOGIN, 200, 200, 200, 200)),
    ("upload.show", "GET", lambda w: f"/upload/{w.token['a']}", None, (LOGIN, 200, 200, 200, 404)),
    ("upload.annotated", "GET", lambda w: f"/upload/{w.token['a']}/annotated.xlsx", None,
     (LOGIN, 200, 200, 200, 404)),
    ("upload.status", "GET", lambda w: f"/upload/{w.token['a']}/status", None, (LOGIN, 200, 200, 200, 404)),
    ("api.csrf_token", "GET", lambda w: "/api/csrf", None, (200, 200, 200, 200, 200)),
    ("api.devices", "GET", lambda w: "/api/devices", None, (LOGIN, 200, 200, 200, 200)),
    ("api.devices", "GET", lambda w: f"/api/devices?department={w.dept['b']}", None, (LOGIN, 200, 200, 404, 200)),
    ("api.device", "GET", lambda w: f"/api/devices/{A(w)}", None, (LOGIN, 200, 200, 200, 404)),
    ("api.device", "GET", lambda w: f"/api/devices/{B(w)}", None, (LOGIN, 200, 200, 404, 200)),
    ("api.findings", "GET", lambda w: "/api/findings", None, (LOGIN, 200, 200, 200, 200)),
    ("api.findings", "GET", lambda w: f"/api/findings?department={DEPT_A}", None, (LOGIN, 200, 200, 200, 404)),
    ("auth.login_form", "GET", lambda w: "/login", None, (200, 302, 302, 302, 302)),
    ("ledger.index", "GET", lambda w: "/ledger", None, (LOGIN, 200, 200, 200, 200)),
    ("ledger.index", "GET", lambda w: f"/ledger?department={w.dept['b']}", None, (LOGIN, 200, 200, 404, 200)),
    ("ledger.show", "GET", lambda w: f"/ledger/{w.ledger_b}", None, (LOGIN, 200, 200, 404, 200)),
    ("documents.index", "GET", lambda w: "/documents", None, (LOGIN, 200, 200, 200, 200)),
    ("documents.index", "GET", lambda w: f"/documents?department={w.dept['b']}", None, (LOGIN, 200, 200, 404, 200)),
    ("documents.download", "GET", lambda w: f"/documents/file?document=ledger.xlsx&department={w.dept['a']}", None,
     (LOGIN, 200, 200, 200, 404)),
    ("documents.download", "GET", lambda w: f"/documents/file?document=findings.csv&department={w.dept['b']}", None,
     (LOGIN, 200, 200, 404, 200)),
    ("public.notice", "GET", lambda w: "/public/notice", None, (200, 200, 200, 200, 200)),
    ("attachments.download", "GET", lambda w: f"/attachments/{w.extra['attachment_a']}", None,
     (LOGIN, 200, 200, 200, 404)),
    ("attachments.download", "GET", lambda w: f"/attachments/{w.extra['attachment_b']}", None,
     (LOGIN, 200, 200, 404, 200)),
    ("attachments.thumb", "GET", lambda w: f"/attachments/{w.extra['attachment_b']}/thumb", None,
     (LOGIN, 200, 200, 404, 200)),
    ("todo.index", "GET", lambda w: "/todo", None, (LOGIN, 200, 200, 200, 200)),
    ("todo.index", "GET", lambda w: f"/todo?department={w.dept['b']}", None, (LOGIN, 200, 200, 404, 200)),
    ("spotchecks.index", "GET", lambda w: "/spotchecks", None, (LOGIN, 200, 200, 403, 403)),
    ("spotchecks.show", "GET", lambda w: f"/spotchecks/{w.extra['spot_check']}", None, (LOGIN, 200, 200, 403, 403)),
    ("spotchecks.export", "GET", lambda w: f"/spotchecks/{w.extra['spot_check']}/list.xlsx", None,
     (LOGIN, 200, 200, 403, 403)),
    ("public.notice_file", "GET", lambda w: f"/public/notice.xlsx?department={DEPT_B}", None,
     (200, 200, 200, 200, 200)),
    ("plan.index", "GET", lambda w: "/plan", None, (LOGIN, 200, 200, 200, 200)),
    ("plan.task", "GET", lambda w: f"/plan/tasks/{w.extra['task']}", None, (LOGIN, 200, 200, 200, 404)),
    ("plan.download", "GET", lambda w: f"/plan/filings/{w.extra['filing']}/file", None, (LOGIN, 200, 200, 200, 404)),
    ("reports.edit", "GET", lambda w: "/reports/self-report", None, (LOGIN, 200, 200, 200, 200)),
    ("reports.edit", "GET", lambda w: f"/reports/self-report?department={w.dept['b']}", None,
     (LOGIN, 200, 200, 404, 200)),
    ("reports.edit", "GET", lambda w: "/reports/work-report", None, (LOGIN, 200, 200, 403, 403)),
    ("letters.index", "GET", lambda w: "/letters", None, (LOGIN, 200, 200, 403, 403)),
    ("letters.new", "GET", lambda w: "/letters/new?kind=supervise", None, (LOGIN, 200, 200, 403, 403)),
    ("letters.show_preview", "GET",
     lambda w: f"/letters/preview?kind=opinion&department={w.dept['b']}&deadline=2099-01-01&problem={w.problem['b']}",
     None,
     (LOGIN, 200, 200, 403, 403)),
    ("letters.download", "GET", lambda w: f"/letters/{w.extra['document']}/file", None, (LOGIN, 200, 200, 403, 403)),
    ("assessments.index", "GET", lambda w: "/assessments", None, (LOGIN, 200, 200, 200, 200)),
    ("assessments.device", "GET", lambda w: f"/assessments/devices/{A(w)}", None, (LOGIN, 200, 200, 200, 404)),
    # State-changing requests, sent with a valid CSRF token but data the audit functions refuse: access is
    # decided before anything is written, so these rows change nothing.
    ("overview.run", "POST", lambda w: "/audit/run", {"profile": "no-such-profile"}, (LOGIN, 303, 303, 403, 403)),
    ("review.review_problem", "POST", lambda w: f"/review/problems/{w.problem['a']}", {"decision": "dismiss"},
     (LOGIN, 303, 303, 403, 403)),
    ("review.review_many", "POST", lambda w: "/review/problems", {"decision": "dismiss"},
     (LOGIN, 303, 303, 403, 403)),
    ("review.suspend_recommended", "POST", lambda w: "/review/suspend-recommended", {"reason": ""},
     (LOGIN, 303, 303, 403, 403)),
    ("review.suspend", "POST", lambda w: f"/review/devices/{B(w)}/suspend", {"reason": ""},
     (LOGIN, 303, 303, 403, 403)),
    ("review.rectify", "POST", lambda w: f"/review/devices/{B(w)}/rectify", {"deadline": "soon"},
     (LOGIN, 303, 303, 403, 403)),
    ("review.keep", "POST", lambda w: f"/review/devices/{B(w)}/keep", {"reason": ""}, (LOGIN, 303, 303, 403, 403)),
    ("review.restore", "POST", lambda w: f"/review/devices/{B(w)}/restore", {"reason": ""},
     (LOGIN, 303, 303, 403, 403)),
    ("review.remove", "POST", lambda w: f"/review/devices/{B(w)}/remove", {"reason": ""},
     (LOGIN, 303, 303, 403, 403)),
    ("ledger.advance", "POST", lambda w: f"/ledger/{w.ledger_b}/advance", {"to_status": "已销号"},
     (LOGIN, 403, 403, 404, 403)),
    ("ledger.close", "POST", lambda w: f"/ledger/{w.ledger_b}/close", {"evidence": ""}, (LOGIN, 303, 303, 403, 403)),
    ("ledger.reopen", "POST", lambda w: f"/ledger/{w.ledger_b}/reopen", {"reason": ""}, (LOGIN, 303, 303, 403, 403)),
    ("ledger.attach", "POST", lambda w: f"/ledger/{w.ledger_b}/attach", {}, (LOGIN, 303, 303, 404, 303)),
    ("attachments.add", "POST", lambda w: f"/attachments/device/{B(w)}", {"purpose": "标识照片"},
     (LOGIN, 303, 303, 404, 303)),
    ("problems.respond", "POST", lambda w: f"/problems/{w.problem['b']}/responses", {"kind": "说明", "text": ""},
     (LOGIN, 403, 403, 404, 303)),
    ("problems.accept", "POST", lambda w: f"/responses/{w.extra['response_b']}/accept", {},
     (LOGIN, 303, 303, 403, 403)),
    ("problems.reject", "POST", lambda w: f"/responses/{w.extra['response_b']}/reject", {"reason": ""},
     (LOGIN, 303, 303, 403, 403)),
    ("spotchecks.draw", "POST", lambda w: "/spotchecks", {"devices": ""}, (LOGIN, 400, 400, 403, 403)),
    ("spotchecks.record", "POST", lambda w: f"/spotchecks/{w.extra['spot_check']}/devices/{w.extra['spot_device']}",
     {"result": "优秀"}, (LOGIN, 303, 303, 403, 403)),
    ("upload.submit", "POST", lambda w: "/upload", {"kind": "devices"}, (LOGIN, 302, 302, 302, 302)),
    ("upload.confirm", "POST", lambda w: f"/upload/{w.token['a']}/confirm", {}, (LOGIN, 303, 303, 303, 404)),
    ("upload.cancel", "POST", lambda w: f"/upload/{w.token['cancel']}/cancel", {}, (LOGIN, 303, 303, 303, 404)),
    ("plan.create", "POST", lambda w: "/plan", {"title": ""}, (LOGIN, 303, 303, 403, 403)),
    ("plan.update", "POST", lambda w: f"/plan/{w.extra['plan']}", {"title": ""}, (LOGIN, 303, 303, 403, 403)),
    ("plan.add_phase", "POST", lambda w: f"/plan/{w.extra['plan']}/phases", {"name": ""}, (LOGIN, 303, 303, 403, 403)),
    ("plan.remove_phase", "POST", lambda w: "/plan/phases/999999/delete", {}, (LOGIN, 404, 404, 403, 403)),
    ("plan.add_task", "POST", lambda w: f"/plan/{w.extra['plan']}/tasks", {"title": ""}, (LOGIN, 303, 303, 403, 403)),
    ("plan.update_task", "POST", lambda w: f"/plan/tasks/{w.extra['task']}", {"title": ""},
     (LOGIN, 303, 303, 403, 403)),
    ("plan.remove_task", "POST", lambda w: f"/plan/tasks/{w.extra['task']}/delete", {}, (LOGIN, 303, 303, 403, 403)),
    ("plan.file", "POST", lambda w: f"/plan/tasks/{w.extra['task']}/file",
     lambda w: {"method": "upload", "department": str(w.dept["a"])}, (LOGIN, 303, 303, 303, 404)),
    ("plan.return_filing", "POST", lambda w: f"/plan/filings/{w.extra['filing']}/return", {"reason": ""},
     (LOGIN, 303, 303, 403, 403)),
    ("reports.submit", "POST", lambda w: "/reports/self-report",
     lambda w: {"department": str(w.dept["a"]), "action": "save", "text:intro": "长" * 20_001},
     (LOGIN, 303, 303, 303, 404)),
    ("letters.issue_document", "POST", lambda w: "/letters/issue",
     lambda w: {"kind": "opinion", "department": str(w.dept["b"]), "deadline": ""}, (LOGIN, 303, 303, 403, 403)),
    ("assessments.assess", "POST", lambda w: f"/assessments/devices/{A(w)}", {"outcome": "none"},
     (LOGIN, 303, 303, 403, 403)),
    ("auth.set_language", "POST", lambda w: "/lang", {"lang": "zh"}, (302, 302, 302, 302, 302)),
    ("auth.login", "POST", lambda w: "/login", {"username": "nobody", "password": "wrong-password"},
     (401, 401, 401, 401, 401)),
    ("admin.index", "GET", lambda w: "/admin/users", None, (LOGIN, 200, 403, 403, 403)),
    # Refused by audit.registry.users (a too short password) or for a user that does not exist.
    ("admin.add", "POST", lambda w: "/admin/users", {"name": "x", "role": "auditor", "password": "short"},
     (LOGIN, 303, 403, 403, 403)),
    ("admin.password", "POST", lambda w: "/admin/users/999999/password", {"password": "short"},
     (LOGIN, 404, 403, 403, 403)),
    ("admin.labels", "POST", lambda w: "/admin/users/999999/labels", {"full_name": "张三"},
     (LOGIN, 404, 403, 403, 403)),
    ("admin.disable", "POST", lambda w: "/admin/users/999999/disable", {}, (LOGIN, 404, 403, 403, 403)),
    ("admin.enable", "POST", lambda w: "/admin/users/999999/enable", {}, (LOGIN, 404, 403, 403, 403)),
    ("admin.remove", "POST", lambda w: "/admin/users/999999/remove", {}, (LOGIN, 404, 403, 403, 403)),
]
LAST = [("auth.logout", "POST", lambda w: "/logout", {}, (302, 302, 302, 302, 302))]


def _request(client, method, url, data):
    if method == "GET":
        return client.get(url)
    return post(client, url, data)


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(world, clients, role):
    client = clients[role]
    column = ROLES.index(role)
    for endpoint, method, url_of, data, expected in MATRIX + LAST:
        url = url_of(world)
        response = _request(client, method, url, data(world) if callable(data) else data)
        want = expected[column]
        where = f"{role} {method} {url} ({endpoint})"
        if want == LOGIN:
            if url.startswith("/api/"):
                assert response.status_code == 401, where
            else:
                assert response.status_code == 302, where
                assert response.headers["Location"].startswith("/login"), where
        else:
            assert response.status_code == want, f"{where}: {response.status_code}"
        if response.status_code == 404:
            # Nothing of the other department leaks into the error page.
            assert "JB-" not in response.text and "JA-" not in response.text, where


def test_matrix_covers_every_endpoint(world):
    covered = {row[0] for row in MATRIX + LAST}
    endpoints = {rule.endpoint for rule in world.app.url_map.iter_rules() if rule.endpoint != "static"}
    assert endpoints == covered


def test_department_lists_show_only_their_devices(world, clients):
    page = clients["dept_a"].get("/devices").text
    assert "JA-002" in page and "JB-" not in page
    features = clients["dept_b"].get("/api/devices").get_json()["features"]
    assert {f["properties"]["device_code"] for f in features} == {"JB-001", "JB-002"}
    findings = clients["dept_a"].get("/api/findings").get_json()["findings"]
    assert findings and {f["department"] for f in findings} == {DEPT_A}
    csv = clients["dept_b"].get("/devices/export.csv").text
    assert "JB-001" in csv and "JA-" not in csv
    assert DEPT_B not in clients["dept_a"].get("/map").text


def test_a_pending_upload_is_seen_by_its_department_only(world, clients):
    assert clients["dept_b"].get(f"/upload/{world.token['a']}").status_code == 404
    assert clients["dept_a"].get("/upload/not-a-token").status_code == 404
    assert clients["dept_a"].get("/upload/" + "A" * 22).status_code == 404


def test_a_department_user_left_without_a_department_cannot_sign_in(world):
    """A department user whose department is gone (only a hand-edited database holds one: add_user requires it) would
    be confined to nothing, and the pages read no department as every department: it cannot sign in, and a session
    it already holds is refused on its next request."""
    from sqlalchemy import update

    from audit.registry.models import User
    from audit.registry.users import add_user, get_user, remove_user

    from .support import login

    with database_session(world.app) as db:
        add_user(db, "clerk_none", "department", "clerk-none-pass", department=DEPT_A)
        db.commit()
    try:
        held = world.app.test_client()
        assert login(held, "clerk_none", "clerk-none-pass").status_code == 302
        assert held.get("/devices").status_code == 200
        with database_session(world.app) as db:
            db.execute(update(User).where(User.name == "clerk_none").values(department_id=None))
            db.commit()
        for url in ("/devices", "/", "/plan"):
            response = held.get(url)
            assert response.status_code == 302 and "/login" in response.headers["Location"], url
        assert held.get("/api/devices").status_code == 401
        refused = login(world.app.test_client(), "clerk_none", "clerk-none-pass")
        assert refused.status_code == 403 and "未指定所属单位" in refused.text
    finally:
        with database_session(world.app) as db:
            remove_user(db, get_user(db, "clerk_none"))
            db.commit()
