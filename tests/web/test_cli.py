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


def test_serve_warns_while_demo_accounts_keep_the_published_password(tmp_path, monkeypatch):
    from audit.registry.db import init_db, make_engine, session_factory
    from audit.registry.users import add_user

    url = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    engine = make_engine(url)
    init_db(engine)
    with session_factory(engine)() as session:
        add_user(session, "auditor", "auditor", "camaudit-demo")
        add_user(session, "admin", "admin", "not-the-demo-one")
        session.commit()
    engine.dispose()
    monkeypatch.setattr("waitress.serve", lambda app, **kwargs: None)
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", url)
    result = CliRunner().invoke(serve, [])
    assert result.exit_code == 0
    warning = result.stderr.splitlines()[0]
    assert "auditor" in warning and "演示密码" in warning and "admin" not in warning


def test_serve_with_workers_runs_gunicorn_processes(tmp_path):
    """--workers 2: a gunicorn master and two worker processes, each answering with its own app."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"CAMAUDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
                        "CAMAUDIT_INSTANCE_PATH": str(tmp_path / "instance")}
    camaudit = Path(sys.executable).with_name("camaudit")
    proc = subprocess.Popen([str(camaudit), "serve", "--workers", "2", "--threads", "2", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        status = None
        while time.time() < deadline and status is None:
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5).status
            except OSError:
                time.sleep(0.3)
        assert status == 200
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        while time.time() < deadline and len(children.read_text().split()) < 2:
            time.sleep(0.2)
        assert len(children.read_text().split()) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert "2 个工作进程" in out and proc.returncode == 0, err
