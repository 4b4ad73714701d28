"""The supervision plan as data (专项监督工作方案): phases, and tasks each naming what the responsible departments
(责任单位) file by a deadline; entered once by the bureau (web page, `camaudit plan load`).

The current plan is the latest one entered. Where none is, the SUPERVISION_PHASES setting of earlier releases
still gives the phases (phases_from_setting), without tasks.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..intake.hygiene import CONTROL, first_control, visible
from ..registry.ids import record_id
from ..registry.models import DELIVERABLES, Department, Filing, PlanPhase, PlanTask, SupervisionPlan
from .decisions import DecisionError

ALL_DEPARTMENTS = "各执法单位"
TITLE_MAX, NAME_MAX = 200, 100


@dataclass(frozen=True)
class PhaseView:
    """A phase as the overview shows it (from the plan or from the setting)."""

    name: str
    start: dt.date
    end: dt.date

    def state(self, today: dt.date) -> str:
        """current | past | future."""
        if self.start <= today <= self.end:
            return "current"
        return "past" if self.end < today else "future"


def current_plan(session: Session) -> SupervisionPlan | None:
    return session.scalar(select(SupervisionPlan).order_by(SupervisionPlan.id.desc()).limit(1))


def get_plan(session: Session, plan_id: int) -> SupervisionPlan:
    plan = session.get(SupervisionPlan, plan_id)
    if plan is None:
        raise DecisionError(f"没有编号为 {plan_id} 的工作方案。")
    return plan


def plans(session: Session) -> list[SupervisionPlan]:
    return list(session.scalars(select(SupervisionPlan).order_by(SupervisionPlan.id.desc())))


def phases_from_setting(config: Iterable[Mapping[str, Any]] | None) -> list[PhaseView]:
    """The phases of the SUPERVISION_PHASES setting ([{"name", "start", "end"}]), read where no plan is entered."""
    out = []
    for phase in config or []:
        out.append(PhaseView(str(phase["name"]), dt.date.fromisoformat(str(phase["start"])),
                             dt.date.fromisoformat(str(phase["end"]))))
    return sorted(out, key=lambda p: p.start)


def phase_views(plan: SupervisionPlan | None, setting: Iterable[Mapping[str, Any]] | None = None) -> list[PhaseView]:
    if plan is not None:
        return [PhaseView(p.name, p.start, p.end) for p in plan.phases]
    return phases_from_setting(setting)


# ---- checking what is entered ----------------------------------------------------------------------------

def _text(value: Any, what: str, limit: int, errors: list[str], *, required: bool = True) -> str | None:
    text = str(value).strip() if value is not None else ""
    if not text:
        if required:
            errors.append(f"{what}不能为空。")
        return None
    if len(text) > limit:
        errors.append(f"{what}“{text[:20]}…”超过 {limit} 个字。")
        return None
    if CONTROL.search(text):
        position, char = first_control(text, multiline=True)
        errors.append(f"{what}“{visible(text[:40])}”中有不可见的控制字符（{char}，第{position}个字符）；请删除后重试。")
        return None
    return text


def _date(value: Any, what: str, errors: list[str]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        errors.append(f"{what}“{'' if value is None else value}”不是日期，应写作 2025-07-25。")
        return None


def department_ids(session: Session, names: Any, where: str, errors: list[str]) -> list[int] | None:
    """The ids of the departments named (None: all departments, 各执法单位); unknown names are errors."""
    if names in (None, "", ALL_DEPARTMENTS, [ALL_DEPARTMENTS], []):
        return None
    if isinstance(names, str):
        names = [n for n in names.replace("，", "、").replace(",", "、").split("、")]
    known = dict(session.execute(select(Department.name, Department.id)).all())
    ids = []
    for name in names:
        name = str(name).strip()
        if not name:
            continue
        if name not in known:
            errors.append(f"{where}：责任单位“{name}”未登记（已登记的单位见命令 camaudit departments）。")
            continue
        if known[name] not in ids:
            ids.append(known[name])
    return ids or None


def _deliverable(value: Any, where: str, errors: list[str]) -> str | None:
    text = str(value or "").strip()
    if text not in DELIVERABLES:
        errors.append(f"{where}：报送材料“{text}”不在可选范围内，应为：{'、'.join(DELIVERABLES)}。")
        return None
    return text


def _raise(errors: list[str]) -> None:
    if errors:
        raise DecisionError("工作方案有以下问题，未作任何改动：\n" + "\n".join(f"{n}. {e}" for n, e in
                                                                    enumerate(errors, start=1)))


# ---- the plan, its phases and tasks ----------------------------------------------------------------------

def create_plan(session: Session, *, title: str, issuer: str, user: str, doc_no: str | None = None,
                doc_prefix: str | None = None) -> SupervisionPlan:
    errors: list[str] = []
    title_ = _text(title, "方案名称", TITLE_MAX, errors)
    issuer_ = _text(issuer, "印发单位", TITLE_MAX, errors)
    doc_no_ = _text(doc_no, "方案文号", NAME_MAX, errors, required=False)
    prefix = _text(doc_prefix, "发文机关代字", 50, errors, required=False)
    user_ = _text(user, "操作人", NAME_MAX, errors)
    _raise(errors)
    plan = SupervisionPlan(title=title_, issuer=issuer_, doc_no=doc_no_, doc_prefix=prefix, created_by=user_)
    session.add(plan)
    session.flush()
    return plan


def update_plan(session: Session, plan_id: int, *, title: str, issuer: str, doc_no: str | None = None,
                doc_prefix: str | None = None) -> SupervisionPlan:
    plan = get_plan(session, plan_id)
    errors: list[str] = []
    title_ = _text(title, "方案名称", TITLE_MAX, errors)
    issuer_ = _text(issuer, "印发单位", TITLE_MAX, errors)
    doc_no_ = _text(doc_no, "方案文号", NAME_MAX, errors, required=False)
    prefix = _text(doc_prefix, "发文机关代字", 50, errors, required=False)
    _raise(errors)
    plan.title, plan.issuer, plan.doc_no, plan.doc_prefix = title_, issuer_, doc_no_, prefix
    session.flush()
    return plan


def add_phase(session: Session, plan_id: int, *, name: str, start: Any, end: Any) -> PlanPhase:
    get_plan(session, plan_id)
    errors: list[str] = []
    name_ = _text(name, "阶段名称", NAME_MAX, errors)
    start_, end_ = _date(start, "阶段开始日期", errors), _date(end, "阶段结束日期", errors)
    if start_ and end_ and end_ < start_:
        errors.append(f"阶段“{name_ or ''}”的结束日期 {end_.isoformat()} 早于开始日期 {start_.isoformat()}。")
    _raise(errors)
    phase = PlanPhase(plan_id=plan_id, name=name_, start=start_, end=end_)
    session.add(phase)
    session.flush()
    return phase


def remove_phase(session: Session, phase_id: int) -> None:
    phase = session.get(PlanPhase, phase_id)
    if phase is None:
        raise DecisionError(f"没有编号为 {phase_id} 的阶段。")
    used = session.scalar(select(func.count()).select_from(PlanTask).where(PlanTask.phase_id == phase_id))
    if used:
        raise DecisionError(f"阶段“{phase.name}”下还有 {used} 项任务；请先删除这些任务或改到其他阶段。")
    session.delete(phase)
    session.flush()


def _task_fields(session: Session, plan_id: int, where: str, errors: list[str], *, title: Any, deliverable: Any,
                 deadline: Any, departments: Any, phase_id: Any, requirement: Any) -> dict[str, Any]:
    fields = {"title": _text(title, f"{where}：任务内容", 1000, errors),
              "deliverable": _deliverable(deliverable, where, errors),
              "deadline": _date(deadline, f"{where}：完成时限", errors),
              "department_ids": department_ids(session, departments, where, errors),
              "requirement": _text(requirement, f"{where}：具体要求", 2000, errors, required=False),
              "phase_id": None}
    if phase_id not in (None, ""):
        found = record_id(phase_id)
        phase = session.get(PlanPhase, found) if found is not None else None
        if phase is None or phase.plan_id != plan_id:
            errors.append(f"{where}：所属阶段不是本方案的阶段。")
        else:
            fields["phase_id"] = phase.id
    return fields


def add_task(session: Session, plan_id: int, *, title: str, deliverable: str, deadline: Any,
             departments: Any = None, phase_id: Any = None, requirement: str | None = None) -> PlanTask:
    get_plan(session, plan_id)
    errors: list[str] = []
    fields = _task_fields(session, plan_id, "任务", errors, title=title, deliverable=deliverable, deadline=deadline,
                          departments=departments, phase_id=phase_id, requirement=requirement)
    _raise(errors)
    task = PlanTask(plan_id=plan_id, **fields)
    session.add(task)
    session.flush()
    return task


def get_task(session: Session, task_id: int) -> PlanTask:
    task = session.get(PlanTask, task_id)
    if task is None:
        raise DecisionError(f"工作方案中没有编号为 {task_id} 的任务。")
    return task


def update_task(session: Session, task_id: int, *, title: str, deliverable: str, deadline: Any,
                departments: Any = None, phase_id: Any = None, requirement: str | None = None) -> PlanTask:
    task = get_task(session, task_id)
    errors: list[str] = []
    fields = _task_fields(session, task.plan_id, "任务", errors, title=title, deliverable=deliverable,
                          deadline=deadline, departments=departments, phase_id=phase_id, requirement=requirement)
    filed = _filed_departments(session, task.id)
    if fields["department_ids"] is not None and filed - set(fields["department_ids"]):
        names = session.scalars(select(Department.name).where(Department.id.in_(filed - set(fields["department_ids"]))))
        errors.append(f"{'、'.join(names)}已报送本任务，不能从责任单位中去掉。")
    if filed and fields["deliverable"] and fields["deliverable"] != task.deliverable:
        errors.append(f"已有单位报送了“{task.deliverable}”，不能改为报送“{fields['deliverable']}”；请另设一项任务。")
    _raise(errors)
    for key, value in fields.items():
        setattr(task, key, value)
    session.flush()
    return task


def _filed_departments(session: Session, task_id: int) -> set[int]:
    return set(session.scalars(select(Filing.department_id).where(Filing.task_id == task_id)))


def remove_task(session: Session, task_id: int) -> None:
    task = get_task(session, task_id)
    if _filed_departments(session, task.id):
        raise DecisionError(f"任务“{task.title}”已有单位报送，不能删除（报送记录须保留）。")
    session.delete(task)
    session.flush()


def responsible(session: Session, task: PlanTask) -> list[Department]:
    """The departments a task names, or every department (各执法单位), by name."""
    query = select(Department).order_by(Department.name)
    if task.department_ids:
        query = query.where(Department.id.in_([int(i) for i in task.department_ids]))
    return list(session.scalars(query))


def responsible_text(session: Session, task: PlanTask) -> str:
    if not task.department_ids:
        return ALL_DEPARTMENTS
    return "、".join(d.name for d in responsible(session, task))


# ---- the plan from a file --------------------------------------------------------------------------------

def read_plan_file(path: Path) -> dict[str, Any]:
    """A plan written as TOML (title, issuer, doc_no, doc_prefix, [[phases]], [[tasks]]); see load_plan."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DecisionError(f"工作方案文件“{path.name}”无法读取：{exc}。应为 UTF-8 编码的 TOML 文件。") from exc


