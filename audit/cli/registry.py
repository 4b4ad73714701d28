"""Registry commands: init-db, db partition, template, import, devices, departments, boundary, history."""
from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from ..intake.columns import DEVICE_COLUMNS, TABLES
from ..intake.limits import ReadLimits
from ..intake.xlsxsafe import csv_safe
from ..registry.db import database_url, init_db, make_engine
from ..registry.history import describe
from ..registry.models import ChangeLog, Department, Device
from ..registry.partition import PartitionError, partition_counts
from .common import open_session, registered_department, take_write_turn
from .text import grid, round_coordinates, table

KINDS = click.Choice(sorted(TABLES))


@click.command("init-db")
def init_db_cmd() -> None:
    """Create the database tables (建库)."""
    with open_session():
        click.echo(f"数据库已就绪：{database_url()}")


@click.group("db")
def db_group() -> None:
    """Database maintenance for the operator (数据库维护)."""


@db_group.command("partition")
def partition_cmd() -> None:
    """Partition the daily counts by month, PostgreSQL only (按月分区); run again to split out the months the
    DEFAULT partition holds. One transaction: on any error nothing changes."""
    engine = make_engine()
    try:
        init_db(engine)
        with engine.begin() as conn:
            report = partition_counts(conn)
    except PartitionError as exc:
        raise click.ClickException(str(exc)) from exc
    except DBAPIError as exc:
        raise click.ClickException(f"分区未完成，数据库已全部撤销、保持原样：{exc.orig}") from exc
    finally:
        engine.dispose()
    months = "、".join(f"{m:%Y-%m}" for m in report.months) or "无"
    if report.converted:
        click.echo(f"violation_stat 已按月分区：{report.rows} 条记录，{len(report.months)} 个月分区（{months}）"
                   "及默认分区 violation_stat_default。")
    elif report.months:
        click.echo(f"已从默认分区移出 {report.moved} 条记录，新建 {len(report.months)} 个月分区（{months}）；"
                   f"共 {report.rows} 条记录。")
    else:
        click.echo(f"violation_stat 已按月分区，默认分区中没有记录，无需处理（共 {report.rows} 条记录）。")


@click.command()
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


@click.command("import")
@click.argument("kind", type=KINDS)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--department", help="填报单位: required for devices; for violations and verifications, every row must name one of its devices.")
@click.option("--crs", "default_crs", help="Default 坐标系 for rows that leave it empty (WGS84, CGCS2000, GCJ02, BD09 …).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Save the validation report as .json or as the annotated sheet .xlsx.")
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the change log.")
@click.option("--max-mb", type=click.FloatRange(min=0, min_open=True),
              help="Largest accepted file, in MB (default: any size). Other limits: CAMAUDIT_READ_MAX_ROWS, "
                   "CAMAUDIT_READ_MAX_COLUMNS, CAMAUDIT_READ_MAX_CELLS, CAMAUDIT_READ_MAX_UNZIPPED_BYTES.")
@click.option("--partial", is_flag=True,
              help="Devices: only add or correct the devices listed; the others are untouched and not flagged missing.")
@click.option("--department-from-column", is_flag=True,
              help="Devices: a bureau-wide file; each row goes to the department named in its 所属单位 cell "
                   "(a known department).")
def import_cmd(kind: str, file: Path, department: str | None, default_crs: str | None, report_path: Path | None,
               dry_run: bool, user: str, max_mb: float | None, partial: bool, department_from_column: bool) -> None:
    """Import a department's inventory, violation counts or verification records (导入).

    The file is applied whole or not at all: any error leaves the database unchanged (exit code 2). An inventory
    is the department's full list unless --partial.
    """
    from ..intake.upload import parse_upload
    from ..registry.store import RegistryError, import_file, upload_boundary

    if (partial or department_from_column) and kind != "devices":
        raise click.UsageError("--partial 和 --department-from-column 只用于导入设备登记表（devices）。")
    with open_session() as session:
        parsed = None
        try:
            # Read and checked first; then applied holding the write lock, after any other writer (take_write_turn)
            parsed = parse_upload(file, kind, default_crs=default_crs,
                                  boundary=upload_boundary(session, kind, department), limits=cli_limits(max_mb))
            if not dry_run and parsed.has_rows and parsed.report.ok:
                take_write_turn(session)
            result = import_file(session, file, kind, department=department, user=user,
                                 default_crs=default_crs, dry_run=dry_run, parsed=parsed,
                                 partial=partial, department_from_column=department_from_column)
            if result.applied:
                session.commit()
            else:
                session.rollback()
        except RegistryError as exc:
            raise click.UsageError(str(exc)) from exc
        except (IntegrityError, OperationalError) as exc:
            # Another import registered the same devices (or department) at the same moment.
            session.rollback()
            raise click.UsageError("另一导入正在同时登记相同的设备或单位，本次未写入任何数据；请稍后重新导入。") from exc
        finally:
            if parsed is not None:
                parsed.discard()
    if result.report.problems:
        click.echo(result.report.format_text(limit=200))
    if report_path:
        _save_report(result, file, report_path)
        click.echo(f"校验报告已保存：{report_path}")
    click.echo(result.format_text())
    if not result.report.ok:
        sys.exit(2)


