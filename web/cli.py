"""`camaudit serve`: the web application under a production WSGI server.

One process: waitress, with threads (Linux and Windows). Several (--workers N, Linux): gunicorn, N worker processes
with threads each; each worker builds its own app (engine, connection pool, upload parsing process). Writes stay one
at a time across the workers: web.database.writing() takes the database's write lock, and the casework functions
change state by compare-and-set.
"""
from __future__ import annotations

import sys
from typing import Any

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="Threads per process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (more than one: gunicorn, Linux only).")
def serve(host: str, port: int, threads: int, workers: int) -> None:
    """Serve the web application (网页服务)."""
    from audit.registry.db import database_url
    from audit.registry.users import demo_accounts

    from . import create_app
    from .database import EXTENSION

    if workers > 1 and sys.platform == "win32":
        raise click.UsageError("多个工作进程（--workers）只能在 Linux 上使用；Windows 请用 --workers 1（waitress）。")
    app = create_app()
    with app.extensions[EXTENSION].sessions() as session:
        exposed = demo_accounts(session)
    if exposed:
        click.secho(f"警告：账号 {'、'.join(exposed)} 仍使用公开的演示密码，任何人都能登录。对外提供服务前请修改密码"
                    "（camaudit user passwd NAME）或停用（camaudit user disable NAME）。", fg="red", err=True)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    server = f"{workers} 个工作进程，每个 {threads} 个线程" if workers > 1 else f"{threads} 个线程"
    click.echo(f"camaudit 网页服务：http://{shown}:{port}/  （数据库：{app.config.get('DATABASE_URL') or database_url()}；"
               f"{server}；按 Ctrl+C 停止）")
    if workers == 1:
        from waitress import serve as waitress_serve

        waitress_serve(app, host=host, port=port, threads=threads, ident="camaudit")
        return
    app.extensions[EXTENSION].engine.dispose()  # each worker opens its own connections
    _gunicorn(host, port, workers, threads).run()


def _gunicorn(host: str, port: int, workers: int, threads: int) -> Any:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        """gunicorn with its settings given here (no config file, no command line of its own)."""

        def load_config(self) -> None:
            options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
                       "timeout": 120, "graceful_timeout": 30, "accesslog": None, "proc_name": "camaudit"}
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from . import create_app

            return create_app()

    return Server()
