"""The `camaudit` command line."""
from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import io
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..intake.columns import DEVICE_COLUMNS, TABLES
from ..intake.reader import DEFAULT_MAX_BYTES
from ..intake.xlsxsafe import csv_safe
from ..registry.db import database_url, init_db, make_engine, session_factory
from ..registry.models import ChangeLog, Department, Device

KINDS = click.Choice(sorted(TABLES))


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """camaudit：非现场执法设备审查 (audit of non-site enforcement devices)."""


@main.command("init-db")
def init_db_cmd() -> None:
    """Create the database tables (建库)."""
    with open_session():
        click.echo(f"数据库已就绪：{database_url()}")


@main.command()
@click.argument("kind", type=KINDS)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the blank .xlsx form.")
def template(kind: str, output: Path) -> None:
    """Write the blank form a department fills in (填报模板)."""
    from ..intake.template import write_template

    if output.suffix.lower() != ".xlsx":
        raise click.UsageError("模板只能保存为 .xlsx 文件。")
    write_template(kind, output)
    click.echo(f"已生成{TABLES[kind].title}模板：{output}")


def _save_report(result: Any, source: Path, out: Path) -> None:
    suffix = out.suffix.lower()
    if suffix == ".json":
        result.report.write_json(out, extra={"result": result.summary()})
    elif suffix == ".xlsx":
        from ..intake.report_xlsx import write_annotated

        write_annotated(source, result.report, out)
    else:
        raise click.UsageError("--report 只支持 .json 或 .xlsx。")


@main.command("import")
@click.argument("kind", type=KINDS)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--department", help="填报单位: required for devices; for violations and verifications, every row must name one of its devices.")
@click.option("--crs", "default_crs", help="Default 坐标系 for rows that leave it empty (WGS84, CGCS2000, GCJ02, BD09 …).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the validation report as .json or as the annotated sheet .xlsx.")
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the change log.")
@click.option("--max-mb", type=float, default=DEFAULT_MAX_BYTES / 2**20, show_default=True,
              help="Largest accepted file, in MB.")
def import_cmd(kind: str, file: Path, department: str | None, default_crs: str | None, report_path: Path | None,
               dry_run: bool, user: str, max_mb: float) -> None:
    """Import a department's inventory, violation counts or verification records (导入).

    The file is applied whole or not at all: any error leaves the database unchanged (exit code 2).
    """
    from ..registry.store import RegistryError, import_file

    with open_session() as session:
        try:
            result = import_file(session, file, kind, department=department, user=user,
                                 default_crs=default_crs, dry_run=dry_run, max_bytes=int(max_mb * 2**20))
        except RegistryError as exc:
            raise click.UsageError(str(exc)) from exc
        if result.applied:
            session.commit()
        else:
            session.rollback()
    if result.report.problems:
        click.echo(result.report.format_text(limit=200))
    if report_path:
        _save_report(result, file, report_path)
        click.echo(f"校验报告已保存：{report_path}")
    click.echo(result.format_text())
    if not result.report.ok:
        sys.exit(2)


LIST_KEYS = [c.key for c in DEVICE_COLUMNS] + ["raw_lon", "raw_lat"]
TABLE_KEYS = ["device_code", "department", "device_type", "status", "road", "lon", "lat", "crs"]


def _table(records: list[dict[str, Any]], keys: list[str]) -> str:
    headers = {c.key: c.header for c in DEVICE_COLUMNS}
    rows = [[headers.get(k, k) for k in keys]] + [["" if r.get(k) is None else str(r[k]) for k in keys]
                                                   for r in records]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(keys))]
    return "\n".join("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths)) for row in rows)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


@main.command()
@click.option("--department", help="Only this department's devices.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
def devices(department: str | None, fmt: str, output: Path | None) -> None:
    """List the device registry (设备台账). JSON keys are the English column aliases; lon/lat in WGS-84."""
    from ..registry.store import device_records

    with open_session() as session:
        if department and session.scalar(select(Department.id).where(Department.name == department)) is None:
            raise click.UsageError(f"没有名为“{department}”的单位；用 camaudit departments 查看已有单位。")
        records = device_records(session, department)
    if fmt == "json":
        text = json.dumps(records, ensure_ascii=False, indent=2)
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=LIST_KEYS + ["missing_since_batch_id"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: csv_safe(v) for k, v in r.items()} for r in records)
        text = buf.getvalue()
    else:
        text = _table(records, TABLE_KEYS) + f"\n共 {len(records)} 台设备"
    if output:
        output.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"已写入 {output}（{len(records)} 台设备）")
    else:
        click.echo(text)


