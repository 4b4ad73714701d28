"""`camaudit serve`: the app under waitress on the given address."""
from __future__ import annotations

from click.testing import CliRunner
from flask import Flask

from web.cli import serve


def test_serve_runs_the_app_under_waitress(tmp_path, monkeypatch):
    calls = {}

    def fake_serve(app, **kwargs):
        calls.update(kwargs, app=app)

    monkeypatch.setattr("waitress.serve", fake_serve)
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    monkeypatch.setenv("CAMAUDIT_SECRET_KEY", "from-the-environment")
    result = CliRunner().invoke(serve, ["--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://localhost:8123/" in result.output
    assert isinstance(calls["app"], Flask) and calls["app"].config["SECRET_KEY"] == "from-the-environment"
    assert (calls["host"], calls["port"]) == ("0.0.0.0", 8123)


def test_serve_refuses_a_bad_port():
    result = CliRunner().invoke(serve, ["--port", "70000"])
    assert result.exit_code == 2 and "70000" in result.output
