"""The reports departments file and the bureau's documents, opened with python-docx / openpyxl: each has its
required parts, counts only what it is about, dates its text in Chinese, and carries the texts as edited."""
from __future__ import annotations

import datetime as dt
import io
import re

import docx
import openpyxl
import pytest
from sqlalchemy import select

from audit.casework import filings as F
from audit.casework.plan import load_plan
from audit.exports import drafting, export, letters
from audit.exports.common import chinese_dates
from audit.exports.data import ExportError, Options
from audit.exports.reports import require_filled, unfilled
from audit.registry.models import Department
from tests.audit.exports import world
from tests.audit.exports.conftest import AS_OF

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture
def planned(filed):
    """The filed registry with the bureau's plan: the self-inspection report due 2024-07-25 of both departments,
    filed by the police only; the summary due 2024-12-01."""
    session = filed.session
    plan = load_plan(session, {
        "title": "将乐县罚款实施专项监督工作方案", "issuer": "将乐县司法局", "doc_no": "将司〔2024〕12号",
        "doc_prefix": "将司监督",
        "tasks": [{"title": "报送自查报告", "deliverable": "自查报告", "deadline": "2024-07-25"},
                  {"title": "报送第三季度工作情况", "deliverable": "季度报告", "deadline": "2024-10-10"},
                  {"title": "报送工作总结", "deliverable": "工作总结", "deadline": "2024-12-01"}]}, user="admin")
    police = session.scalar(select(Department.id).where(Department.name == world.POLICE))
    F.file_task(session, plan.tasks[0].id, police, content=b"%PDF-1.4", filename="自查报告.pdf", method="upload",
                user="clerk", on=dt.date(2024, 7, 20))
    session.commit()
    filed.plan = plan
    return filed


def open_doc(path):
    return docx.Document(path)


def paragraphs(doc) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def everything(doc) -> str:
    return paragraphs(doc) + "\n" + "\n".join(c.text for t in doc.tables for r in t.rows for c in r.cells)


def test_the_self_report_has_its_parts_counts_its_department_and_attaches_the_list(planned, tmp_path):
    doc = open_doc(planned.export("self-report", tmp_path / "r.docx", department=world.POLICE))
    text = paragraphs(doc)
    assert f"{world.POLICE}关于罚款实施专项监督自查情况的报告" in text
    assert "将乐县司法局：" in text  # the plan's issuer is the addressee
    assert "根据《将乐县罚款实施专项监督工作方案》（将司〔2024〕12号）的要求" in text
    for heading in ("一、自查工作开展情况", "二、自查发现的问题", "三、已停用设备情况", "四、整改计划", "五、下一步工作"):
        assert heading in text
    # The police have four devices of the six, and the run examined them all: the report says four.
    assert "登记非现场执法设备 4 台（在用 2 台、停用 1 台、拟建 1 台）" in text
    assert "对 4 台设备逐台核查了" in text and "6 台" not in text
    assert "截至2024年9月1日" in text and not ISO_DATE.search(text)
    categories = [[c.text for c in r.cells] for r in doc.tables[0].rows]
    assert categories[-1][0] == "合计" and categories[-1][1] == str(len(categories) - 3)  # two header rows
    # The attachment: 突出问题清单, on landscape pages, after the signature.
    assert "附件：罚款实施专项监督突出问题清单" in text and doc.sections[-1].orientation.name == "LANDSCAPE"
    assert "JL-001" in everything(doc) and "CG-" not in everything(doc)


def test_a_department_report_needs_a_department(planned, tmp_path):
    for kind in ("self-report", "quarterly", "typical-case", "accountability-note"):
        with pytest.raises(ExportError, match="须指明一个单位"):
            planned.export(kind, tmp_path / f"{kind}.docx")


