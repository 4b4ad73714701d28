"""What the command groups share: the database session and its commit-or-refuse, the date and count option types,
plain JSON values."""
from __future__ import annotations

import datetime as dt
import re
from contextlib import contextmanager
from typing import Any, Iterator

import click
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..casework.decisions import DecisionError
from ..intake.columns import INT_MAX
from ..registry.db import begin_exclusive, init_db, make_engine, session_factory
from ..registry.ids import record_id


@contextmanager
def open_session() -> Iterator[Session]:
    engine = make_engine()
    init_db(engine)
    session = session_factory(engine)()
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


BUSY = ("另一进程（导入、审查或网页上的操作）正在写入数据库，等待后仍未结束；本次未作任何改动，请稍后重试。")


def take_write_turn(session: Session) -> None:
    """Start the session's next transaction holding the database's write lock (registry.db.begin_exclusive), so
    that the command waits for another writer (an import, an audit, the web app) instead of failing half-way
    with "database is locked"; still busy after the database's wait (30 s on SQLite): refused, exit 1."""
    session.rollback()
    try:
        begin_exclusive(session)
    except OperationalError as exc:
        session.rollback()
        raise click.ClickException(BUSY) from exc


@contextmanager
def committed(session: Session, refusals: tuple[type[Exception], ...] = (DecisionError,)) -> Iterator[None]:
    """Commit what the block wrote; a refusal (one of `refusals`) rolls it back and ends the command with its
    message, exit code 2, nothing written."""
    try:
        yield
    except refusals as exc:
        session.rollback()
        raise click.UsageError(str(exc)) from exc
    session.commit()


class DateType(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, dt.date):
            return value
        try:
            return iso_date(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


DATE = DateType()


class CountType(click.ParamType):
    """A whole number of at least 1 (a count of devices, say), refused in Chinese otherwise."""

    name = "N"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        try:
            number = int(str(value).strip())
        except ValueError:
            number = 0
        if number < 1:
            self.fail(f"“{value}”不是正整数：应填 1 或更大的整数，例如 10000。", param, ctx)
        return number


COUNT = CountType()


class IdType(click.ParamType):
    """A record's id (a problem's, a ledger item's, an audit run's …): 1 to INT_MAX, refused in Chinese otherwise
    (a larger number is no id a database column holds, and PostgreSQL would refuse the query)."""

    name = "ID"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        found = record_id(value)
        if not found:
            self.fail(f"“{value}”不是有效的编号：应为 1 至 {INT_MAX} 之间的整数。", param, ctx)
        return found


ID = IdType()


def registered_department(session: Session, name: str | None) -> str | None:
    """The registered name of the department typed as name, however spaced or in full width
    (audit.registry.names); None when no department is named. A usage error when none is registered so: a command
    must not report an empty list for a name that matches nothing."""
    if not name:
        return None
    from ..registry.store import get_department

    dept = get_department(session, name)
    if dept is None:
        raise click.UsageError(f"没有名为“{name}”的单位；用 camaudit departments 查看已有单位。")
    return dept.name


def iso_date(value: str) -> dt.date:
    """A date typed YYYY-MM-DD; else ValueError saying why: a day that does not exist (2025-02-29, 2025-04-31) is
    named so, not called a bad format."""
    text = value.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    typed = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if typed is None:
        raise ValueError(f"日期“{value}”格式不对，应为 2024-06-30。")
    year, month, day = map(int, typed.groups())
    missing = f"{year}年没有{month}月" if not 1 <= month <= 12 else f"{year}年{month}月没有{day}日"
    raise ValueError(f"日期“{value}”不存在：{missing}；请填写实际的日期，如 2024-06-30。")


def parse_date(value: str | None) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return iso_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def json_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, bool, dict, list)):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)

