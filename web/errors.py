"""Error pages (and JSON errors for the API): 400 CSRF or a NUL character, 403, 404, 413 upload too large, 500."""
from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .i18n import gettext as _


def _json_wanted() -> bool:
    return request.blueprint == "api" or request.is_json


def _strings(value: Any) -> list[str]:
    """The strings of a JSON body, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value.keys(), *(s for v in value.values() for s in _strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _holds_nul() -> bool:
    """A NUL character anywhere in what the request sends: no one types one, and PostgreSQL refuses it in text."""
    texts = [request.path, *(s for pair in request.args.items(multi=True) for s in pair)]
    if request.method != "GET":
        texts += [s for pair in request.form.items(multi=True) for s in pair]
        texts += [s for key, f in request.files.items(multi=True) for s in (key, f.filename or "")]
        if request.is_json:
            texts += _strings(request.get_json(silent=True))
    return any("\x00" in t for t in texts)


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_nul():  # type: ignore[no-untyped-def]
        # Registered first: it runs before the CSRF check, the login and any view reads anything.
        if not _holds_nul():
            return None
        message = _("请求中含有空字符（NUL），已拒绝：正常填写的内容中不会有这种字符。请检查所填内容后重试。")
        if _json_wanted():
            return jsonify({"error": message}), 400
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):  # type: ignore[no-untyped-def]
        message = _("请求缺少有效的安全令牌（CSRF），已拒绝。请刷新页面后重试。")
        if _json_wanted():
            return jsonify({"error": message}), 400
        return render_template("error.html", code=400, message=message), 400

    @app.errorhandler(413)
    def too_large(exc: HTTPException):  # type: ignore[no-untyped-def]
        limit = current_app.config["MAX_CONTENT_LENGTH"] / 2**20
        message = _("文件过大：上限为 {limit:.0f} MB。请拆分文件后分批上传，或删去无关的工作表。", limit=limit)
        if _json_wanted():
            return jsonify({"error": message}), 413
        return render_template("upload/too_large.html", message=message), 413

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        messages = {
            403: _("您的角色无权使用此页面。"),
            404: _("没有找到该页面或记录，或您无权查看。"),
            405: _("不支持该请求方式。"),
        }
        message = messages.get(exc.code or 500, exc.description or "")
        if _json_wanted():
            return jsonify({"error": message}), exc.code
        return render_template("error.html", code=exc.code, message=message), exc.code

    @app.errorhandler(Exception)
    def server_error(exc: Exception):  # type: ignore[no-untyped-def]
        current_app.logger.exception("unhandled error")
        message = _("服务器内部错误，操作未完成。请稍后重试；如反复出现，请联系管理员。")
        if _json_wanted():
            return jsonify({"error": message}), 500
        return render_template("error.html", code=500, message=message), 500