def test_the_quarterly_report_covers_the_quarter_of_the_date(planned, tmp_path):
    doc = open_doc(planned.export("quarterly", tmp_path / "q.docx", department=world.POLICE,
                                  as_of=dt.date(2024, 8, 15)))
    text = paragraphs(doc)
    assert f"{world.POLICE}2024年第三季度罚款实施专项监督工作情况报告" in text
    assert "本季度（2024年7月1日至2024年8月15日）" in text
    for heading in ("一、本季度工作情况", "二、整改推进情况", "三、存在的问题", "四、下一季度工作安排"):
        assert heading in text
    # Two ledger items opened on 2024-07-01 (in the quarter), one closed on 2024-08-20 (after the date).
    assert "本季度新列入整改台账 3 项，核查销号 0 项" in text
    assert "设备 JL-001：补办法制审核（时限2024年7月31日" in text  # overdue on 2024-08-15
    # The plan's tasks of the next quarter (October to December).
    assert "须于2024年10月10日前完成：报送第三季度工作情况（报送季度报告）" in text
    assert "须于2024年12月1日前完成：报送工作总结（报送工作总结）" in text
    assert "须于2024年7月25日前" not in text


def test_a_department_summary_counts_that_department_only(planned, tmp_path):
    doc = open_doc(planned.export("summary", tmp_path / "s.docx", department=world.POLICE,
                                  case_finding_id=planned.rev01.id))
    text = paragraphs(doc)
    assert f"{world.POLICE}罚款实施专项监督工作总结" in text
    assert "共审查本单位设备 4 台" in text  # the run examined 6, the police have 4
    assert "（一）按问题类别统计" in text and "（一）按单位统计" not in text
    assert "五、追责问责和容错免责情况" in text and unfilled(drafting.build(
        planned.session, "summary", Options(department=world.POLICE, as_of=AS_OF,
                                            case_finding_id=planned.rev01.id))) == ["五、追责问责和容错免责情况"]
    ledger = doc.tables[-1]
    assert {r.cells[1].text for r in ledger.rows[2:]} == {world.POLICE}


def test_the_texts_edited_are_the_texts_exported_and_filed(planned, tmp_path):
    session = planned.session
    opts = Options(department=world.POLICE, as_of=AS_OF)
    with pytest.raises(ExportError, match="尚未填写：四、典型案例、五、追责问责和容错免责情况"):
        drafting.generate_for_filing(session, "工作总结", opts)
    drafting.save(session, "summary", opts, {"accountability": "对违规设置测速设备的责任人员予以诫勉谈话。\n无容错免责情形。",
                                            "unknown": "ignored"}, user="clerk", case_finding_id=planned.rev01.id)
    session.commit()
    name, content = drafting.generate_for_filing(session, "工作总结", opts)
    text = paragraphs(docx.Document(io.BytesIO(content)))
    assert name == f"工作总结_{world.POLICE}_2024-09-01.docx"
    assert "对违规设置测速设备的责任人员予以诫勉谈话。\n无容错免责情形。" in text
    assert chinese_dates(planned.rev01.message) in text  # the typical case chosen in the draft
    # The export of the same report carries the draft too; a reset brings the generated text back.
    assert "诫勉谈话" in paragraphs(open_doc(planned.export("summary", tmp_path / "s.docx", department=world.POLICE)))
    drafting.save(session, "summary", opts, {}, user="clerk", reset=("accountability",))
    assert "（请填写追责问责" in paragraphs(open_doc(planned.export("summary", tmp_path / "t.docx",
                                                                 department=world.POLICE)))
    with pytest.raises(ExportError, match="超过 20000 字的上限"):
        drafting.save(session, "summary", opts, {"basic": "字" * 20_001}, user="clerk")


def test_the_typical_case_and_the_accountability_note_wait_for_the_author(planned, tmp_path):
    opts = Options(department=world.POLICE, as_of=AS_OF)
    case = drafting.build(planned.session, "typical-case", Options(department=world.POLICE, as_of=AS_OF,
                                                                    case_finding_id=planned.rev01.id))
    require_filled(case)
    text = "\n".join(t.text for t in case.texts())
    assert planned.rev01.message in text and "2024年7月1日，张三作出停用决定" in text  # the texts, as written
    note = drafting.build(planned.session, "accountability-note", opts)
    assert unfilled(note) == ["二、追责问责情况", "三、容错免责情况"]
    assert "经核查确认的问题 0 项" in note.texts()[0].text and "作出停用决定 1 项" in note.texts()[0].text


