"""问题审核 and decisions through the web: every change goes through audit and is logged with the user."""
from __future__ import annotations

import json

from sqlalchemy import select

from audit.registry.models import AuditRun, ChangeLog, Decision, Device, Finding, LedgerItem, Problem, ProblemReview

from .support import client_for, database_session, post


def problem_of(app, code, rule):
    with database_session(app) as db:
        return db.scalar(select(Problem.id).where(Problem.device_code == code, Problem.rule == rule))


def test_suspending_a_device_changes_its_status_and_is_logged(world):
    client = client_for(world.app, "auditor")
    device = world.device["JA-002"]
    problem = problem_of(world.app, "JA-002", "SGN01")
    back = f"/devices/{device}"
    response = post(client, f"/review/devices/{device}/suspend",
                    {"reason": "无标识，立即停用", "problem": [str(problem)], "next": back})
    assert response.status_code == 303 and response.headers["Location"] == back
    page = client.get(back).text
    assert "已停用设备 JA-002" in page and 'class="badge status-停用"' in page
    with database_session(world.app) as db:
        assert db.get(Device, device).status == "停用"
        decision = db.scalar(select(Decision).where(Decision.device_id == device))
        assert decision.kind == "suspend" and decision.decided_by == "auditor" and decision.problem_ids == [problem]
        log = db.scalar(select(ChangeLog).where(ChangeLog.device_code == "JA-002", ChangeLog.field == "status"))
        assert (log.user, log.before, log.after) == ("auditor", "在用", "停用")
    assert "停用" in client.get(f"/map/popup/{device}").text


def test_a_refused_decision_shows_why_and_writes_nothing(world):
    client = client_for(world.app, "admin")
    device = world.device["JA-003"]
    with database_session(world.app) as db:
        before = len(db.scalars(select(ChangeLog)).all())
    post(client, f"/review/devices/{device}/suspend", {"reason": "  "})
    post(client, f"/review/devices/{device}/rectify", {"measure": "补设标识", "requirement": "设置标识",
                                                        "deadline": "2000-01-01", "responsible": "李四"})
    page = client.get("/").text
    assert "请填写停用原因" in page and "早于决定日期" in page
    with database_session(world.app) as db:
        assert len(db.scalars(select(ChangeLog)).all()) == before
        assert db.get(Device, device).status == "在用"


def test_dismissing_needs_a_reason_and_removes_the_problem_from_open_ones(world):
    client = client_for(world.app, "auditor")
    problem = problem_of(world.app, "JA-002", "SGN01")
    post(client, f"/review/problems/{problem}", {"decision": "dismiss", "reason": ""})
    assert "排除问题须说明理由" in client.get("/").text
    post(client, f"/review/problems/{problem}", {"decision": "dismiss", "reason": "现场已有标识，照片见附件"})
    with database_session(world.app) as db:
        review = db.scalar(select(ProblemReview).where(ProblemReview.problem_id == problem))
        assert (review.status, review.user) == ("dismissed", "auditor")
    data = client.get("/api/devices?severity=较重").get_json()
    assert "JA-002" not in {f["properties"]["device_code"] for f in data["features"]}
    assert "现场已有标识" in client.get("/review?state=dismissed").text


def test_the_review_page_lists_devices_with_unreviewed_problems(shared_world):
    client = client_for(shared_world.app, "auditor")
    page = client.get("/review?rule=PUB01").text
    assert "JB-001" in page and "JA-001" not in page
    assert 'action="/review/devices/%d/suspend"' % shared_world.device["JB-001"] in page
    # JB-001's CAL02 problem is in the ledger: it has left 待核查 for 已决定
    assert "JB-001" not in client.get("/review?rule=CAL02").text
    decided = client.get("/review?rule=CAL02&state=decided").text
    assert "JB-001" in decided and "已决定：整改" in decided


def test_a_department_moves_its_ledger_item_and_the_auditor_closes_it(world):
    item = world.ledger_b
    clerk_b, clerk_a, auditor = (client_for(world.app, r) for r in ("dept_b", "dept_a", "auditor"))
    assert "补办审核" in clerk_b.get("/ledger").text
    assert "补办审核" not in clerk_a.get("/ledger").text
    assert post(clerk_a, f"/ledger/{item}/advance", {"to_status": "整改中"}).status_code == 404
    assert post(clerk_b, f"/ledger/{item}/advance", {"to_status": "整改中", "note": "已报法制审核"}
                ).status_code == 303
    assert post(clerk_b, f"/ledger/{item}/advance", {"to_status": "已整改待核查"}).status_code == 303
    assert "报告已整改时须说明整改情况" in clerk_b.get(f"/ledger/{item}").text  # refused: nothing said
    assert post(clerk_b, f"/ledger/{item}/advance", {"to_status": "已整改待核查", "note": "已取得法制审核意见书"}
                ).status_code == 303
    # Sending it back and closing it are the checker's steps.
    assert post(clerk_b, f"/ledger/{item}/advance", {"to_status": "整改中"}).status_code == 403
    assert post(clerk_b, f"/ledger/{item}/close", {"evidence": "自己说好了"}).status_code == 403
    assert post(auditor, f"/ledger/{item}/close", {"evidence": "审核意见书 乙交法审〔2024〕3号"}
                ).status_code == 303
    with database_session(world.app) as db:
        closed = db.get(LedgerItem, item)
        assert (closed.status, closed.closed_by) == ("已销号", "auditor")
        users = [e.user for e in closed.events]
        assert users == ["auditor", "clerk_b", "clerk_b", "auditor"]


