"""/api/devices is built once per registry state and kept in the instance folder: every worker serves the same
file, a change gives a new one, and a department user's scope is part of the key."""
from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import pytest

from audit.registry.store import import_file
from web.api import views

from .support import DEPT_A, DEPT_B, client_for, database_session, device_csv, make_app, populate


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


@pytest.fixture
def both(db_engine, tmp_path):
    """The seeded app on each backend (PostgreSQL where a server is given)."""
    return populate(make_app(tmp_path, DATABASE_URL=db_engine.url.render_as_string(hide_password=False)), tmp_path)


def test_a_browser_gets_it_compressed_and_then_304_until_something_changes(both, tmp_path):
    client = client_for(both.app, "auditor")
    plain = client.get("/api/devices")
    packed = client.get("/api/devices", headers={"Accept-Encoding": "gzip, deflate"})
    assert plain.content_encoding is None and packed.content_encoding == "gzip"
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data)
    assert packed.headers["ETag"] == plain.headers["ETag"] and "private" in packed.headers["Cache-Control"]
    assert {"Accept-Encoding", "Cookie"} <= set(packed.vary)
    tag = plain.headers["ETag"]
    again = client.get("/api/devices", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    with database_session(both.app) as db:
        path = device_csv(tmp_path / "more.csv", ["JB-009,乙县新设备,固定测速,S306,东,S306K9,117.51,26.72,WGS84,2024-01-01,"
                                                  "在用,,,是,,,,,"])
        assert import_file(db, path, "devices", department=DEPT_B, partial=True).applied
        db.commit()
    changed = client.get("/api/devices", headers={"If-None-Match": tag, "Accept-Encoding": "gzip"})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert "JB-009" in {f["properties"]["device_code"] for f in json.loads(gzip.decompress(changed.data))["features"]}


def test_a_department_user_gets_its_own_devices_whatever_tag_it_sends(both, tmp_path):
    auditor = client_for(both.app, "auditor").get("/api/devices", headers={"Accept-Encoding": "gzip"})
    clerk = client_for(both.app, "dept_a")
    own = clerk.get("/api/devices", headers={"If-None-Match": auditor.headers["ETag"], "Accept-Encoding": "gzip"})
    assert own.status_code == 200 and own.headers["ETag"] != auditor.headers["ETag"]
    features = json.loads(gzip.decompress(own.data))["features"]
    assert features and {f["properties"]["department"] for f in features} == {DEPT_A}
    tag_a = own.headers["ETag"]
    with database_session(both.app) as db:  # department B's upload: B's devices change, A's answer is rebuilt
        path = device_csv(tmp_path / "b.csv", ["JB-009,乙县新设备,固定测速,S306,东,S306K9,117.51,26.72,WGS84,2024-01-01,"
                                               "在用,,,是,,,,,"])
        assert import_file(db, path, "devices", department=DEPT_B, partial=True).applied
        db.commit()
    after = clerk.get("/api/devices", headers={"If-None-Match": tag_a})
    assert after.status_code == 200 and codes(after) == {f["properties"]["device_code"] for f in features}
    assert "JB-009" in codes(client_for(both.app, "dept_b").get("/api/devices"))


def test_workers_building_the_same_entry_at_once_each_serve_a_whole_one(world, tmp_path, monkeypatch):
    build = views._devices_geojson
    started = threading.Barrier(4)

    def slow(*args):
        started.wait(timeout=30)  # every worker misses the cache before any has written it
        return build(*args)

    monkeypatch.setattr(views, "_devices_geojson", slow)
    clients = [client_for(make_app(tmp_path), "auditor") for _ in range(4)]
    bodies: list[bytes] = []
    threads = [threading.Thread(target=lambda c=c: bodies.append(
        c.get("/api/devices", headers={"Accept-Encoding": "gzip"}).data)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(bodies) == 4 and len(set(bodies)) == 1 and json.loads(gzip.decompress(bodies[0]))["features"]
    folder = Path(world.app.instance_path) / "cache"
    assert sorted(p.suffix for p in folder.iterdir()) == [".gz", ".json"]  # no temporary file left


def test_each_filter_keeps_its_entry_until_something_changes(world, monkeypatch):
    client = client_for(world.app, "auditor")
    everything = client.get("/api/devices", headers={"Accept-Encoding": "gzip"})
    lights = client.get("/api/devices?type=闯红灯", headers={"Accept-Encoding": "gzip"})
    assert len(cache_files(world.app)) == 2
    monkeypatch.setattr(views, "_devices_geojson", lambda *args: (_ for _ in ()).throw(AssertionError("built again")))
    assert client.get("/api/devices", headers={"Accept-Encoding": "gzip"}).data == everything.data
    assert client.get("/api/devices?type=闯红灯", headers={"Accept-Encoding": "gzip"}).data == lights.data