def test_the_new_devices_report_lists_the_devices_of_the_year(planned, tmp_path):
    session = planned.session
    devices = planned.devices
    devices["JL-002"].in_service_on = dt.date(2024, 3, 1)
    devices["JL-002"].published_on = dt.date(2024, 3, 5)
    devices["CG-002"].in_service_on = dt.date(2024, 5, 1)
    session.commit()
    doc = open_doc(planned.export("new-devices", tmp_path / "n.docx"))
    text = paragraphs(doc)
    assert "2024年度新增非现场执法设备情况报告" in text and "新增投入使用非现场执法设备 2 台" in text
    assert "投入使用前向社会公布设置地点的 1 台" in text
    rows = {r[2]: r for r in openpyxl.load_workbook(planned.export("new-devices", tmp_path / "n.xlsx",
                                                                   department=world.POLICE)).active.iter_rows(
        min_row=6, values_only=True) if r[2]}
    assert set(rows) == {"JL-002"}
    assert rows["JL-002"][9] == "2024-03-05 县政府门户网站，晚于启用日期" and rows["JL-002"][10] == "不属强制检定"
    assert "SGN01" in rows["JL-002"][11]


def test_the_new_devices_report_says_how_their_problems_are_handled(session, filed, tmp_path):
    # JL-001 was suspended, JL-002's problem went on the ledger: the report says so, device by device.
    for code in ("JL-001", "JL-002"):
        filed.devices[code].in_service_on = dt.date(2024, 3, 1)
    session.commit()
    text = paragraphs(open_doc(filed.export("new-devices", tmp_path / "n.docx")))
    assert "新增设备中有 2 台仍存在审查发现的问题，详见附件“审查发现的问题”一栏，其中已停用 1 台、已列入整改台账 1 台。" in text


def test_the_new_devices_report_does_not_claim_unhandled_problems_handled(session, tmp_path):
    devices = world.build(session)
    world.run(session)
    devices["JL-001"].in_service_on = dt.date(2024, 3, 1)
    session.commit()
    text = paragraphs(open_doc(export(session, "new-devices", tmp_path / "n.docx", as_of=world.AS_OF)))
    assert "已按规定停用或列入整改台账。" not in text
    assert ("新增设备中有 1 台仍存在审查发现的问题，详见附件“审查发现的问题”一栏，其中尚未停用、也未列入整改台账 1 台，"
            "将逐台核查，按规定停用或列入整改台账。") in text


def test_the_work_report_and_the_bulletin_name_the_late_and_the_good(planned, tmp_path):
    for kind, title, parts in [
        ("work-report", "关于罚款实施专项监督工作情况的报告", ("一、工作开展情况", "二、工作成效和好的做法", "三、存在的突出问题")),
        ("bulletin", "关于罚款实施专项监督工作情况的通报", ("一、基本情况", "二、好的做法", "三、存在的问题", "四、工作要求")),
    ]:
        doc = open_doc(planned.export(kind, tmp_path / f"{kind}.docx"))
        text = paragraphs(doc)
        assert title in text and all(p in text for p in parts), kind
        assert f"{world.CITY}：“自查报告”逾期 38 天未报送" in text  # due 2024-07-25, counted on 2024-09-01
        assert f"{world.POLICE}按时报送方案要求的材料 1 项" in text
        rows = {r.cells[0].text: [c.text for c in r.cells] for r in doc.tables[0].rows}
        assert rows[world.POLICE][1] == "4" and rows[world.CITY][1] == "2"
    assert "将乐县人民政府：" in paragraphs(open_doc(planned.export("work-report", tmp_path / "w.docx")))
    assert "各执法单位：" in paragraphs(open_doc(planned.export("bulletin", tmp_path / "b.docx")))


