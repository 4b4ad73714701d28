"""User commands: camaudit user add."""
from __future__ import annotations

import sys

import click

from .common import open_session


@click.group("user")
def user() -> None:
    """Manage users (用户管理)."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "auditor", "department"]), required=True)
@click.option("--department", help="The department of a department user.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(name: str, role: str, department: str | None, password_stdin: bool) -> None:
    """Add a user; the password is asked for, or read from stdin with --password-stdin."""
    from ..registry.users import UserError, add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    with open_session() as session:
        try:
            add_user(session, name, role, password, department)
        except UserError as exc:
            raise click.UsageError(str(exc)) from exc
        session.commit()
    click.echo(f"已添加用户 {name}（{role}）")


COMMANDS = {"user": user}
