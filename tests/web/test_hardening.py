"""The server stays up and its files stay private: hostile uploads give a report, parsing never holds the write
lock (a decision goes through while a large upload is parsed), and the instance folder, database and uploads are
readable by the server's user only."""
from __future__ import annotations

import io
import stat
import time
from pathlib import Path

import openpyxl
from sqlalchemy import func, select

from audit.registry.models import ProblemReview

from .support import client_for, database_session, make_app, populate, post, token_of, upload, wait_for_check


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def far_cell_workbook() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.append(["设备编号", "日期", "违法数量"])
    wb.active.cell(1048576, 16384, "x")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_far_cell_upload_is_reported_and_the_server_answers_on(world):
    client = client_for(world.app, "dept_a")
    token = token_of(upload(client, "far.xlsx", far_cell_workbook(), kind="violations"))
    page = client.get(f"/upload/{token}").text
    assert 'data-state="rejected"' in page and "SHEET_TOO_LARGE" in page and "上限" in page
    assert client.get("/devices").status_code == 200


def test_a_parse_that_exceeds_the_memory_limit_ends_in_a_report(tmp_path):
    app = make_app(tmp_path, UPLOAD_WORKER_MEMORY_MB=64)
    populate(app, tmp_path)
    client = client_for(app, "dept_a")
    content = "设备编号,日期,违法数量\n" + "".join(f"JA-001,2024-06-01,{i}\n" for i in range(50_000))
    token = token_of(upload(client, "counts.csv", content.encode(), kind="violations"))
    page = client.get(f"/upload/{token}").text
    assert 'data-state="rejected"' in page and "PARSE_FAILED" in page and "64 MB" in page
    # The annotated copy does not read the file in the server either: it lists the problem only.
    annotated = openpyxl.load_workbook(io.BytesIO(client.get(f"/upload/{token}/annotated.xlsx").data))
    assert annotated.sheetnames == ["问题清单"]


def test_a_decision_completes_within_a_second_while_a_large_upload_is_parsed(world):
    clerk, auditor = client_for(world.app, "dept_a"), client_for(world.app, "auditor")
    rows = "".join(f"JA-00{1 + i % 3},{2020 + i // 40000}-{1 + i // 3334 % 12:02d}-{1 + i % 28:02d},{i % 50}\n"
                   for i in range(500_000))
    content = ("设备编号,日期,违法数量\n" + rows).encode()
    response = upload(clerk, "counts.csv", content, kind="violations", wait=False)
    token = token_of(response)
    assert clerk.get(f"/upload/{token}/status").get_json()["state"] == "checking"
    start = time.monotonic()
    decided = post(auditor, f"/review/problems/{world.problem['a']}", {"decision": "dismiss", "reason": "已核实"})
    seconds = time.monotonic() - start
    still_parsing = clerk.get(f"/upload/{token}/status").get_json()["state"] == "checking"
    assert decided.status_code == 303 and seconds < 1.0, seconds
    assert still_parsing  # the decision did not wait for the parse to end
    with database_session(world.app) as db:
        assert db.scalar(select(func.count()).select_from(ProblemReview)) == 1
    wait_for_check(clerk, token)
    assert "数据 500000 行" in clerk.get(f"/upload/{token}").text


def test_the_instance_folder_database_and_uploads_are_private(world):
    instance = Path(world.app.instance_path)
    database = Path(world.app.config["DATABASE_URL"].removeprefix("sqlite:///"))
    client = client_for(world.app, "dept_a")
    token = token_of(upload(client, "a.csv", b"\xe8\xae\xbe\xe5\xa4\x87\xe7\xbc\x96\xe5\x8f\xb7\nJA-1\n"))
    folder = instance / "uploads" / token
    assert mode(instance) == 0o700 and mode(instance / "uploads") == 0o700 and mode(folder) == 0o700
    assert {mode(p) for p in folder.iterdir()} == {0o600}
    assert mode(database) == 0o600


def test_a_new_sqlite_database_file_is_created_0600(tmp_path):
    from audit.registry.db import init_db, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    init_db(engine)
    engine.dispose()
    assert mode(tmp_path / "new.sqlite3") == 0o600
