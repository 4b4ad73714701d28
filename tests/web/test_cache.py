"""/api/devices is built once per registry state and kept in the instance folder: every worker serves the same
file, a change gives a new one, and a department user's scope is part of the key."""
from __future__ import annotations

from pathlib import Path

from audit.registry.store import import_file
from web.api import views

from .support import DEPT_A, client_for, database_session, device_csv, make_app


def codes(response):
    return {f["properties"]["device_code"] for f in response.get_json()["features"]}


def cache_files(app):
    return sorted(p.name for p in (Path(app.instance_path) / "cache").glob("api-devices-*.json"))


def test_a_second_worker_serves_the_first_one_s_file(world, tmp_path, monkeypatch):
    first = client_for(world.app, "auditor").get("/api/devices")
    assert first.status_code == 200 and len(cache_files(world.app)) == 1
    other = make_app(tmp_path)  # another process's app: same database, same instance folder

    def not_again(*args):
        raise AssertionError("built again")

    monkeypatch.setattr(views, "_devices_geojson", not_again)
    again = client_for(other, "auditor").get("/api/devices")
    assert again.data == first.data and again.mimetype == "application/json"


def test_an_upload_gives_a_new_response(world, tmp_path):
    client = client_for(world.app, "auditor")
    before = codes(client.get("/api/devices"))
    with database_session(world.app) as db:
        path = device_csv(tmp_path / "more.csv", ["JA-009,新设备,固定测速,新路,东,新路口,117.48,26.73,WGS84,2024-01-01,在用,,,是,,,,,"])
        assert import_file(db, path, "devices", department=DEPT_A, partial=True).applied
        db.commit()
    after = codes(client.get("/api/devices"))
    assert after == before | {"JA-009"}
    assert len(cache_files(world.app)) == 1  # the older state's file is gone


def test_the_scope_of_a_department_user_is_part_of_the_key(world):
    everything = codes(client_for(world.app, "auditor").get("/api/devices"))
    own = codes(client_for(world.app, "dept_a").get("/api/devices"))
    assert own == {c for c in everything if c.startswith("JA-")} and own != everything
    assert codes(client_for(world.app, "auditor").get("/api/devices?type=闯红灯")) == {"JA-002"}


def test_the_map_is_built_once_per_state_for_every_worker(world, tmp_path, monkeypatch):
    from web.map import views as map_views

    first = client_for(world.app, "auditor").get("/map")
    assert first.status_code == 200
    monkeypatch.setattr(map_views, "_build", lambda *args: (_ for _ in ()).throw(AssertionError("built again")))
    again = client_for(make_app(tmp_path), "auditor").get("/map")
    assert again.status_code == 200
    assert again.text.count("L.map(") == first.text.count("L.map(") == 1
    assert sorted(p.name.split("-")[0] for p in (Path(world.app.instance_path) / "cache").glob("*.json")) == ["map"]
