"""The JSON API: GeoJSON devices with filters, one device, findings with filters, JSON sessions."""
from __future__ import annotations

from .support import DEPT_A, DEPT_B, client_for, csrf, database_session


def codes(collection):
    return {f["properties"]["device_code"] for f in collection["features"]}


def test_devices_are_a_geojson_feature_collection(shared_world):
    data = client_for(shared_world.app, "auditor").get("/api/devices").get_json()
    assert data["type"] == "FeatureCollection"
    assert codes(data) == {"JA-001", "JA-002", "JA-003", "JB-001", "JB-002"}
    feature = next(f for f in data["features"] if f["properties"]["device_code"] == "JA-002")
    assert feature["geometry"] == {"type": "Point", "coordinates": [117.4702, 26.7301]}
    assert feature["properties"]["department"] == DEPT_A and feature["properties"]["device_type"] == "闯红灯"
    jb = next(f for f in data["features"] if f["properties"]["device_code"] == "JB-001")
    assert jb["properties"]["worst_severity"] == "严重" and "REV01" in jb["properties"]["rules"]


def test_device_filters(shared_world):
    client = client_for(shared_world.app, "auditor")
    assert codes(client.get("/api/devices?type=闯红灯").get_json()) == {"JA-002"}
    assert codes(client.get("/api/devices?rule=rev01").get_json()) == {"JA-001", "JB-001"}
    assert codes(client.get("/api/devices?severity=较重").get_json()) == {"JA-002", "JB-001"}
    assert codes(client.get(f"/api/devices?department={shared_world.dept['b']}").get_json()) == {"JB-001", "JB-002"}
    assert codes(client.get("/api/devices?q=府前").get_json()) == {"JA-002"}
    assert codes(client.get("/api/devices?q=%25").get_json()) == set()  # LIKE wildcards are literal
    assert codes(client.get("/api/devices?status=停用").get_json()) == set()


def test_one_device_with_its_history(shared_world):
    data = client_for(shared_world.app, "dept_b").get(f"/api/devices/{shared_world.device['JB-001']}").get_json()
    assert data["device_code"] == "JB-001" and data["department"] == DEPT_B
    assert data["in_service_on"] == "2022-01-01"
    assert data["verifications"] == [{"verified_on": "2022-01-01", "valid_until": "2023-01-01", "result": "合格",
                                      "certificate_no": None, "agency": None}]
    rules = {f["rule"] for f in data["findings"]}
    assert {"REV01", "CAL02", "PUB01"} <= rules
    assert [d["kind"] for d in data["decisions"]] == ["rectify"]


def test_findings_filters(shared_world):
    client = client_for(shared_world.app, "auditor")
    everything = client.get("/api/findings").get_json()
    assert everything["count"] == len(everything["findings"]) > 0
    rev = client.get("/api/findings?rule=REV01").get_json()["findings"]
    assert {f["device_code"] for f in rev} == {"JA-001", "JB-001"}
    assert all(f["basis"] and f["message"] for f in rev)
    serious_b = client.get(f"/api/findings?severity=严重&department={DEPT_B}").get_json()["findings"]
    assert serious_b and {(f["severity"], f["department"]) for f in serious_b} == {("严重", DEPT_B)}
    by_run = client.get(f"/api/findings?run={shared_world.run_id}").get_json()
    assert by_run["run"] == shared_world.run_id and by_run["count"] == everything["count"]
    assert client.get("/api/findings?run=9999").status_code == 404


def test_a_problem_resolved_by_its_devices_removal_reads_resolved_with_no_run(world):
    """A removal resolves the device's problems before any run: the API gives the day and the reason, as the
    pages do, with resolved_run_id null; the other devices' problems stay open."""
    import datetime as dt

    from audit.casework import decisions

    with database_session(world.app) as db:
        decisions.remove(db, world.device["JB-001"], user="auditor", reason="道路改造，设备撤除")
        db.commit()
    rev = client_for(world.app, "auditor").get("/api/findings?rule=REV01").get_json()["findings"]
    problems = {f["device_code"]: f["problem"] for f in rev}
    removed, other = problems["JB-001"], problems["JA-001"]
    assert (removed["resolved_on"], removed["resolved_reason"], removed["resolved_run_id"]) == \
        (dt.datetime.now(dt.timezone.utc).date().isoformat(), "设备已拆除", None)
    assert (other["resolved_on"], other["resolved_reason"]) == (None, None)


def test_json_sessions(shared_world):
    client = shared_world.app.test_client()
    assert client.get("/api/devices").status_code == 401
    token = csrf(client)
    refused = client.post("/login", json={"username": "clerk_b", "password": "wrong"}, headers={"X-CSRFToken": token})
    assert refused.status_code == 401 and refused.get_json()["error"]
    accepted = client.post("/login", json={"username": "clerk_b", "password": "clerk-b-pass"},
                           headers={"X-CSRFToken": token})
    assert accepted.get_json() == {"user": "clerk_b", "role": "department", "department_id": shared_world.dept["b"]}
    assert codes(client.get("/api/devices").get_json()) == {"JB-001", "JB-002"}
    out = client.post("/logout", json={}, headers={"X-CSRFToken": csrf(client)})
    assert out.status_code == 200 and out.get_json() == {"ok": True}
    assert client.get("/api/devices").status_code == 401


def test_the_openapi_file_documents_every_api_route(shared_world):
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "web" / "openapi.yaml").read_text(encoding="utf-8")
    documented = set(re.findall(r"^  (/\S+):$", text, re.M))
    routes = {re.sub(r"<int:\w+>", "{id}", r.rule) for r in shared_world.app.url_map.iter_rules()
              if r.rule.startswith("/api/") or r.rule in ("/login", "/logout")}
    assert documented == routes
