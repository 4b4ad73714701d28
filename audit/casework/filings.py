"""What departments file for the plan's tasks (报送), and where each task stands for each department on a day.

A task is filed by a department when it has a filing the bureau has not returned; the first such filing's date
decides whether it came on time. Each responsible department's state on a day:

- filed (已按时报送): filed on or before the deadline;
- filed_late (逾期报送, with the days late);
- late (逾期未报送, with the days since the deadline);
- due (未到期, with the days left; due soon within DUE_SOON_DAYS).

`todo` is a department's list of what is due soon or overdue (for its 待办 page and the overview's card).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePath

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..registry.models import FILING_METHODS, Department, Filing, PlanTask, SupervisionPlan
from .decisions import DecisionError
from .plan import get_task, responsible

DUE_SOON_DAYS = 7
MAX_FILE_BYTES = 20 * 2**20
# What may be uploaded as a filing, and the first bytes each kind of file starts with (None: not checked).
UPLOAD_SUFFIXES: dict[str, tuple[bytes, ...] | None] = {
    ".docx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",), ".pdf": (b"%PDF",), ".ofd": (b"PK\x03\x04",),
    ".doc": (b"\xd0\xcf\x11\xe0",), ".xls": (b"\xd0\xcf\x11\xe0",), ".wps": (b"\xd0\xcf\x11\xe0",),
    ".zip": (b"PK\x03\x04",),
}
STATE_ZH = {"filed": "已报送", "filed_late": "逾期报送", "late": "逾期未报送", "due": "未到期"}
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@dataclass
class TaskStatus:
    """One responsible department's standing on one task on a day."""

    task: PlanTask
    department: Department
    state: str  # filed | filed_late | late | due
    days: int  # days late (filed_late, late) or left (due); 0 for filed
    filing: Filing | None = None  # the filing that counts (the first not returned)
    latest: Filing | None = None  # the latest filing (what the bureau reads)
    returned: Filing | None = None  # the latest returned filing, when nothing counts since

    @property
    def is_filed(self) -> bool:
        return self.state in ("filed", "filed_late")

    @property
    def due_soon(self) -> bool:
        return self.state == "due" and self.days <= DUE_SOON_DAYS

    @property
    def text(self) -> str:
        """As a person says it: 已报送（7月20日）, 逾期报送 3 天, 逾期 5 天, 剩 3 天."""
        if self.state == "filed":
            return f"已报送（{self.filing.filed_on.month}月{self.filing.filed_on.day}日）"
        if self.state == "filed_late":
            return f"逾期 {self.days} 天报送（{self.filing.filed_on.month}月{self.filing.filed_on.day}日）"
        if self.state == "late":
            return f"逾期 {self.days} 天未报送" + ("（已退回）" if self.returned else "")
        if self.days == 0:
            return "今天到期" + ("（已退回）" if self.returned else "")
        return f"未到期（剩 {self.days} 天）" + ("（已退回）" if self.returned else "")


def filings_of(session: Session, task_ids: list[int]) -> dict[tuple[int, int], list[Filing]]:
    """(task id, department id) → its filings, oldest first."""
    out: dict[tuple[int, int], list[Filing]] = {}
    if not task_ids:
        return out
    for f in session.scalars(select(Filing).where(Filing.task_id.in_(task_ids)).order_by(Filing.id)):
        out.setdefault((f.task_id, f.department_id), []).append(f)
    return out


def standing(task: PlanTask, department: Department, filings: list[Filing], on: dt.date) -> TaskStatus:
    counted = [f for f in filings if f.returned_on is None]
    returned = [f for f in filings if f.returned_on is not None]
    latest = filings[-1] if filings else None
    if counted:
        first = counted[0]
        late = (first.filed_on - task.deadline).days
        return TaskStatus(task, department, "filed_late" if late > 0 else "filed", max(late, 0), first, latest)
    last_returned = returned[-1] if returned else None
    if on > task.deadline:
        return TaskStatus(task, department, "late", (on - task.deadline).days, None, latest, last_returned)
    return TaskStatus(task, department, "due", (task.deadline - on).days, None, latest, last_returned)


def plan_status(session: Session, plan: SupervisionPlan, on: dt.date, department_id: int | None = None
                ) -> list[TaskStatus]:
    """Every task × responsible department (or one department's tasks) on a day, by deadline and department."""
    tasks = list(plan.tasks)
    filings = filings_of(session, [t.id for t in tasks])
    out = []
    for task in tasks:
        for dept in responsible(session, task):
            if department_id is not None and dept.id != department_id:
                continue
            out.append(standing(task, dept, filings.get((task.id, dept.id), []), on))
    return out


@dataclass
class DepartmentStanding:
    """A department's tasks on a day, counted by state, with the late ones and the next one due."""

    department: Department
    statuses: list[TaskStatus]

    def count(self, state: str) -> int:
        return sum(s.state == state for s in self.statuses)

    @property
    def late(self) -> list[TaskStatus]:
        return sorted((s for s in self.statuses if s.state == "late"), key=lambda s: -s.days)

    @property
    def next_due(self) -> TaskStatus | None:
        due = [s for s in self.statuses if s.state == "due"]
        return min(due, key=lambda s: s.task.deadline) if due else None


