"""上传: dry run → report → confirm; bad, broken, foreign and oversized files change nothing; no race."""
from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path

import openpyxl
from sqlalchemy import func, select

from audit.registry.models import ChangeLog, Department, Device, ImportBatch, ViolationStat

from .support import (DEPT_A, DEPT_B, HEADER, client_for, confirm, database_session, make_app, populate, post,
                      token_of, upload, wait_for_check)

NEW_ROW = "JA-010,新设测速,固定测速,新路,由东向西,新路口,117.48,26.72,WGS84,2024-01-01,在用,2023-12-01,2023-12-05,是," \
          "2023-12-20,县政府网站,2024-01-02,2025-01-01,合格"


def counts(app):
    with database_session(app) as db:
        return {m.__tablename__: db.scalar(select(func.count()).select_from(m))
                for m in (Department, Device, ImportBatch, ViolationStat, ChangeLog)}


def csv_bytes(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode("utf-8")


def test_a_file_with_errors_is_reported_by_row_column_and_value_and_changes_nothing(world):
    client = client_for(world.app, "dept_a")
    before = counts(world.app)
    bad = NEW_ROW.replace("固定测速", "无人机").replace("117.48", "abc")
    token = token_of(upload(client, "坏表.csv", csv_bytes(bad)))
    page = client.get(f"/upload/{token}").text
    assert 'data-state="rejected"' in page and "未导入" in page
    rows = page.split('<table id="report-table">')[1]
    assert "<td>设备类型</td><td>无人机</td>" in rows and "<td>经度</td><td>abc</td>" in rows
    assert '<td class="num">2</td>' in rows  # the Excel row of the data line
    assert post(client, f"/upload/{token}/confirm").status_code == 303
    assert "文件有错误，不能导入" in client.get(f"/upload/{token}").text
    annotated = client.get(f"/upload/{token}/annotated.xlsx")
    assert annotated.status_code == 200 and annotated.data[:2] == b"PK"
    assert counts(world.app) == before


def test_a_valid_file_is_imported_only_on_confirm_and_only_once(world):
    client = client_for(world.app, "dept_a")
    before = counts(world.app)
    # The form's department is ignored for a department user: the upload is always its own.
    token = token_of(upload(client, "设备登记表.csv", csv_bytes(NEW_ROW), department=DEPT_B))
    page = client.get(f"/upload/{token}").text
    assert 'data-state="valid"' in page and "新增 1 台" in page
    assert counts(world.app) == before
    assert confirm(client, token).status_code == 303
    assert 'data-state="applied"' in client.get(f"/upload/{token}").text
    assert confirm(client, token).status_code == 303
    with database_session(world.app) as db:
        batches = db.scalars(select(ImportBatch).where(ImportBatch.filename == "设备登记表.csv")).all()
        assert len(batches) == 1 and batches[0].user == "clerk_a"
        device = db.scalar(select(Device).where(Device.device_code == "JA-010"))
        assert device.department.name == DEPT_A
        assert db.scalar(select(ChangeLog.user).where(ChangeLog.device_code == "JA-010")) == "clerk_a"


def test_the_same_file_uploaded_again_says_so_before_and_after_confirm(world):
    """The second upload of the same file names the first batch and says it changes nothing, on the check and once
    confirmed."""
    client = client_for(world.app, "dept_a")
    first = token_of(upload(client, "设备登记表.csv", csv_bytes(NEW_ROW)))
    assert "完全相同" not in client.get(f"/upload/{first}").text
    confirm(client, first)
    with database_session(world.app) as db:
        batch = db.scalar(select(func.max(ImportBatch.id)))
    again = token_of(upload(client, "设备登记表（再次）.csv", csv_bytes(NEW_ROW)))
    said = f"与第 {batch} 批（"
    page = " ".join(client.get(f"/upload/{again}").text.split())
    assert said in page and "的文件完全相同，没有新增或变更的设备" in page
    confirm(client, again)
    page = " ".join(client.get(f"/upload/{again}").text.split())
    assert 'data-state="applied"' in page and said in page and "没有新增或变更的设备" in page


def test_a_file_too_large_gets_a_friendly_page(tmp_path):
    app = make_app(tmp_path, MAX_CONTENT_LENGTH=4096)
    populate(app, tmp_path)
    client = client_for(app, "dept_a")
    before = counts(app)
    response = upload(client, "big.csv", csv_bytes(*[NEW_ROW.replace("JA-010", f"JA-{i:04d}") for i in range(200)]))
    assert response.status_code == 413
    assert "文件过大" in response.text and "4096" not in response.text and "重新上传" in response.text
    assert counts(app) == before


def test_not_a_spreadsheet_and_broken_files_get_the_report_page(world):
    client = client_for(world.app, "dept_a")
    before = counts(world.app)
    broken_zip = io.BytesIO()
    with zipfile.ZipFile(broken_zip, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    files = {
        "photo.xlsx": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        "report.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        "devices.xlsx": broken_zip.getvalue(),
        "truncated.xlsx": b"PK\x03\x04" + b"\x00" * 50,
        "empty.csv": b"",
    }
    for name, content in files.items():
        response = upload(client, name, content)
        assert response.status_code == 303, name
        page = client.get(response.headers["Location"])
        assert page.status_code == 200, name
        assert 'data-state="rejected"' in page.text and "未导入" in page.text, name
    assert counts(world.app) == before


def test_cancel_discards_the_file(world):
    client = client_for(world.app, "dept_a")
    token = token_of(upload(client, "设备登记表.csv", csv_bytes(NEW_ROW)))
    assert post(client, f"/upload/{token}/cancel").status_code == 303
    assert 'data-state="cancelled"' in client.get(f"/upload/{token}").text
    assert not list((Path(world.app.instance_path) / "uploads" / token).glob("*.csv"))
    assert confirm(client, token).status_code == 303
    with database_session(world.app) as db:
        assert db.scalar(select(Device.id).where(Device.device_code == "JA-010")) is None


def test_a_department_cannot_upload_counts_for_another_departments_devices(world):
    client = client_for(world.app, "dept_a")
    before = counts(world.app)
    content = "设备编号,日期,违法数量\nJA-001,2024-06-01,5\nJB-001,2024-06-01,7\n".encode()
    token = token_of(upload(client, "违法数量.csv", content, kind="violations"))
    page = client.get(f"/upload/{token}").text
    assert 'data-state="rejected"' in page and "NOT_OWN_DEVICE" in page
    assert "<td>设备编号</td><td>JB-001</td>" in page and "<td>设备编号</td><td>JA-001</td>" not in page
    assert counts(world.app) == before
    # The same file is accepted from an auditor, who answers for every department.
    auditor = client_for(world.app, "auditor")
    token = token_of(upload(auditor, "违法数量.csv", content, kind="violations"))
    assert 'data-state="valid"' in auditor.get(f"/upload/{token}").text


def test_two_uploads_confirmed_at_once_are_both_applied_whole(world):
    clients = [client_for(world.app, "dept_a"), client_for(world.app, "dept_b")]
    rows = [[NEW_ROW.replace("JA-010", f"JA-1{i:02d}") for i in range(40)],
            [NEW_ROW.replace("JA-010", f"JB-1{i:02d}") for i in range(40)] + [
                "JB-001,乙县超限检测站,超限超载,G205,双向,G205K10,117.50,26.70,WGS84,2022-01-01,在用,,,否,,,,,",
                "JB-002,乙县测速,固定测速,S306,由南向北,S306K3,117.52,26.71,WGS84,2022-01-01,在用,,,是,,,,,"]]
    tokens = [token_of(upload(c, f"{i}.csv", csv_bytes(*r))) for i, (c, r) in enumerate(zip(clients, rows))]
    tokens.append(tokens[0])  # the same upload confirmed twice at the same time is applied once
    clients.append(client_for(world.app, "dept_a"))
    barrier = threading.Barrier(len(tokens))
    statuses = []

    def press(client, token):
        data = {"csrf_token": client.get("/api/csrf").get_json()["csrf_token"]}
        barrier.wait()
        statuses.append(client.post(f"/upload/{token}/confirm", data=data).status_code)

    threads = [threading.Thread(target=press, args=pair) for pair in zip(clients, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [303, 303, 303]
    for client, token in zip(clients, tokens):
        wait_for_check(client, token)
    with database_session(world.app) as db:
        assert db.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.filename == "0.csv")) == 1
        assert db.scalar(select(func.count()).select_from(ImportBatch).where(ImportBatch.filename == "1.csv")) == 1
        by_dept = dict(db.execute(select(Department.name, func.count(Device.id)).join(Device)
                                  .group_by(Department.name)).all())
        assert by_dept == {DEPT_A: 43, DEPT_B: 42}


def test_the_template_download_is_the_blank_form(shared_world):
    response = client_for(shared_world.app, "dept_a").get("/upload/template/verifications.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    headers = [c.value for c in book.worksheets[0][3]]
    assert "设备编号*" in headers and "检定日期*" in headers
    assert client_for(shared_world.app, "dept_a").get("/upload/template/nonsense.xlsx").status_code == 404