def load_plan(session: Session, data: Mapping[str, Any], *, user: str) -> SupervisionPlan:
    """Enter a whole plan at once; every problem of the data is reported together and nothing is written then.

    data: title, issuer, doc_no, doc_prefix; phases: [{name, start, end}]; tasks: [{title, deliverable, deadline,
    phase (a phase's name), departments (names, or 各执法单位 / omitted for all), requirement}].
    """
    errors: list[str] = []
    header = {"title": _text(data.get("title"), "方案名称（title）", TITLE_MAX, errors),
              "issuer": _text(data.get("issuer"), "印发单位（issuer）", TITLE_MAX, errors),
              "doc_no": _text(data.get("doc_no"), "方案文号（doc_no）", NAME_MAX, errors, required=False),
              "doc_prefix": _text(data.get("doc_prefix"), "发文机关代字（doc_prefix）", 50, errors, required=False)}
    phases = []
    for n, phase in enumerate(data.get("phases") or [], start=1):
        where = f"第 {n} 个阶段"
        name = _text(phase.get("name"), f"{where}的名称", NAME_MAX, errors)
        start, end = _date(phase.get("start"), f"{where}的开始日期", errors), _date(phase.get("end"), f"{where}的结束日期", errors)
        if start and end and end < start:
            errors.append(f"{where}（{name}）的结束日期 {end.isoformat()} 早于开始日期 {start.isoformat()}。")
        phases.append((name, start, end))
    names = [p[0] for p in phases]
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        errors.append(f"阶段名称重复：{'、'.join(twice)}；每个阶段的名称须不同。")
    tasks = []
    for n, task in enumerate(data.get("tasks") or [], start=1):
        where = f"第 {n} 项任务"
        phase = str(task.get("phase") or "").strip()
        if phase and phase not in names:
            errors.append(f"{where}：阶段“{phase}”不在方案的阶段中（{'、'.join(n for n in names if n) or '无'}）。")
        tasks.append((phase, {"title": _text(task.get("title"), f"{where}：任务内容", 1000, errors),
                              "deliverable": _deliverable(task.get("deliverable"), where, errors),
                              "deadline": _date(task.get("deadline"), f"{where}：完成时限", errors),
                              "department_ids": department_ids(session, task.get("departments"), where, errors),
                              "requirement": _text(task.get("requirement"), f"{where}：具体要求", 2000, errors,
                                                   required=False)}))
    if not tasks:
        errors.append("方案中没有任务（[[tasks]]）：每项任务须写明任务内容、报送材料、完成时限和责任单位。")
    user_ = _text(user, "操作人", NAME_MAX, errors)
    _raise(errors)
    plan = SupervisionPlan(created_by=user_, **header)
    session.add(plan)
    session.flush()
    phase_ids = {}
    for name, start, end in phases:
        phase = PlanPhase(plan_id=plan.id, name=name, start=start, end=end)
        session.add(phase)
        session.flush()
        phase_ids[name] = phase.id
    for phase, fields in tasks:
        session.add(PlanTask(plan_id=plan.id, phase_id=phase_ids.get(phase), **fields))
    session.flush()
    session.expire(plan)
    return plan


__all__ = ["ALL_DEPARTMENTS", "PhaseView", "current_plan", "get_plan", "plans", "phases_from_setting", "phase_views",
           "create_plan", "update_plan", "add_phase", "remove_phase", "add_task", "get_task", "update_task",
           "remove_task", "responsible", "responsible_text", "read_plan_file", "load_plan", "department_ids"]
