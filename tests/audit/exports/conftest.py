"""A registry on which the supervision has run its course: one audit, decisions, a closed and an open item."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from audit.casework import decisions as D
from audit.casework import ledger as L
from audit.exports import export
from tests.audit.exports import world

ON = dt.date(2024, 7, 1)
AS_OF = dt.date(2024, 9, 1)


@dataclass
class Filed:
    session: object
    devices: dict
    run: object
    rev01: object
    closed: object
    open_item: object
    manual: object

    def export(self, kind, path, **kwargs):
        return export(self.session, kind, path, **({"as_of": AS_OF} | kwargs))


@pytest.fixture
def filed(session):
    devices = world.build(session)
    run = world.run(session)
    rev01 = world.finding(session, run.id, "JL-001", "REV01")
    sgn01 = world.finding(session, run.id, "JL-002", "SGN01")
    D.suspend(session, devices["JL-001"].id, reason="未经法制审核即投入使用", user="张三", finding_ids=[rev01.id],
              on=ON)
    _, open_item = D.rectify(session, devices["JL-001"].id, measure="补办法制审核", requirement="取得法制审核意见书",
                             deadline=dt.date(2024, 7, 31), responsible="王五", user="张三", finding_ids=[rev01.id],
                             on=ON)
    _, closed = D.rectify(session, devices["JL-002"].id, measure="设置明显标识", requirement="设置标识牌",
                          deadline=dt.date(2024, 8, 31), responsible="李四", user="张三", finding_ids=[sgn01.id],
                          on=ON)
    L.advance(session, closed.id, "已整改待核查", user="李四", note="已安装")
    L.close_item(session, closed.id, evidence="现场照片 3 张", user="赵六", on=dt.date(2024, 8, 20))
    # Text typed by a clerk that a spreadsheet would otherwise evaluate.
    _, manual = D.rectify(session, devices["JL-003"].id, measure="-2+3 更换立杆", requirement="@立杆加固",
                          deadline=dt.date(2024, 9, 30), responsible="+王五", user="张三",
                          problem="=cmd|' /C calc'!A0", on=ON)
    session.commit()
    return Filed(session, devices, run, rev01, closed, open_item, manual)