@main.command()
def departments() -> None:
    """List departments with their device counts and boundary source."""
    with open_session() as session:
        for dept in session.scalars(select(Department).order_by(Department.name)):
            count = session.query(Device).filter(Device.department_id == dept.id).count()
            boundary = dept.boundary_source or "未加载辖区边界"
            click.echo(f"{dept.name}\t{count} 台\t{boundary}")


@main.command()
@click.argument("department")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source-crs", type=click.Choice(["WGS84", "CGCS2000", "GCJ02", "BD09"]), default="WGS84",
              show_default=True, help="Coordinate system of the boundary file.")
@click.option("--user", default="cli", show_default=True)
def boundary(department: str, file: Path, source_crs: str, user: str) -> None:
    """Load a department's jurisdiction boundary (辖区边界) from a GeoJSON file."""
    from geo.boundary import load_boundary

    from ..registry.store import set_boundary

    geometry = load_boundary(file, source_crs=None if source_crs in ("WGS84", "CGCS2000") else source_crs)
    with open_session() as session:
        set_boundary(session, department, geometry, source=f"{file.name} ({source_crs})", user=user)
        session.commit()
    click.echo(f"已加载“{department}”的辖区边界：{file}")


@main.command()
@click.argument("device_code")
def history(device_code: str) -> None:
    """Show the change log of one device (变更记录)."""
    with open_session() as session:
        entries = session.scalars(select(ChangeLog).where(ChangeLog.device_code == device_code)
                                  .order_by(ChangeLog.id)).all()
    if not entries:
        raise click.UsageError(f"没有设备“{device_code}”的变更记录。")
    for e in entries:
        change = f"{e.field}: {e.before} → {e.after}" if e.field else (e.after or "")
        click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  批次{e.batch_id or '-'}  {e.user}  {e.action}  {change}")


FINDING_KEYS = ["rule", "device_code", "department", "severity", "action", "message", "evidence", "basis",
                "profile", "threshold", "title_zh", "title_en"]


def _parse_date(value: str | None) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"日期“{value}”应写作 2025-06-30。") from exc


@main.command("audit")
@click.option("--as-of", "as_of", help="Audit date YYYY-MM-DD (default: today).")
@click.option("--profile", default="national", show_default=True, help="Threshold profile (camaudit rules --profiles).")
@click.option("--department", help="Only this department's devices.")
@click.option("--areas", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Township/area polygons (GeoJSON, Shapefile, GeoPackage) for the density rule PLC02.")
@click.option("--areas-crs", help="CRS of the area file when it does not say, e.g. GCJ02 for DataV outlines.")
@click.option("--roads", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Road network (line GeoJSON, Shapefile, GeoPackage): PLC01 measures along the road, "
                   "PLC02 also counts devices per km of road.")
@click.option("--roads-crs", help="CRS of the road file when it does not say, e.g. GCJ02 for 高德 data.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the findings to a file.")
@click.option("--user", default="cli", show_default=True)
def audit_cmd(as_of: str | None, profile: str, department: str | None, areas: Path | None, areas_crs: str | None,
              roads: Path | None, roads_crs: str | None, fmt: str, output: Path | None, user: str) -> None:
    """Run every rule on the registry and store the findings as an audit run (审查)."""
    from geo.boundary import load_areas
    from geo.roads import load_roads

    from ..rules.engine import run_audit
    from ..rules.findings import summary_text
    from ..rules.profiles import ProfileError

    day = _parse_date(as_of)
    for crs, layer, flag in ((areas_crs, areas, "--areas"), (roads_crs, roads, "--roads")):
        if crs and not layer:
            raise click.UsageError(f"{flag}-crs 需与 {flag} 一起使用。")
    try:
        polygons = load_areas(areas, source_crs=areas_crs) if areas else None
        network = load_roads(roads, source_crs=roads_crs) if roads else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    with open_session() as session:
        if department and session.scalar(select(Department.id).where(Department.name == department)) is None:
            raise click.UsageError(f"没有名为“{department}”的单位；用 camaudit departments 查看已有单位。")
        try:
            run, findings = run_audit(session, as_of=day, profile_name=profile, department=department, user=user,
                                      areas=polygons, roads=network)
        except ProfileError as exc:
            raise click.UsageError(str(exc)) from exc
        session.commit()
    records = [{k: _json_value(v) for k, v in rec.items()} for rec in findings[FINDING_KEYS].to_dict("records")]
    if fmt == "json":
        text = json.dumps(records, ensure_ascii=False, indent=2)
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FINDING_KEYS, lineterminator="\n")
        writer.writeheader()
        for rec in records:
            writer.writerow({k: csv_safe(json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v)
                             for k, v in rec.items()})
        text = buf.getvalue()
    else:
        text = (f"审查批次 {run.id}：基准日 {day}，阈值方案 {profile}，设备 {run.device_count} 台\n"
                + summary_text(findings))
    if output:
        output.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"已写入 {output}（{len(records)} 条发现，审查批次 {run.id}）")
    else:
        click.echo(text)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, bool, dict, list)):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


