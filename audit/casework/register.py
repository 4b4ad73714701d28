"""The register of the bureau's documents (发文登记): each issued document numbered 将司监督〔2025〕3号 — the
issuing body's prefix (机关代字), the year, and the next number of that prefix and year — kept with the file as issued
and recorded on every problem it cites.

The number is taken when the document is stored: two auditors issuing at once cannot get the same number (a
unique constraint on prefix, year and number; the loser takes the next one, see audit.exports.letters.issue).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from ..registry.models import IssuedDocument, IssuedDocumentProblem, Problem
from .decisions import DecisionError

PREFIX_MAX = 50


def doc_no(prefix: str, year: int, seq: int) -> str:
    """将司监督〔2025〕3号: the number without leading zeros, the year in 六角括号 (GB/T 9704-2012 7.2.4)."""
    return f"{prefix}〔{year}〕{seq}号"


def check_prefix(prefix: str | None) -> str:
    text = (prefix or "").strip()
    if not text:
        raise DecisionError("请填写发文机关代字（如“将司监督”），文号按代字、年份和顺序号编排。")
    if len(text) > PREFIX_MAX or any(c in text for c in "〔〕[]号"):
        raise DecisionError(f"发文机关代字“{text}”不对：只写代字（如“将司监督”），年份和顺序号由系统编排。")
    return text


def next_seq(session: Session, prefix: str, year: int) -> int:
    last = session.scalar(select(func.max(IssuedDocument.seq)).where(IssuedDocument.prefix == prefix,
                                                                     IssuedDocument.year == year))
    return (last or 0) + 1


def record(session: Session, *, kind: str, prefix: str, year: int, seq: int, title: str, addressee: str,
           department: str | None, issued_on: dt.date, deadline: dt.date | None, issued_by: str, filename: str,
           content: bytes, problem_ids: Iterable[int]) -> IssuedDocument:
    """Store an issued document under its number and link it to the problems it cites (caller handles a taken
    number: IntegrityError)."""
    ids = sorted({int(i) for i in problem_ids})
    document = IssuedDocument(kind=kind, prefix=prefix, year=year, seq=seq, doc_no=doc_no(prefix, year, seq),
                              title=title, addressee=addressee, department=department, issued_on=issued_on,
                              deadline=deadline, issued_by=issued_by, filename=filename, content=content,
                              sha256=hashlib.sha256(content).hexdigest())
    session.add(document)
    session.flush()
    session.add_all(IssuedDocumentProblem(document_id=document.id, problem_id=i) for i in ids)
    session.flush()
    return document


def documents(session: Session, *, department: str | None = None, kind: str | None = None) -> list[IssuedDocument]:
    query = (select(IssuedDocument).options(selectinload(IssuedDocument.problem_links))
             .order_by(IssuedDocument.issued_on.desc(), IssuedDocument.id.desc()))
    if department:
        query = query.where(IssuedDocument.department == department)
    if kind:
        query = query.where(IssuedDocument.kind == kind)
    return list(session.scalars(query))


def get_document(session: Session, document_id: int) -> IssuedDocument:
    document = session.get(IssuedDocument, document_id)
    if document is None:
        raise DecisionError(f"发文登记中没有编号为 {document_id} 的文书。")
    return document


def documents_citing(session: Session, problem_ids: Iterable[int]) -> dict[int, list[IssuedDocument]]:
    """Problem id → the issued documents citing it, oldest first (the problem's record of what was issued)."""
    ids = sorted({int(i) for i in problem_ids})
    out: dict[int, list[IssuedDocument]] = {}
    for start in range(0, len(ids), 5000):
        rows = session.execute(select(IssuedDocumentProblem.problem_id, IssuedDocument)
                               .join(IssuedDocument, IssuedDocument.id == IssuedDocumentProblem.document_id)
                               .where(IssuedDocumentProblem.problem_id.in_(ids[start:start + 5000]))
                               .order_by(IssuedDocument.issued_on, IssuedDocument.id)).all()
        for problem_id, document in rows:
            out.setdefault(problem_id, []).append(document)
    return out


def citable(session: Session, department: str, problem_ids: Iterable[int]) -> list[Problem]:
    """The problems a document to `department` may cite: its own, not dismissed; DecisionError naming the others."""
    ids = sorted({int(i) for i in problem_ids})
    found = {p.id: p for p in session.scalars(select(Problem).where(Problem.id.in_(ids)))} if ids else {}
    missing = [i for i in ids if i not in found]
    if missing:
        raise DecisionError(f"引用的问题不存在：{'、'.join(map(str, missing))}。")
    others = [p for p in found.values() if p.department != department]
    if others:
        raise DecisionError("问题 " + "、".join(f"{p.id}（{p.device_code}，{p.department}）" for p in others)
                            + f" 不属于“{department}”，不能在致该单位的文书中引用。")
    dismissed = [p for p in found.values() if p.verdict == "dismissed" and not p.stale]
    if dismissed:
        raise DecisionError(f"问题 {'、'.join(str(p.id) for p in dismissed)} 已被核查排除，不能作为文书的依据。")
    return [found[i] for i in ids]


__all__ = ["doc_no", "check_prefix", "next_seq", "record", "documents", "get_document", "documents_citing",
           "citable"]
