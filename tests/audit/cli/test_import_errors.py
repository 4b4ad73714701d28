"""A database error while an import is applied is a report entry and exit code 2, never a traceback; the
database keeps what it had. An id no database column holds is refused by name before it reaches one."""
from __future__ import annotations

import json

import click
from click.testing import CliRunner
from sqlalchemy import func, select, text

from audit.cli import main
from audit.cli.common import DATE, IdType
from audit.registry.db import session_factory
from audit.registry.models import ChangeLog, Device, ImportBatch

DEPT = "将乐县公安局交通管理大队"
CSV = "设备编号,设备类型,经度,纬度\nJL-001,固定测速,117.4731,26.7285\n"


def refuse_device_inserts(engine) -> None:
    """A trigger that makes the database refuse every new device, as a full disk or a constraint would."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("CREATE OR REPLACE FUNCTION refuse_device() RETURNS trigger LANGUAGE plpgsql AS $$ "
                              "BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$"))
            conn.execute(text("CREATE TRIGGER refuse_device BEFORE INSERT ON device FOR EACH ROW "
                              "EXECUTE FUNCTION refuse_device()"))
        else:
            conn.execute(text("CREATE TRIGGER refuse_device BEFORE INSERT ON device "
                              "BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END"))


def test_a_database_error_during_an_import_is_reported_with_exit_2(db_engine, tmp_path, monkeypatch):
    refuse_device_inserts(db_engine)
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    path = tmp_path / "devices.csv"
    path.write_text(CSV, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "devices", str(path), "--department", DEPT, "--report",
                                       str(tmp_path / "r.json")])
    assert result.exit_code == 2, result.output
    assert "DATABASE_ERROR" in result.output and "数据库未作任何改动" in result.output
    assert "disk full (simulated)" in result.output and "Traceback" not in result.output
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [e["code"] for e in report["errors"]] == ["DATABASE_ERROR"]
    with session_factory(db_engine)() as session:
        for model in (Device, ImportBatch, ChangeLog):
            assert session.scalar(select(func.count()).select_from(model)) == 0


def commands(group, path=()):
    """Every command, as (command path, the command)."""
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def args_for(command, bad):
    """Arguments that reach the command's checks: `bad` for the id parameter `bad` names, a valid value for every
    other required parameter."""
    args = []
    for param in command.params:
        value = str(2**31) if param.name == bad else "1" if isinstance(param.type, IdType) else \
            param.type.choices[0] if isinstance(param.type, click.Choice) else "2025-01-01" if param.type is DATE else "x"
        if isinstance(param, click.Argument):
            args.append(value)
        elif param.name == bad or (param.required and not param.is_flag):
            args += [param.opts[0], value]
    return args


def test_an_id_too_large_for_the_database_is_refused_by_name_before_any_query(db_engine, monkeypatch):
    monkeypatch.setenv("CAMAUDIT_DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    ids = [(path, command, p) for path, command in commands(main) for p in command.params
           if p.name.endswith(("_id", "_ids"))]
    assert len(ids) >= 15 and all(isinstance(p.type, IdType) for _, _, p in ids), [
        (path, p.name) for path, _, p in ids if not isinstance(p.type, IdType)]
    for path, command, param in ids:
        result = CliRunner().invoke(main, [*path, *args_for(command, param.name)])
        assert result.exit_code == 2, (path, param.name, result.output)
        assert f"“{2**31}”不是有效的编号" in result.output and "Traceback" not in result.output, (path, result.output)
