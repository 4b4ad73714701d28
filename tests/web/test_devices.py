"""设备列表 (search, filter, sort, paginate, export) and 设备详情 (record, history, chart with spikes)."""
from __future__ import annotations

import datetime as dt
import re
from collections import OrderedDict
from pathlib import Path

from sqlalchemy import select

from audit.registry.models import Problem
from audit.registry.store import import_file
from audit.casework.problems import audit_and_record

from .support import client_for, database_session, make_app, populate, post


def listed(html: str) -> list[str]:
    return re.findall(r'<td><a href="/devices/\d+">([^<]+)</a></td>', html)


def test_search_filter_and_sort(shared_world):
    client = client_for(shared_world.app, "auditor")
    assert listed(client.get("/devices").text) == ["JA-001", "JA-002", "JA-003", "JB-001", "JB-002"]
    assert listed(client.get("/devices?sort=code&desc=1").text) == ["JB-002", "JB-001", "JA-003", "JA-002", "JA-001"]
    types = {"JA-001": "固定测速", "JA-002": "闯红灯", "JA-003": "违法停车", "JB-001": "超限超载", "JB-002": "固定测速"}
    assert listed(client.get("/devices?sort=type").text) == sorted(types, key=lambda c: (types[c], c))
    assert listed(client.get("/devices?q=三华").text) == ["JA-003"]
    assert listed(client.get("/devices?type=超限超载").text) == ["JB-001"]
    assert listed(client.get("/devices?severity=严重").text) == ["JA-001", "JB-001"]
    assert listed(client.get("/devices?rule=SGN01&department=%d" % shared_world.dept["a"]).text) == ["JA-002"]
    # Unknown filter values are ignored rather than failing.
    assert len(listed(client.get("/devices?type=卫星&status=x&rule=DROP TABLE&sort=evil&page=-3").text)) == 5


def test_pagination(tmp_path):
    app = make_app(tmp_path, DEVICES_PER_PAGE=2)
    populate(app, tmp_path)
    client = client_for(app, "auditor")
    first, last = client.get("/devices").text, client.get("/devices?page=3").text
    assert listed(first) == ["JA-001", "JA-002"] and "第 1 / 3 页" in first and "page=2" in first
    assert listed(last) == ["JB-002"] and "下一页" not in last
    assert listed(client.get("/devices?page=99").text) == ["JB-002"]


def test_export_keeps_filters_and_makes_formulas_inert(world):
    from audit.registry.models import Device

    with database_session(world.app) as db:
        db.get(Device, world.device["JA-003"]).name = "=HYPERLINK(\"http://x\")"
        db.commit()
    response = client_for(world.app, "auditor").get(f"/devices/export.csv?department={world.dept['a']}")
    text = response.data.decode("utf-8-sig")
    assert response.mimetype == "text/csv"
    assert text.splitlines()[0].startswith("所属单位,设备编号,设备名称")
    assert "JB-" not in text and "'=HYPERLINK" in text


def test_detail_shows_record_history_and_the_spike_chart(world, tmp_path):
    days = [dt.date(2024, 3, 1) + dt.timedelta(days=i) for i in range(120)]
    counts = [5 + (i % 7) % 3 for i in range(120)]
    spike = days[70]
    counts[70] = 80
    path = tmp_path / "violations.csv"
    path.write_text("设备编号,日期,违法数量\n" + "".join(f"JA-002,{d},{c}\n" for d, c in zip(days, counts)),
                    encoding="utf-8")
    with database_session(world.app) as db:
        assert import_file(db, path, "violations", user="setup").applied
        db.commit()
        audit_and_record(db, as_of=days[-1], user="setup")
        db.commit()
    client = client_for(world.app, "auditor")
    page = client.get(f"/devices/{world.device['JA-002']}").text
    assert re.search(r'<circle class="spike" cx="[\d.]+" cy="[\d.]+" r="4"><title>%s：80' % spike, page)
    assert page.count('class="spike"') == 1
    assert "府前路与金溪路口" in page and "VIO02" in page
    assert 'id="change-table"' in page and "setup" in page
    # a department user sees its own device's page but no decision forms
    clerk = client_for(world.app, "dept_a").get(f"/devices/{world.device['JA-002']}").text
    assert 'id="finding-table"' in clerk and "/suspend" not in clerk