def cli_limits(max_mb: float | None) -> ReadLimits:
    """The reading limits of the command line: any file size unless --max-mb; the others from CAMAUDIT_READ_*."""
    raise_with = {f.name: f"设环境变量 CAMAUDIT_READ_{f.name.upper()} 调高上限" for f in ReadLimits.settings()}
    return ReadLimits.from_settings(os.environ, prefix="CAMAUDIT_READ_",
                                    max_bytes=None if max_mb is None else int(max_mb * 2**20),
                                    how_to_raise=raise_with | {"max_bytes": "用 --max-mb 调高上限（单位 MB）"})


LIST_KEYS = [c.key for c in DEVICE_COLUMNS] + ["raw_lon", "raw_lat"]
TABLE_KEYS = ["device_code", "department", "device_type", "status", "road", "lon", "lat", "crs"]


@click.command()
@click.option("--department", help="Only this department's devices.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
def devices(department: str | None, fmt: str, output: Path | None) -> None:
    """List the device registry (设备台账). JSON keys are the English column aliases; lon/lat in WGS-84, coordinates
    to 7 decimals."""
    from ..registry.store import device_records

    with open_session() as session:
        department = registered_department(session, department)
        records = [round_coordinates(r) for r in device_records(session, department)]
    if fmt == "json":
        text = json.dumps(records, ensure_ascii=False, indent=2)
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=LIST_KEYS + ["missing_since_batch_id"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: csv_safe(v) for k, v in r.items()} for r in records)
        text = buf.getvalue()
    else:
        text = table(records, TABLE_KEYS, {c.key: c.header for c in DEVICE_COLUMNS}) + f"\n共 {len(records)} 台设备"
    if output:
        output.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"已写入 {output}（{len(records)} 台设备）")
    else:
        click.echo(text)


@click.command()
def departments() -> None:
    """List departments with their device counts and boundary source."""
    with open_session() as session:
        listed = list(session.scalars(select(Department).order_by(Department.name)))
        if not listed:
            click.echo("还没有任何单位：单位随设备登记表导入（camaudit import devices 文件 --department 单位名称）。")
        for dept in listed:
            count = session.query(Device).filter(Device.department_id == dept.id).count()
            boundary = dept.boundary_source or "未加载辖区边界"
            click.echo(f"{dept.name}\t{count} 台\t{boundary}")


@click.command()
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


@click.command()
@click.argument("device_code")
def history(device_code: str) -> None:
    """Show the change log of one device (变更记录)."""
    with open_session() as session:
        entries = session.scalars(select(ChangeLog).where(ChangeLog.device_code == device_code)
                                  .order_by(ChangeLog.id)).all()
    if not entries:
        raise click.UsageError(f"没有设备“{device_code}”的变更记录。")
    for change in (describe(e) for e in entries):
        batch = f"批次{change.batch_id}" if change.batch_id else "-"
        click.echo(f"{change.at:%Y-%m-%d %H:%M:%S}  {batch}  {change.user}  {change.operation}")
        for line in grid([[f.label, f.before or "（空）", "→", f.after or "（空）"] if f.edit
                          else [f.label, f.after] for f in change.fields], indent="    "):
            click.echo(line)


COMMANDS = {"init-db": init_db_cmd, "db": db_group, "template": template, "import": import_cmd, "devices": devices,
            "departments": departments, "boundary": boundary, "history": history}
