"""`camaudit serve`: the web application under waitress (a production WSGI server that also runs on Windows)."""
from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="Worker threads.")
def serve(host: str, port: int, threads: int) -> None:
    """Serve the web application (网页服务)."""
    from waitress import serve as waitress_serve

    from audit.registry.db import database_url
    from audit.registry.users import demo_accounts

    from . import create_app
    from .database import EXTENSION

    app = create_app()
    with app.extensions[EXTENSION].sessions() as session:
        exposed = demo_accounts(session)
    if exposed:
        click.secho(f"警告：账号 {'、'.join(exposed)} 仍使用公开的演示密码，任何人都能登录。对外提供服务前请修改密码"
                    "（camaudit user passwd NAME）或停用（camaudit user disable NAME）。", fg="red", err=True)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    click.echo(f"camaudit 网页服务：http://{shown}:{port}/  （数据库：{app.config.get('DATABASE_URL') or database_url()}；"
               "按 Ctrl+C 停止）")
    waitress_serve(app, host=host, port=port, threads=threads, ident="camaudit")
