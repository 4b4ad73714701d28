"""POST /problems/<id>/responses (a department answers, with files); POST /responses/<id>/accept|reject (auditor)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request
from flask_login import current_user

from audit.casework import attachments, responses
from audit.registry.models import Problem, ProblemResponse

from ..access import DECIDERS, check_department, roles_required
from ..attachments import files
from ..auth.views import safe_next
from ..database import apply_decision, get_session
from ..findings import problem_label
from ..i18n import gettext as _
from ..i18n import term

bp = Blueprint("problems", __name__)


def _problem(problem_id: int) -> Problem:
    problem = get_session().get(Problem, problem_id)
    if problem is None:
        abort(404)
    check_department(problem.device.department_id)
    return problem


def _back():  # type: ignore[no-untyped-def]
    return redirect(safe_next(request.form.get("next")), code=303)


@bp.post("/problems/<int:problem_id>/responses")
@roles_required("department")
def respond(problem_id: int):
    problem = _problem(problem_id)
    form = request.form
    kind, text = form.get("kind", ""), form.get("text", "")
    given = files.uploads()

    def act(db):  # type: ignore[no-untyped-def]
        response = responses.respond(db, problem.id, kind=kind, text=text, user=current_user.name,
                                     department=current_user.department_name)
        if given:
            attachments.attach(db, files.folder(), given, device_id=problem.device_id, purpose="说明材料",
                               user=current_user.name, response_id=response.id, max_bytes=files.max_bytes())

    apply_decision(act, _("已提交{kind}：{what}。等待审查人员处理。", kind=term(kind, "response"),
                          what=problem_label(problem)))
    return _back()


def _response(response_id: int) -> ProblemResponse:
    response = get_session().get(ProblemResponse, response_id)
    if response is None:
        abort(404)
    return response


@bp.post("/responses/<int:response_id>/accept")
@roles_required(*DECIDERS)
def accept(response_id: int):
    response = _response(response_id)
    reason = request.form.get("reason")
    apply_decision(lambda db: responses.accept(db, response.id, reason=reason, user=current_user.name),
                   _("已采纳单位{kind}，问题已排除：{what}。", kind=term(response.kind, "response"),
                     what=problem_label(response.problem)))
    return _back()


@bp.post("/responses/<int:response_id>/reject")
@roles_required(*DECIDERS)
def reject(response_id: int):
    response = _response(response_id)
    reason = request.form.get("reason", "")
    apply_decision(lambda db: responses.reject(db, response.id, reason=reason, user=current_user.name),
                   _("已不予采纳单位{kind}：{what}。", kind=term(response.kind, "response"),
                     what=problem_label(response.problem)))
    return _back()