def test_the_reports_count_items_closed_for_a_removal_apart_from_the_rectified(planned, tmp_path):
    """JL-001 removed on 2024-08-25: its open item is closed for that reason, not rectified. Where the reports count
    the items closed (已销号, 核查销号), they count the rectified one (JL-002's) and give the removed one apart."""
    from audit.casework import decisions as D

    D.remove(planned.session, planned.devices["JL-001"].id, user="张三", reason="道路改造，设备撤除",
             on=dt.date(2024, 8, 25))
    planned.session.commit()
    summary = paragraphs(open_doc(planned.export("summary", tmp_path / "s.docx", department=world.POLICE,
                                                 case_finding_id=planned.rev01.id)))
    assert "列入整改台账 3 项，其中待整改 1 项、整改中 0 项、已整改待核查 0 项、已销号 1 项、因设备拆除销号 1 项" in summary
    quarterly = paragraphs(open_doc(planned.export("quarterly", tmp_path / "q.docx", department=world.POLICE)))
    assert "本季度新列入整改台账 3 项，核查销号 1 项，因设备拆除销号 1 项。" in quarterly
    assert "列入整改台账 3 项，已销号 1 项，因设备拆除销号 1 项，已整改待核查 0 项" in quarterly
    report = open_doc(planned.export("work-report", tmp_path / "w.docx"))
    assert "已核查销号 1 项、因设备拆除销号 1 项。" in paragraphs(report)
    header = [c.text for c in report.tables[0].rows[1].cells]
    police = next([c.text for c in r.cells] for r in report.tables[0].rows if r.cells[0].text == world.POLICE)
    assert (police[header.index("已销号")], police[header.index("因拆除销号")]) == ("1", "1")
    self_report = paragraphs(open_doc(planned.export("self-report", tmp_path / "r.docx", department=world.POLICE)))
    assert "列入整改台账 3 项，已销号 1 项，因设备拆除销号 1 项" in self_report


@pytest.mark.parametrize("kind, title, needles", [
    ("supervise", "行政执法监督督办函", ("逾期未完成的整改事项", "整改台账第", "已逾期 32 天", "于2024年9月16日前办结")),
    ("advice", "行政执法监督建议书", ("二、监督建议", "设置地点无明显可见标识：在设备设置地点设置明显可见的标识")),
    ("opinion", "行政执法监督意见书", ("（一）设备 JL-001", "已于2024年7月1日停用", "请你单位于2024年9月16日前")),
    ("decision", "行政执法监督决定书", ("本机关决定如下", "立即停止使用下列设备采集违法事实：JL-001。")),
    ("transfer", "关于移送将乐县公安局交通管理大队有关问题线索的函", ("请依规依纪依法处理", "问题清单见附件")),
])
def test_each_letter_is_made_from_its_problems_and_deadline(planned, tmp_path, kind, title, needles):
    session = planned.session
    on = AS_OF
    ids = None
    if kind == "advice":
        ids = [world.problem(session, "JL-002", "SGN01").id]
    if kind == "transfer":
        ids = [world.problem(session, "JL-001", "REV01").id]
    req = letters.request(session, kind, department=world.POLICE, problem_ids=ids, on=on,
                          deadline=None if kind == "transfer" else on + dt.timedelta(days=15),
                          addressee="中共将乐县纪律检查委员会" if kind == "transfer" else None)
    document = letters.issue(session, req, prefix="将司监督", user="auditor")
    doc = docx.Document(io.BytesIO(document.content))
    text = paragraphs(doc)
    assert title in text and document.doc_no in text and "将乐县司法局" in text and "2024年9月1日" in text
    for needle in needles:
        assert needle in text, needle
    assert not ISO_DATE.search(text)
    if kind == "transfer":
        assert "中共将乐县纪律检查委员会：" in text and doc.sections[-1].orientation.name == "LANDSCAPE"


