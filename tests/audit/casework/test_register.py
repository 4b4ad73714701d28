"""The register of the bureau's documents: numbers per prefix and year with no gap and no double, the file kept, the
problems cited recorded, nothing edited afterwards."""
from __future__ import annotations

import datetime as dt
import io

import docx
import pytest
from sqlalchemy import select

from audit.casework import decisions as D
from audit.casework import register
from audit.casework.decisions import DecisionError
from audit.casework.problems import review_problem
from audit.exports import letters
from audit.exports.data import ExportError
from audit.registry.models import AppendOnlyError, IssuedDocument
from tests.audit.exports import world

ON = dt.date(2025, 3, 3)


@pytest.fixture
def env(session):
    devices = world.build(session)
    world.run(session)
    session.commit()
    return session, devices


def opinion(session, on=ON, **kwargs):
    req = letters.request(session, "opinion", department=world.POLICE, deadline=on + dt.timedelta(days=30), on=on,
                          issuer="将乐县司法局", **kwargs)
    return letters.issue(session, req, prefix="将司监督", user="auditor")


def test_numbers_follow_each_other_per_prefix_and_year(env):
    session, _ = env
    first, second = opinion(session), opinion(session)
    other = letters.issue(session, letters.request(session, "opinion", department=world.POLICE, on=ON,
                                                   deadline=ON + dt.timedelta(days=30)), prefix="将司函", user="auditor")
    next_year = opinion(session, on=dt.date(2026, 1, 5))
    assert [d.doc_no for d in (first, second, other, next_year)] == \
        ["将司监督〔2025〕1号", "将司监督〔2025〕2号", "将司函〔2025〕1号", "将司监督〔2026〕1号"]
    # The file kept is the one issued, numbered.
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(second.content)).paragraphs)
    assert "将司监督〔2025〕2号" in text and "行政执法监督意见书" in text


def test_a_number_taken_at_the_same_moment_goes_to_the_next(env, monkeypatch):
    session, _ = env
    opinion(session)
    real = register.next_seq
    stale = iter([1])  # the first look saw no document yet, as another auditor was issuing number 1

    def racing(session_, prefix, year):
        return next(stale, None) or real(session_, prefix, year)

    monkeypatch.setattr(register, "next_seq", racing)
    second = opinion(session)
    assert second.doc_no == "将司监督〔2025〕2号"
    assert [d.seq for d in session.scalars(select(IssuedDocument).order_by(IssuedDocument.id))] == [1, 2]


def test_the_problems_cited_know_the_documents(env):
    session, _ = env
    serious = world.problem(session, "JL-001", "REV01")
    doc = opinion(session)
    assert doc.problem_ids == [serious.id]
    cited = register.documents_citing(session, [serious.id, world.problem(session, "JL-002", "SGN01").id])
    assert [d.doc_no for d in cited[serious.id]] == ["将司监督〔2025〕1号"] and len(cited) == 1


def test_a_document_cites_only_the_departments_own_problems_not_dismissed(env):
    session, devices = env
    sign = world.problem(session, "JL-002", "SGN01")
    with pytest.raises(ExportError, match=f"不属于“{world.CITY}”"):
        letters.request(session, "advice", department=world.CITY, problem_ids=[sign.id], on=ON,
                        deadline=ON + dt.timedelta(days=10))
    review_problem(session, sign.id, confirm=False, reason="已有标识", user="auditor")
    with pytest.raises(ExportError, match="已被核查排除"):
        letters.request(session, "advice", department=world.POLICE, problem_ids=[sign.id], on=ON,
                        deadline=ON + dt.timedelta(days=10))
    with pytest.raises(ExportError, match="引用的问题不存在：999999"):
        letters.request(session, "advice", department=world.POLICE, problem_ids=[999999], on=ON,
                        deadline=ON + dt.timedelta(days=10))


def test_the_register_is_never_edited(env):
    session, _ = env
    doc = opinion(session)
    session.commit()
    doc.title = "改过的标题"
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()
    session.delete(session.get(IssuedDocument, doc.id))
    with pytest.raises(AppendOnlyError):
        session.flush()


@pytest.mark.parametrize("prefix, message", [("", "请填写发文机关代字"), ("将司监督〔2025〕", "只写代字"),
                                             ("将司监督3号", "只写代字")])
def test_a_prefix_is_the_issuer_code_only(prefix, message):
    with pytest.raises(DecisionError, match=message):
        register.check_prefix(prefix)


def test_the_decision_letter_cites_the_devices_to_stop(env):
    session, devices = env
    D.suspend(session, devices["JL-001"].id, reason="未经法制审核", user="auditor", on=ON,
              problem_ids=[world.problem(session, "JL-001", "REV01").id])
    req = letters.request(session, "decision", department=world.POLICE, on=ON, deadline=ON + dt.timedelta(days=15))
    assert {p.device_code for p in req.problems} == {"JL-001"}
    doc = letters.issue(session, req, prefix="将司监督", user="auditor")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(doc.content)).paragraphs)
    assert "立即停止使用下列设备采集违法事实：JL-001。" in text and "2025年3月18日前完成核查评估和整改" in text
