"""Audit commands: audit (run every rule and store the run) and rules (what each rule checks)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click

from ..intake.xlsxsafe import csv_safe
from .common import COUNT, json_value, open_session, parse_date, take_write_turn
from .text import grid, summary_text

FINDING_KEYS = ["rule", "device_code", "department", "severity", "action", "message", "evidence", "basis",
                "profile", "threshold", "title_zh", "title_en"]


@click.command("audit")
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
@click.option("--chunk-devices", type=COUNT,
              help="Devices whose daily counts are in memory at once (whole departments; default 10000).")
@click.option("--workers", type=COUNT,
              help="Processes that run the rules on those chunks at once (default: CAMAUDIT_AUDIT_WORKERS, else 2 "
                   "on a machine of two cores or more; 1: none besides this one).")
def audit_cmd(as_of: str | None, profile: str, department: str | None, areas: Path | None, areas_crs: str | None,
              roads: Path | None, roads_crs: str | None, fmt: str, output: Path | None, user: str,
              chunk_devices: int | None, workers: int | None) -> None:
    """Run every rule on the registry and store the findings as an audit run (审查)."""
    from geo.boundary import load_areas
    from geo.roads import load_roads

    from ..casework.problems import audit_and_record
    from ..registry.store import get_department
    from ..rules.engine import AuditDateError
    from ..rules.parallel import AuditWorkerError, audit_workers
    from ..rules.profiles import ProfileError, profile_title

    day = parse_date(as_of)
    try:
        workers = audit_workers(workers)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    for crs, layer, flag in ((areas_crs, areas, "--areas"), (roads_crs, roads, "--roads")):
        if crs and not layer:
            raise click.UsageError(f"{flag}-crs 需与 {flag} 一起使用。")
    try:
        polygons = load_areas(areas, source_crs=areas_crs) if areas else None
        network = load_roads(roads, source_crs=roads_crs) if roads else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    with open_session() as session:
        if department:
            dept = get_department(session, department)
            if dept is None:
                raise click.UsageError(f"没有名为“{department}”的单位；用 camaudit departments 查看已有单位。")
            department = dept.name
        take_write_turn(session)
        try:
            run, findings, outcome = audit_and_record(session, as_of=day, profile_name=profile, department=department,
                                                      user=user, areas=polygons, roads=network,
                                                      chunk_devices=chunk_devices, workers=workers)
        except (ProfileError, AuditDateError) as exc:
            raise click.UsageError(str(exc)) from exc
        except AuditWorkerError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
    records = [{k: json_value(v) for k, v in rec.items()} for rec in findings[FINDING_KEYS].to_dict("records")]
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
        text = (f"审查批次 {run.id}：基准日 {day}，审查配置 {profile_title(profile)}，设备 {run.device_count} 台\n"
                + summary_text(findings) + "\n" + outcome.text())
    if output:
        output.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
        click.echo(f"已写入 {output}（{len(records)} 条发现，审查批次 {run.id}）")
    else:
        click.echo(text)


@click.command()
@click.option("--profile", help="Show the setting values of this profile.")
@click.option("--profiles", "list_only", is_flag=True, help="List the available profiles.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules(profile: str | None, list_only: bool, fmt: str) -> None:
    """List every audit rule with its legal basis, severity, action and settings (审查规则)."""
    from ..rules.engine import describe_rules
    from ..rules.profiles import list_profiles, profile_title

    if list_only:
        click.echo("\n".join(grid([[name, profile_title(name)] for name in list_profiles()])))
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


COMMANDS = {"audit": audit_cmd, "rules": rules}