def test_language_switch_renders_english_terms(shared_world):
    client = client_for(shared_world.app, "auditor")
    post(client, "/lang", {"lang": "en"})
    page = client.get(f"/devices/{shared_world.device['JB-001']}").text
    assert "Basic facts" in page and "Legal and technical review" in page and "weigh-in-motion" in page
    assert "Serious" in page and "Device dossier" in page
    assert "基本情况" not in page and "一机一档" not in page


def _violations_csv(path, rows):
    path.write_text("设备编号,日期,违法数量\n" + "".join(f"{c},{d},{n}\n" for c, d, n in rows), encoding="utf-8")
    return path


def test_detail_draws_the_expected_band_with_spikes_rises_and_outages(world, tmp_path):
    """The device page shows the count model's expected band (computed in audit.rules.band) and marks what the
    audit found: the spike day, the rise and the outage."""
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(180)]
    counts = [8 + (i % 7) % 3 for i in range(180)]
    for i in range(60, 74):
        counts[i] *= 3          # two weeks at 3x
    for i in range(100, 112):
        counts[i] = 0           # twelve days without captures
    counts[140] = 90            # one spike
    path = _violations_csv(tmp_path / "v.csv", [("JA-002", d, c) for d, c in zip(days, counts)])
    with database_session(world.app) as db:
        assert import_file(db, path, "violations", user="setup").applied
        db.commit()
        audit_and_record(db, as_of=days[-1], user="setup")
        db.commit()
    page = client_for(world.app, "auditor").get(f"/devices/{world.device['JA-002']}").text
    assert '<polygon class="band" points="' in page and '<path class="expected" d="M' in page
    assert re.search(r'<circle class="spike" [^>]*><title>%s：90' % days[140], page)
    rises = re.findall(r'<rect class="period rise" x="([\d.]+)"[^>]*><title>([\d-]+) – ([\d-]+)', page)
    outages = re.findall(r'<rect class="period outage" x="([\d.]+)"[^>]*><title>([\d-]+) – ([\d-]+)', page)
    assert [(a, b) for _, a, b in rises] == [(days[60].isoformat(), days[73].isoformat())]
    assert [(a, b) for _, a, b in outages] == [(days[100].isoformat(), days[111].isoformat())]
    assert float(rises[0][0]) < float(outages[0][0])
    assert "按自身历史的预期采集量及正常范围（95%）" in page and "national" in page
    assert f"/devices/funnel?department={world.dept['a']}" in page


def test_a_device_without_enough_days_has_no_band(world, tmp_path):
    days = [dt.date(2024, 3, 1) + dt.timedelta(days=i) for i in range(10)]
    path = _violations_csv(tmp_path / "v.csv", [("JA-003", d, 4) for d in days])
    with database_session(world.app) as db:
        assert import_file(db, path, "violations", user="setup").applied
        db.commit()
    page = client_for(world.app, "auditor").get(f"/devices/{world.device['JA-003']}").text
    assert '<path class="line"' in page and 'class="band"' not in page


def test_funnel_page_marks_the_device_vio01_reports(world, tmp_path):
    from .support import DEPT_A, device_csv

    rows = [f"JA-1{k:02d},测速{k},固定测速,水南大道,由东向西,水南大道{k}号,117.4{k:02d},26.72,WGS84,2023-07-01,在用,"
            "2023-06-01,2023-06-05,是,2023-06-20,县政府网站,2024-01-10,2025-01-09,合格" for k in range(10)]
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(90)]
    per_day = {f"JA-1{k:02d}": 10 + k for k in range(9)} | {"JA-109": 95}
    with database_session(world.app) as db:
        assert import_file(db, device_csv(tmp_path / "more.csv", rows), "devices", department=DEPT_A,
                           user="setup").applied
        db.commit()
        path = _violations_csv(tmp_path / "v.csv", [(c, d, n) for c, n in per_day.items() for d in days])
        assert import_file(db, path, "violations", user="setup").applied
        db.commit()
        audit_and_record(db, as_of=days[-1], user="setup")
        db.commit()
    client = client_for(world.app, "auditor")
    page = client.get(f"/devices/funnel?department={world.dept['a']}&type=固定测速").text
    assert '<svg viewBox="0 0 900 360"' in page and 'class="limit flag"' in page
    assert page.count('<circle class="flagged"') == 1 and page.count('<circle class="peer"') == 9
    flagged_row = re.search(r'<tr><td><a href="/devices/\d+">JA-109</a></td><td class="num">90</td>'
                            r'<td class="num">95.0</td><td class="num">[\d.]+</td><td>畸高（VIO01）', page)
    assert flagged_row
    assert "本单位同类" in page and "（10 台）" in page
    # another type of the department: too few comparable devices for limits, said so
    other = client.get(f"/devices/funnel?department={world.dept['a']}&type=闯红灯").text
    assert "本单位没有可比较的该类设备" in other and 'id="funnel"' not in other