def test_a_letter_refuses_what_it_cannot_be_made_of(planned):
    session = planned.session
    with pytest.raises(ExportError, match="须写明期限"):
        letters.request(session, "opinion", department=world.POLICE, on=AS_OF)
    with pytest.raises(ExportError, match="应晚于发文日期"):
        letters.request(session, "opinion", department=world.POLICE, on=AS_OF, deadline=AS_OF)
    with pytest.raises(ExportError, match="移送函须写明主送机关"):
        letters.request(session, "transfer", department=world.POLICE, on=AS_OF)
    req = letters.request(session, "advice", department=world.CITY, on=AS_OF, deadline=AS_OF + dt.timedelta(days=9))
    with pytest.raises(ExportError, match="建议书须引用至少一个问题"):
        letters.issue(session, req, prefix="将司监督", user="auditor")
    # The city is late with its self-inspection report: a 督办函 needs no problem then.
    urge = letters.request(session, "supervise", department=world.CITY, on=AS_OF, deadline=AS_OF + dt.timedelta(days=7))
    text = paragraphs(docx.Document(io.BytesIO(letters.issue(session, urge, prefix="将司监督", user="auditor").content)))
    assert "“自查报告”（报送自查报告）应于2024年7月25日前报送，已逾期 38 天" in text


def test_the_task_list_shows_where_each_department_stands(planned, tmp_path):
    sheet = openpyxl.load_workbook(planned.export("task-list", tmp_path / "t.xlsx")).active
    rows = [r for r in sheet.iter_rows(min_row=5, values_only=True) if isinstance(r[0], int)]
    assert [r[3] for r in rows] == ["自查报告", "季度报告", "工作总结"]
    assert rows[0][4] == "各执法单位" and rows[0][5].date() == dt.date(2024, 7, 25)
    assert rows[0][6] == f"{world.POLICE}：已报送（7月20日）；{world.CITY}：逾期 38 天未报送"
    assert sheet["A2"].value == "将乐县罚款实施专项监督工作方案任务分解清单"
    own = openpyxl.load_workbook(planned.export("task-list", tmp_path / "p.xlsx", department=world.POLICE)).active
    assert [r[6] for r in own.iter_rows(min_row=5, values_only=True) if isinstance(r[0], int)][0] == "已报送（7月20日）"
    doc = open_doc(planned.export("task-list", tmp_path / "t.docx"))
    assert doc.sections[0].orientation.name == "LANDSCAPE" and "逾期 38 天未报送" in everything(doc)


def test_the_site_review_table_lists_devices_in_use_with_their_assessment(planned, tmp_path):
    from audit.casework.assessments import assess

    assess(planned.session, planned.devices["JL-002"].id, outcome="relocate", reason="路口改造", user="auditor",
           on=dt.date(2024, 8, 1))
    planned.session.commit()
    sheet = openpyxl.load_workbook(planned.export("site-review", tmp_path / "a.xlsx")).active
    rows = {r[2]: r for r in sheet.iter_rows(min_row=6, values_only=True) if r[2]}
    assert set(rows) == {"JL-002", "JL-003", "CG-002"}  # JL-001 was suspended; JL-004 is planned
    assert rows["JL-002"][8:11] == ("迁移", "路口改造", "auditor\n2024-08-01")
    assert rows["JL-002"][11].date() == dt.date(2025, 8, 1)
    assert rows["CG-002"][8] == "未评估" and rows["CG-002"][11].date() == dt.date(2026, 1, 1)
    assert open_doc(planned.export("site-review", tmp_path / "a.docx")).sections[0].orientation.name == "LANDSCAPE"


def test_no_document_names_a_file(planned, tmp_path):
    """Layers are named by their title, never a file name (the run here loaded none; see test_demo_audit)."""
    for kind, extra in [("summary", {}), ("self-report", {"department": world.POLICE}), ("work-report", {})]:
        text = paragraphs(open_doc(planned.export(kind, tmp_path / f"{kind}.docx", **extra)))
        assert ".geojson" not in text and ".shp" not in text
