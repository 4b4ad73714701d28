"""Shared test data for the web app: two departments, users of every role, an audit run, a ledger item."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

DEPT_A = "甲县公安局交通管理大队"
DEPT_B = "乙县交通运输局"
XSS_NAME = "<script>alert(1)</script>"
XSS_ADDRESS = '"><img src=x onerror=alert(1)>'
XSS_URL = "javascript:alert(1)"
AS_OF = dt.date(2024, 6, 30)
PASSWORDS = {"admin": "admin-pass-1", "auditor": "auditor-pass-1", "clerk_a": "clerk-a-pass", "clerk_b": "clerk-b-pass"}
ROLE_USERS = {"admin": "admin", "auditor": "auditor", "dept_a": "clerk_a", "dept_b": "clerk_b"}

HEADER = ("设备编号,设备名称,设备类型,道路名称,方向,设置地点,经度,纬度,坐标系,启用日期,状态,法制审核日期,技术审核日期,"
          "标识设置,社会公布日期,公布渠道,最近检定日期,检定有效期至,检定结果\n")
ROWS_A = [
    f'JA-001,"{XSS_NAME}",固定测速,水南大道,由东向西,"{XSS_ADDRESS.replace(chr(34), chr(34) * 2)}",117.4731,26.7285,WGS84,'
    f"2023-07-01,在用,,,是,2023-06-20,{XSS_URL},2024-05-20,2025-05-19,合格",
    "JA-002,府前路闯红灯,闯红灯,府前路,双向,府前路与金溪路口,117.4702,26.7301,WGS84,2023-07-01,在用,2023-06-01,"
    "2023-06-05,否,2023-06-20,县政府网站,,,",
    "JA-003,三华路停车,违法停车,三华路,,三华路中段,117.4690,26.7260,WGS84,2023-07-01,在用,2023-06-01,2023-06-05,是,"
    "2023-06-20,县政府网站,,,",
]
ROWS_B = [
    "JB-001,乙县超限检测站,超限超载,G205,双向,G205K10,117.50,26.70,WGS84,2022-01-01,在用,,,否,,,2022-01-01,2023-01-01,合格",
    "JB-002,乙县测速,固定测速,S306,由南向北,S306K3,117.52,26.71,WGS84,2022-01-01,在用,2021-12-01,2021-12-05,是,"
    "2021-12-20,县政府网站,2024-01-10,2025-01-09,合格",
]


def device_csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


@dataclass
class World:
    """Ids of the objects the tests reach for."""

    app: Flask
    dept: dict[str, int] = field(default_factory=dict)
    device: dict[str, int] = field(default_factory=dict)  # device code -> id
    finding: dict[str, int] = field(default_factory=dict)  # 'a' / 'b' -> a finding id of that department
    problem: dict[str, int] = field(default_factory=dict)  # 'a' / 'b' -> the problem that finding observes
    run_id: int = 0
    ledger_b: int = 0
    token: dict[str, str] = field(default_factory=dict)  # pending uploads by clerk_a
    extra: dict[str, int] = field(default_factory=dict)  # ids of what a test module adds (attachments …)


def make_app(tmp: Path, **config: Any) -> Flask:
    from web import create_app

    return create_app({"DATABASE_URL": f"sqlite:///{tmp / 'web.sqlite3'}", "SECRET_KEY": "test-secret",
                       "TESTING": True, "ATTACHMENTS_FOLDER": str(tmp / "attachments"), **config})


def populate(app: Flask, tmp: Path) -> World:
    """Departments A and B with devices (A's first device named with XSS payloads), users, an audit run."""
    from audit.casework import decisions
    from audit.registry.models import Department, Device
    from audit.registry.store import import_file
    from audit.registry.users import add_user
    from audit.casework.problems import audit_and_record
    from audit.registry.models import Finding

    world = World(app)
    with database_session(app) as db:
        for name, rows, dept in (("a.csv", ROWS_A, DEPT_A), ("b.csv", ROWS_B, DEPT_B)):
            result = import_file(db, device_csv(tmp / name, rows), "devices", department=dept, user="setup")
            assert result.applied, result.report.format_text()
            db.commit()
        world.dept = {"a": db.scalar(select(Department.id).where(Department.name == DEPT_A)),
                      "b": db.scalar(select(Department.id).where(Department.name == DEPT_B))}
        world.device = dict(db.execute(select(Device.device_code, Device.id)).all())
        add_user(db, "admin", "admin", PASSWORDS["admin"])
        add_user(db, "auditor", "auditor", PASSWORDS["auditor"])
        add_user(db, "clerk_a", "department", PASSWORDS["clerk_a"], department=DEPT_A)
        add_user(db, "clerk_b", "department", PASSWORDS["clerk_b"], department=DEPT_B)
        run, _, _ = audit_and_record(db, as_of=AS_OF, user="setup")
        db.commit()
        world.run_id = run.id
        for key, dept in (("a", DEPT_A), ("b", DEPT_B)):
            first = db.scalar(select(Finding).where(Finding.department == dept, Finding.problem_id.isnot(None))
                              .order_by(Finding.id).limit(1))
            world.finding[key], world.problem[key] = first.id, first.problem_id
        b_finding = db.get(Finding, world.finding["b"])
        _, item = decisions.rectify(db, b_finding.device_id, measure="补办审核", requirement="取得审核意见",
                                    deadline=AS_OF + dt.timedelta(days=30), responsible="张三", user="auditor",
                                    finding_ids=[b_finding.id], on=AS_OF)
        db.commit()
        world.ledger_b = item.id
    return world


class database_session:
    """A session of the app's database outside a request."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __enter__(self):  # type: ignore[no-untyped-def]
        from web.database import EXTENSION

        self.session = self.app.extensions[EXTENSION].sessions()
        return self.session

    def __exit__(self, *exc: Any) -> None:
        self.session.close()


def csrf(client: FlaskClient) -> str:
    return client.get("/api/csrf").get_json()["csrf_token"]


def login(client: FlaskClient, user: str, password: str | None = None) -> Any:
    token = csrf(client)
    return client.post("/login", data={"username": user, "password": password or PASSWORDS[user],
                                       "csrf_token": token})


def client_for(app: Flask, role: str) -> FlaskClient:
    """A client signed in as the role's user ('anonymous': not signed in)."""
    client = app.test_client()
    if role != "anonymous":
        response = login(client, ROLE_USERS[role])
        assert response.status_code == 302, response.text
    return client


def post(client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """A form POST with this session's CSRF token."""
    return client.post(url, data={"csrf_token": csrf(client), **(data or {})}, **kwargs)


def upload(client: FlaskClient, name: str, content: bytes, kind: str = "devices", wait: bool = True,
           **fields: Any) -> Any:
    """POST a file to /upload; unless wait=False, return once its check (in the background) is done."""
    import io

    data = {"kind": kind, "file": (io.BytesIO(content), name), **fields}
    response = post(client, "/upload", data, content_type="multipart/form-data")
    if wait and response.status_code == 303:
        wait_for_check(client, token_of(response))
    return response


def wait_for_check(client: FlaskClient, token: str, timeout: float = 120) -> None:
    """Wait until the upload's check or import (in the background) is done."""
    import time

    deadline = time.monotonic() + timeout
    while client.get(f"/upload/{token}/status").get_json()["state"] in ("checking", "importing"):
        assert time.monotonic() < deadline, f"upload {token} still running after {timeout} s"
        time.sleep(0.05)


def confirm(client: FlaskClient, token: str) -> Any:
    """POST the confirm button of a pending upload and wait for the import to end."""
    response = post(client, f"/upload/{token}/confirm")
    wait_for_check(client, token)
    return response


def token_of(response: Any) -> str:
    match = re.search(r"/upload/([A-Za-z0-9_-]{22})$", response.headers["Location"])
    assert match, response.headers.get("Location")
    return match.group(1)
