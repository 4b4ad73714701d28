"""A small registry shared by the decision, ledger, export and workflow tests: two departments, six devices.

JL-001 (red light in use) has no legal review: REV01, suspend. JL-002 (red light in use) has no sign: SGN01,
rectify. JL-003 is a device in use whose name, road, site and direction begin with = + - @ (formula injection);
its file had no 标识设置 column (an SGN01 finding that cannot assess). JL-004 is planned (拟建). CG-001 and CG-002
belong to the urban management bureau (停用, 在用).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.registry.models import Base, Department, Device

POLICE = "将乐县公安局交通管理大队"
CITY = "将乐县城市管理和综合执法局"
AS_OF = dt.date(2024, 6, 30)
DANGER = {"name": "=HYPERLINK(\"http://x\",\"y\")", "road": "+1+2", "address": "@SUM(A1:A9)", "direction": "-3"}

GOOD = dict(status="在用", in_service_on=dt.date(2023, 7, 1), installed_on=dt.date(2023, 5, 1),
            legal_review_on=dt.date(2023, 6, 1), legal_review_no="将公法审〔2023〕12号",
            tech_review_on=dt.date(2023, 6, 10), signage=True, published_on=dt.date(2023, 6, 20),
            publication_channel="县政府门户网站", justification="事故多发路段", crs="WGS84")


def create_tables(session: Session) -> None:
    Base.metadata.create_all(session.get_bind())


def build(session: Session) -> dict[str, Device]:
    create_tables(session)
    police, city = Department(name=POLICE), Department(name=CITY)
    session.add_all([police, city])
    session.flush()
    specs = [
        ("JL-001", police, "闯红灯", dict(GOOD, name="水南大道闯红灯", road="水南大道", direction="由东向西",
                                      address="水南大道与三华路口", legal_review_on=None, legal_review_no=None,
                                      violation_kinds="闯红灯", lon=117.4731, lat=26.7285)),
        ("JL-002", police, "闯红灯", dict(GOOD, name="府前路闯红灯", road="府前路", direction="双向",
                                      address="府前路与金溪路口", signage=False, violation_kinds="闯红灯",
                                      lon=117.4902, lat=26.7401)),
        ("JL-003", police, "违法停车", dict(GOOD, violation_kinds="违法停车", signage=None, lon=117.4590, lat=26.7160,
                                        unsupplied=["signage", "sign_distance_m"], **DANGER)),
        ("JL-004", police, "违法停车", dict(GOOD, name="拟建停车抓拍", road="金溪路", address="金溪路中段",
                                        status="拟建", in_service_on=None, lon=117.4795, lat=26.7213)),
        ("CG-001", city, "城市管理", dict(GOOD, name="老街占道抓拍", road="老街", address="老街口", status="停用",
                                      violation_kinds="占道经营", lon=117.4650, lat=26.7350)),
        ("CG-002", city, "城市管理", dict(GOOD, name="新街占道抓拍", road="新街", address="新街口",
                                      violation_kinds="占道经营", lon=117.4500, lat=26.7100)),
    ]
    for code, dept, kind, attrs in specs:
        session.add(Device(device_code=code, department_id=dept.id, device_type=kind, raw_lon=attrs.get("lon"),
                           raw_lat=attrs.get("lat"), **attrs))
    session.commit()
    return {d.device_code: d for d in session.scalars(select(Device))}


def run(session: Session, as_of: dt.date = AS_OF, department: str | None = None):
    from audit.casework.problems import audit_and_record

    audit_run, _, _ = audit_and_record(session, as_of=as_of, department=department, user="auditor")
    session.commit()
    return audit_run


def finding(session: Session, run_id: int, device_code: str, rule: str):
    from audit.registry.models import Finding

    return session.scalar(select(Finding).where(Finding.run_id == run_id, Finding.device_code == device_code,
                                                Finding.rule == rule))


def problem(session: Session, device_code: str, rule: str):
    from audit.registry.models import Problem

    return session.scalar(select(Problem).where(Problem.device_code == device_code, Problem.rule == rule))