@main.command()
@click.option("--profile", help="Show the setting values of this profile.")
@click.option("--profiles", "list_only", is_flag=True, help="List the available profiles.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules(profile: str | None, list_only: bool, fmt: str) -> None:
    """List every audit rule with its legal basis, severity, action and settings (审查规则)."""
    from ..rules.engine import describe_rules
    from ..rules.profiles import list_profiles

    if list_only:
        click.echo("\n".join(list_profiles()))
        return
    infos = describe_rules(profile or "national")
    if fmt == "json":
        click.echo(json.dumps(infos, ensure_ascii=False, indent=2, default=str))
        return
    for info in infos:
        click.echo(f"{info['code']}  {info['title_zh']} / {info['title_en']}")
        click.echo(f"    严重程度 {info['severity']}；建议 {info['action']}（{info['action_en']}）")
        click.echo(f"    依据：{info['basis']}")
        for setting in info.get("setting_values", []):
            click.echo(f"    设置 {_setting_text(setting)}")


def _setting_text(setting: dict[str, Any]) -> str:
    fields = [f"{setting.get('name')} = {setting.get('value')}"]
    if setting.get("by_type"):
        fields.append("按类型 " + "、".join(f"{t} {v}" for t, v in setting["by_type"].items()))
    if setting.get("unit"):
        fields.append(f"单位 {setting['unit']}")
    if setting.get("help"):
        fields.append(str(setting["help"]))
    if setting.get("source"):
        fields.append(f"来源：{setting['source']}")
    return "；".join(fields)


@main.command()
def demo() -> None:
    """Load the demo county and the real Chicago sample into instance/demo.sqlite3 and show what was loaded."""
    from .demo import load_demo

    load = load_demo(echo=click.echo)
    click.echo(f"\n演示数据库：{load.url}")
    click.echo(f"再次审查：CAMAUDIT_DATABASE_URL={load.url} camaudit audit {' '.join(load.audit_args)} --format json")
    click.echo(f"查看设备台账：CAMAUDIT_DATABASE_URL={load.url} camaudit devices")
    if load.logins:
        click.echo(f"网页登录（演示账号，密码均为 {load.password}）：" + "，".join(
            f"{name}（{role}{'，' + dept if dept else ''}）" for name, role, dept in load.logins))


@main.group()
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


def _add_commands() -> None:
    """Decisions, ledger, documents and spot checks live in their own module; so do plugin commands
    (e.g. `serve` from the web package, found through the camaudit.commands entry points)."""
    from .casework import decide_cmd, export_cmd, spot_check_cmd, spot_check_result_cmd

    main.add_command(export_cmd, "export")
    main.add_command(spot_check_cmd, "spot-check")
    main.add_command(spot_check_result_cmd, "spot-check-result")
    main.add_command(decide_cmd, "decide")
    for entry in importlib.metadata.entry_points(group="camaudit.commands"):
        main.add_command(entry.load(), entry.name)


_add_commands()

if __name__ == "__main__":
    main()
