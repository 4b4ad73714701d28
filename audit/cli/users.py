"""User commands: camaudit user add|list|passwd|set|disable|enable|remove."""
from __future__ import annotations

import sys

import click

from .common import open_session
from .text import table


@click.group("user")
def user() -> None:
    """Manage users (用户管理)."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "auditor", "department"]), required=True)
@click.option("--department", help="The department of a department user.")
@click.option("--full-name", help="姓名 (printed on decisions and documents).")
@click.option("--title", help="职务.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(name: str, role: str, department: str | None, full_name: str | None, title: str | None,
             password_stdin: bool) -> None:
    """Add a user; the password is asked for, or read from stdin with --password-stdin."""
    from ..registry.users import UserError, add_user

    password = _password(password_stdin)
    with open_session() as session:
        try:
            add_user(session, name, role, password, department, full_name=full_name, title=title)
        except UserError as exc:
            raise click.UsageError(str(exc)) from exc
        session.commit()
    click.echo(f"已添加用户 {name}（{role}）")


@user.command("list")
def user_list() -> None:
    """List the users: role, department, 姓名, 职务, disabled or not, live sessions."""
    from ..registry.logins import live_sessions
    from ..registry.users import ROLE_ZH, list_users

    with open_session() as session:
        rows = [{"name": u.name, "role": ROLE_ZH[u.role], "department": u.department.name if u.department else "",
                 "full_name": u.full_name, "title": u.title,
                 "state": f"已停用 {u.disabled_at:%Y-%m-%d}" if u.disabled_at else "可用",
                 "sessions": live_sessions(session, u.id)} for u in list_users(session)]
    headers = {"name": "用户名", "role": "角色", "department": "所属单位", "full_name": "姓名", "title": "职务",
               "state": "状态", "sessions": "在线会话"}
    click.echo(table(rows, list(headers), headers) + f"\n共 {len(rows)} 个用户")


def _change(name: str, change) -> None:  # type: ignore[no-untyped-def]
    from ..registry.users import UserError, get_user

    with open_session() as session:
        try:
            change(session, get_user(session, name))
        except UserError as exc:
            raise click.UsageError(str(exc)) from exc
        session.commit()


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def user_passwd(name: str, password_stdin: bool) -> None:
    """Set a new password; the user's sessions end."""
    from ..registry.users import set_password

    password = _password(password_stdin)
    _change(name, lambda s, u: set_password(s, u, password))
    click.echo(f"已修改用户 {name} 的密码；该用户已登录的会话均已结束。")


@user.command("set")
@click.argument("name")
@click.option("--full-name", help="姓名 ('' clears it).")
@click.option("--title", help="职务 ('' clears it).")
def user_set(name: str, full_name: str | None, title: str | None) -> None:
    """Set a user's 姓名 and 职务."""
    from ..registry.users import set_labels

    _change(name, lambda s, u: set_labels(s, u, full_name, title))
    click.echo(f"已更新用户 {name}。")


@user.command("disable")
@click.argument("name")
def user_disable(name: str) -> None:
    """Disable a user: its sessions end at once and it cannot sign in."""
    from ..registry.users import set_disabled

    _change(name, lambda s, u: set_disabled(s, u, True))
    click.echo(f"已停用用户 {name}；该用户已登录的会话均已结束。")


@user.command("enable")
@click.argument("name")
def user_enable(name: str) -> None:
    """Enable a disabled user again."""
    from ..registry.users import set_disabled

    _change(name, lambda s, u: set_disabled(s, u, False))
    click.echo(f"已启用用户 {name}。")


@user.command("remove")
@click.argument("name")
@click.confirmation_option(prompt="确定删除该用户？其姓名仍保留在变更记录和决定中。")
def user_remove(name: str) -> None:
    """Remove a user (its name stays in the change log and on its decisions)."""
    from ..registry.users import remove_user

    _change(name, lambda s, u: remove_user(s, u))
    click.echo(f"已删除用户 {name}。")


COMMANDS = {"user": user}