def by_department(statuses: list[TaskStatus]) -> list[DepartmentStanding]:
    grouped: dict[int, DepartmentStanding] = {}
    for s in statuses:
        grouped.setdefault(s.department.id, DepartmentStanding(s.department, [])).statuses.append(s)
    return sorted(grouped.values(), key=lambda d: d.department.name)


def todo(session: Session, plan: SupervisionPlan | None, department_id: int, on: dt.date,
         within: int = DUE_SOON_DAYS) -> list[TaskStatus]:
    """A department's tasks overdue (longest late first) and due within `within` days (soonest first)."""
    if plan is None:
        return []
    statuses = plan_status(session, plan, on, department_id)
    late = sorted((s for s in statuses if s.state == "late"), key=lambda s: (-s.days, s.task.id))
    soon = sorted((s for s in statuses if s.state == "due" and s.days <= within), key=lambda s: (s.days, s.task.id))
    return late + soon


# ---- filing ----------------------------------------------------------------------------------------------

def clean_filename(name: str) -> str:
    """The file's own name (no folders), with characters Windows refuses replaced."""
    base = PurePath((name or "").replace("\\", "/")).name.strip()
    return _UNSAFE.sub("_", base)[:200]


def check_upload(filename: str, content: bytes) -> str:
    """The cleaned name of an uploaded file, or DecisionError saying what is wrong with it."""
    name = clean_filename(filename)
    suffix = PurePath(name).suffix.lower()
    if not name or suffix not in UPLOAD_SUFFIXES:
        raise DecisionError(f"文件“{name or filename}”的类型不能报送；请上传 {'、'.join(UPLOAD_SUFFIXES)} 文件。")
    if not content:
        raise DecisionError(f"文件“{name}”是空文件，请重新选择。")
    if len(content) > MAX_FILE_BYTES:
        raise DecisionError(f"文件“{name}”有 {len(content) / 2**20:.1f} MB，超过 {MAX_FILE_BYTES // 2**20} MB 的上限。")
    magic = UPLOAD_SUFFIXES[suffix]
    if magic and not content.startswith(magic):
        raise DecisionError(f"文件“{name}”的内容不是 {suffix} 文件（可能改过扩展名或已损坏），请检查后重新上传。")
    return name


def file_task(session: Session, task_id: int, department_id: int, *, content: bytes, filename: str, method: str,
              user: str, on: dt.date | None = None, note: str | None = None) -> Filing:
    """Record a department's filing of a task, with the file; refused for a department the task does not name."""
    task = get_task(session, task_id)
    user = (user or "").strip()
    if not user:
        raise DecisionError("请填写报送人。")
    if method not in FILING_METHODS:
        raise DecisionError(f"未知的报送方式“{method}”。")
    department = session.get(Department, department_id)
    if department is None or department.id not in {d.id for d in responsible(session, task)}:
        raise DecisionError(f"任务“{task.title}”的责任单位中没有“{department.name if department else department_id}”。")
    name = check_upload(filename, content) if method == "upload" else clean_filename(filename)
    filing = Filing(task_id=task.id, department_id=department.id, filed_on=on or dt.date.today(), filed_by=user,
                    method=method, filename=name, content=content, sha256=hashlib.sha256(content).hexdigest(),
                    size=len(content), note=(note or "").strip()[:2000] or None)
    session.add(filing)
    session.flush()
    return filing


def get_filing(session: Session, filing_id: int) -> Filing:
    filing = session.get(Filing, filing_id)
    if filing is None:
        raise DecisionError(f"没有编号为 {filing_id} 的报送记录。")
    return filing


def return_filing(session: Session, filing_id: int, *, reason: str, user: str, on: dt.date | None = None) -> Filing:
    """The bureau returns a filing (退回) with the reason: the task is due again for that department."""
    filing = get_filing(session, filing_id)
    reason, user = (reason or "").strip(), (user or "").strip()
    if not reason:
        raise DecisionError("退回须说明理由（如缺少附件、数据与台账不符）。")
    if not user:
        raise DecisionError("请填写操作人。")
    changed = session.execute(update(Filing).where(Filing.id == filing.id, Filing.returned_on.is_(None)).values(
        returned_on=on or dt.date.today(), returned_by=user, return_reason=reason)
        .execution_options(synchronize_session=False)).rowcount
    session.refresh(filing)
    if changed != 1:
        raise DecisionError(f"该报送已于 {filing.returned_on.isoformat()} 由 {filing.returned_by} 退回。")
    return filing


__all__ = ["DUE_SOON_DAYS", "STATE_ZH", "TaskStatus", "DepartmentStanding", "standing", "plan_status",
           "by_department", "todo", "file_task", "return_filing", "get_filing", "check_upload", "clean_filename",
           "filings_of"]
