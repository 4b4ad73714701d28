"""The supervision from end to end, through the commands an auditor types.

audit → suspend one device and rectify another → close the ledger item → re-audit → the documents show the right
statuses and dates.
"""
from __future__ import annotations

import datetime as dt

import docx
import openpyxl
import pytest
from click.testing import CliRunner

from audit.casework.ledger import Recheck, get_item, rechecks
from audit.cli.casework import decide_cmd
from audit.cli.documents import export_cmd
from audit.registry.db import init_db, make_engine, session_factory
from audit.registry.models import Device
from tests.audit.exports import world


def rows(path):
    ws = openpyxl.load_workbook(path).worksheets[0]
    return [[c.value for c in r] for r in ws.iter_rows(min_row=6) if isinstance(r[0].value, int)]


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'camaudit.sqlite3'}"
    engine = make_engine(url)
    init_db(engine)
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", url)
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def cli(command, *args):
    return CliRunner().invoke(command, [str(a) for a in args])


def ok(command, *args):
    result = cli(command, *args)
    assert result.exit_code == 0, result.output
    return result.output


def test_audit_decide_close_reaudit_and_file(db, tmp_path):
    world.build(db)
    first = world.run(db, as_of=dt.date(2024, 6, 30))
    rev01 = world.finding(db, first.id, "JL-001", "REV01")
    sgn01 = world.finding(db, first.id, "JL-002", "SGN01")

    ok(decide_cmd, "suspend", "JL-001", "--reason", "未经法制审核即投入使用", "--finding", rev01.id,
       "--on", "2024-07-01", "--user", "张三")
    out = ok(decide_cmd, "rectify", "JL-002", "--measure", "设置明显标识", "--requirement", "设置标识牌",
             "--deadline", "2024-08-31", "--responsible", "李四", "--finding", sgn01.id, "--on", "2024-07-01",
             "--user", "张三")
    item_id = int(out.split("第 ")[1].split(" 项")[0])
    refused = cli(decide_cmd, "close", item_id, "--evidence", "现场照片", "--user", "赵六")
    assert refused.exit_code == 2 and "须先报告已整改" in refused.output
    ok(decide_cmd, "advance", item_id, "已整改待核查", "--note", "标识牌已安装", "--user", "李四")
    ok(decide_cmd, "close", item_id, "--evidence", "现场照片 3 张，标识清晰", "--on", "2024-08-20", "--user", "赵六")

    # The department fixes the sign and uploads again; the auditor re-runs the audit.
    db.rollback()  # end the read transaction begun before the commands wrote
    device = db.query(Device).filter(Device.device_code == "JL-002").one()
    device.signage = True
    db.commit()
    second = world.run(db, as_of=dt.date(2024, 9, 1))
    assert rechecks(db, [get_item(db, item_id)])[item_id] == Recheck("fixed", second)

    def export(kind, suffix, *extra):
        path = tmp_path / f"{kind}{suffix}"
        ok(export_cmd, kind, "-o", path, "--as-of", "2024-09-01", *extra)
        return path

    ledger = {r[2]: r for r in rows(export("ledger", ".xlsx"))}
    assert ledger["JL-002"][9:15] == ["已销号", "否", "复查已整改", ledger["JL-002"][12], "赵六", "现场照片 3 张，标识清晰"]
    assert ledger["JL-002"][12].date() == dt.date(2024, 8, 20)

    suspended = {r[2]: r for r in rows(export("suspension-list", ".xlsx"))}
    assert suspended["JL-001"][8].date() == dt.date(2024, 7, 1) and suspended["JL-001"][12] == "未列入整改台账"

    # The re-audit no longer sees the fixed one; the suspended device is re-checked as if back in use and still lacks
    # its legal review: both stay on the list.
    listed = {r[4]: r for r in rows(export("self-inspection", ".xlsx"))}
    assert listed["JL-001"][5:] == ["系统审查（REV01）", "立即停用，限期核查评估整改", None, None, "已停用 2024-07-01"]
    assert listed["JL-002"][9] == "已销号 2024-08-20"

    notice = rows(export("public-notice", ".xlsx"))
    assert "府前路" in {r[2] for r in notice} and "水南大道" not in {r[2] for r in notice}

    summary = docx.Document(export("summary", ".docx", "--case", rev01.id, "--issuer", "将乐县司法局"))
    text = "\n".join(p.text for p in summary.paragraphs)
    assert "第 2 次审查（审查基准日2024年9月1日" in text
    assert "共作出停用决定 1 项，目前仍停用 1 台" in text and "已销号 1 项" in text
    assert "2024年7月1日，张三作出停用决定：未经法制审核即投入使用。" in text

    letter = docx.Document(export("opinion-letter", ".docx", "--department", world.POLICE))
    text = "\n".join(p.text for p in letter.paragraphs)
    assert "设备 JL-001" in text and "已于2024年7月1日停用" in text and "JL-002" not in text

    wrong = cli(export_cmd, "ledger", "-o", tmp_path / "ledger.docx")
    assert wrong.exit_code == 2 and "只能导出为 .xlsx 文件" in wrong.output