def test_a_department_user_lists_only_its_own_devices_whatever_it_filters(shared_world):
    clerk = client_for(shared_world.app, "dept_a")
    assert listed(clerk.get("/devices?severity=严重").text) == ["JA-001"]  # JB-001 is the other department's
    assert listed(clerk.get("/devices?unassessed=1").text) == ["JA-001", "JA-002", "JA-003"]
    exported = clerk.get("/devices/export.csv?severity=严重").data.decode("utf-8-sig")
    assert "JA-001" in exported and "JB-" not in exported and "JA-002" not in exported


def test_a_list_kept_per_state_follows_a_review_and_each_user_s_scope(world, tmp_path, monkeypatch):
    from audit.casework import devicelist
    from web import cache
    from web.devices import views

    built = []
    monkeypatch.setattr(views, "matching_ids", lambda *a, **k: built.append(k) or devicelist.matching_ids(*a, **k))
    auditor, clerk = client_for(world.app, "auditor"), client_for(world.app, "dept_a")
    assert listed(auditor.get("/devices?severity=严重").text) == ["JA-001", "JB-001"]
    assert listed(auditor.get("/devices?severity=严重&page=2").text) == ["JA-001", "JB-001"]  # the last page
    assert len(built) == 1  # the second page was cut from the ids kept
    assert listed(clerk.get("/devices?severity=严重").text) == ["JA-001"]  # not the auditor's ids
    assert listed(auditor.get("/devices?severity=严重&sort=code&desc=1").text) == ["JB-001", "JA-001"]
    assert listed(auditor.get("/devices").text) == ["JA-001", "JA-002", "JA-003", "JB-001", "JB-002"]
    assert listed(auditor.get("/devices?page=3&sort=evil").text) == ["JA-001", "JA-002", "JA-003", "JB-001", "JB-002"]
    assert len(built) == 4  # an unknown sort is the list by code, kept once
    monkeypatch.setattr(cache, "_remembered", OrderedDict())  # another worker: its own memory, the same files
    other = client_for(make_app(tmp_path), "auditor")
    assert listed(other.get("/devices?severity=严重").text) == ["JA-001", "JB-001"] and len(built) == 4
    with database_session(world.app) as db:
        serious = db.scalars(select(Problem.id).where(Problem.device_code == "JB-001", Problem.severity == "严重"))
        for problem in list(serious):
            post(auditor, f"/review/problems/{problem}", {"decision": "dismiss", "reason": "已补齐审核材料"})
    page = auditor.get("/devices?severity=严重").text
    assert listed(page) == ["JA-001"] and "共 1 台设备" in page


def test_texts_searched_keep_a_bounded_number_of_lists_the_newest(world, monkeypatch):
    from web import cache
    from web.devices import views

    monkeypatch.setattr(cache, "ENTRIES", 3)
    auditor = client_for(world.app, "auditor")
    for text in ("JA-001", "JA-002", "JA-003", "JB-001", "JB-002"):
        assert listed(auditor.get(f"/devices?q={text}").text) == [text]
    assert len(list((Path(world.app.instance_path) / "cache").glob("devicelist-*.json"))) == 3  # not one a text
    monkeypatch.setattr(cache, "_remembered", OrderedDict())  # what the files hold, not this process's memory
    built = []
    real = views.matching_ids
    monkeypatch.setattr(views, "matching_ids", lambda *a, **k: built.append(k) or real(*a, **k))
    assert listed(auditor.get("/devices?q=JB-002").text) == ["JB-002"] and not built  # the newest kept
    assert listed(auditor.get("/devices?q=JA-001").text) == ["JA-001"] and len(built) == 1  # the oldest removed