def test_running_the_audit_from_the_overview(world):
    client = client_for(world.app, "auditor")
    response = post(client, "/audit/run", {"as_of": "2024-07-31", "profile": "national", "department": ""})
    assert response.status_code == 303
    assert "审查完成" in client.get("/").text
    with database_session(world.app) as db:
        run = db.scalar(select(AuditRun).order_by(AuditRun.id.desc()))
        assert run.id != world.run_id and run.user == "auditor" and str(run.as_of) == "2024-07-31"
    post(client, "/audit/run", {"as_of": "31/07/2024"})
    assert "审查基准日须为日期" in client.get("/").text
    for day in ("0001-01-01", "9999-12-31"):  # the rules' windows around such a day overflowed: a 500
        assert post(client, "/audit/run", {"as_of": day, "profile": "national"}).status_code == 303
        assert f"审查基准日 {day} 不在 1990-01-01 至 2099-12-31 之间" in client.get("/").text
    with database_session(world.app) as db:
        assert db.scalar(select(AuditRun).order_by(AuditRun.id.desc())).id == run.id


def test_an_audit_whose_workers_fail_says_so_and_stores_nothing(world, monkeypatch):
    import web.overview.views as views
    from audit.rules.parallel import AuditWorkerError

    def fails(db, **kwargs):
        assert kwargs["workers"] is None  # the setting's default: audit.rules.parallel.audit_workers decides
        db.add(AuditRun(as_of=kwargs["as_of"], profile="national", ruleset_version="x", user="x"))
        db.flush()  # written before the failure: rolled back
        raise AuditWorkerError("审查的计算进程意外退出（多为内存不足或被系统终止），本次审查未完成，数据库未作任何改动。")

    monkeypatch.setattr(views, "audit_and_record", fails)
    client = client_for(world.app, "auditor")
    with database_session(world.app) as db:
        runs = db.query(AuditRun).count()
    assert post(client, "/audit/run", {"as_of": "2024-07-31", "profile": "national"}).status_code == 303
    assert "审查的计算进程意外退出" in client.get("/").text
    with database_session(world.app) as db:
        assert db.query(AuditRun).count() == runs


def test_the_audit_uses_the_configured_road_network(world, tmp_path):
    from audit.registry.store import import_file

    from .support import DEPT_A, device_csv

    # Two more parking cameras beside JA-003 on 三华路, a 200 m road: 3 per 0.2 km, above 10 per km.
    with database_session(world.app) as db:
        rows = [f"JA-00{k},三华路停车{k},违法停车,三华路,,三华路中段,{lon},26.7260,WGS84,2023-07-01,在用,,,是,,,,,"
                for k, lon in ((4, 117.4692), (5, 117.4694))]
        assert import_file(db, device_csv(tmp_path / "more.csv", rows), "devices", department=DEPT_A).applied
        db.commit()
    roads = tmp_path / "roads.geojson"
    roads.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "三华路"},
        "geometry": {"type": "LineString", "coordinates": [[117.468, 26.726], [117.470, 26.726]]}}]},
        ensure_ascii=False), encoding="utf-8")
    world.app.config["ROADS_FILE"] = str(roads)
    client = client_for(world.app, "auditor")
    assert post(client, "/audit/run", {"as_of": "2024-07-31", "profile": "national"}).status_code == 303
    assert '<span title="roads.geojson（1）">路网</span>' in client.get("/").text  # the run lists its layers
    with database_session(world.app) as db:
        run = db.scalar(select(AuditRun).order_by(AuditRun.id.desc()))
        assert (run.layers["roads"]["source"], run.layers["roads"]["features"]) == ("roads.geojson", 1)
        per_road = db.scalars(select(Finding).where(Finding.run_id == run.id, Finding.rule == "PLC02")).all()
        assert sorted((f.device_code, f.evidence["road"], tuple(f.evidence["device_codes"]))
                      for f in per_road if "road" in f.evidence) == [
            (code, "三华路", ("JA-003", "JA-004", "JA-005")) for code in ("JA-003", "JA-004", "JA-005")]
    world.app.config["ROADS_FILE"] = str(tmp_path / "broken.geojson")
    (tmp_path / "broken.geojson").write_text("<html>登录超时</html>", encoding="utf-8")
    post(client, "/audit/run", {"as_of": "2024-07-31", "profile": "national"})
    assert "审查未运行：路网文件 broken.geojson 无法读取" in client.get("/").text
    with database_session(world.app) as db:
        assert db.scalar(select(AuditRun).order_by(AuditRun.id.desc())).id == run.id


def test_decisions_on_the_pages_are_signed_by_name_and_title(world):
    from audit.registry.users import get_user, set_labels

    with database_session(world.app) as db:
        set_labels(db, get_user(db, "auditor"), "赵敏", "行政执法监督科科员", by="admin")
        db.commit()
    client = client_for(world.app, "auditor")
    device = world.device["JA-002"]
    problem = problem_of(world.app, "JA-002", "SGN01")
    post(client, f"/review/devices/{device}/suspend", {"reason": "无标识", "problem": [str(problem)],
                                                       "next": f"/devices/{device}"})
    page = client.get(f"/devices/{device}").text
    assert "赵敏（行政执法监督科科员）" in page
    assert "赵敏（行政执法监督科科员）" in client.get("/review?state=decided&q=JA-002").text
