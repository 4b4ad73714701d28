"""The demo: load the sample county and the real Chicago sample from data/ into a fresh demo database, audit it."""
from __future__ import annotations

import datetime as dt
import os
import shlex
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import click
import pandas as pd
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from ..intake.columns import DEVICE_COLUMNS
from ..registry.db import PROJECT_ROOT, init_db, instance_path, make_engine, private_folder, session_factory
from ..registry.models import Base, ImportBatch, User
from ..registry.store import ImportResult, import_file, load_devices_frame, set_boundary
from ..registry.users import ROLE_ZH
from .text import command_prefix, summary_text

DATA = PROJECT_ROOT / "data"
MANIFEST = DATA / "demo" / "manifest.toml"


@dataclass
class DemoLoad:
    url: str
    results: list[tuple[str, ImportResult]] = field(default_factory=list)
    rejected: list[tuple[str, ImportResult]] = field(default_factory=list)
    as_of: dt.date | None = None
    findings: pd.DataFrame | None = None  # the demo's audit (before any decision)
    final_findings: pd.DataFrame | None = None  # the last run: after the casework walk, repeated by audit_args
    casework: list[str] = field(default_factory=list)  # what the casework walk did, as printed
    plan: list[str] = field(default_factory=list)  # the plan, who filed what, who is late, as printed
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    password: str | None = None
    audit_args: list[str] = field(default_factory=list)  # `camaudit audit` options that repeat the demo's audit


def demo_database_url() -> str:
    """The configured database (CAMAUDIT_DATABASE_URL), else instance/demo.sqlite3."""
    if os.environ.get("CAMAUDIT_DATABASE_URL"):
        return os.environ["CAMAUDIT_DATABASE_URL"]
    return f"sqlite:///{private_folder(instance_path()) / 'demo.sqlite3'}"


def foreign_data(engine: Engine) -> list[str]:
    """What in the database did not come from the demo (uploads, users): resetting it would lose them."""
    if not inspect(engine).has_table("import_batch"):
        return []
    demo_users = {name for name, *_ in tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
                  .get("users", {}).get("accounts", [])}
    with session_factory(engine)() as session:
        uploads = session.scalar(select(ImportBatch.id).where(ImportBatch.user != "demo").limit(1))
        users = [n for n in session.scalars(select(User.name)) if n not in demo_users] \
            if inspect(engine).has_table("app_user") else []
    return (["上传的数据"] if uploads else []) + ([f"用户 {'、'.join(users[:5])}"] if users else [])


def reset(engine: Engine) -> None:
    init_db(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP VIEW IF EXISTS device_geom"))  # it depends on table device
    Base.metadata.drop_all(engine)
    init_db(engine)


def load_demo(url: str | None = None, echo: Callable[[str], None] = print) -> DemoLoad:
    """Reset the demo database and import every file the manifest lists; imports must have no error."""
    from geo.boundary import load_areas, load_boundary
    from geo.roads import load_roads

    from ..casework.problems import audit_and_record
    from ..registry.users import add_user
    from ..rules.profiles import profile_title

    manifest = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    url = url or demo_database_url()
    engine = make_engine(url)
    reset(engine)
    load = DemoLoad(url=url)
    with session_factory(engine)() as session:
        for item in manifest.get("boundary", []):
            geometry = load_boundary(DATA / item["file"], source_crs=item.get("source_crs"))
            for dept in item["departments"]:
                set_boundary(session, dept, geometry, source=item["file"], user="demo")
        session.commit()
        for item in manifest["import"]:
            path = DATA / item["file"]
            result = import_file(session, path, item["kind"], department=item.get("department"),
                                 default_crs=item.get("crs"), user="demo")
            if not result.report.ok:
                session.rollback()
                raise RuntimeError(f"demo file {path} does not import:\n{result.report.format_text(limit=20)}")
            session.commit()
            load.results.append((item["file"], result))
            echo(_describe(item["file"], result))
        for item in manifest.get("rejected", []):
            path = DATA / item["file"]
            result = import_file(session, path, item["kind"], department=item.get("department"), user="demo")
            session.rollback()
            load.rejected.append((item["file"], result))
            echo(f"\n示例：被拒绝的上传 {item['file']}（{item.get('note', '')}）")
            echo(result.report.format_text(limit=15))
        echo("\n" + registry_summary(session))
        if "audit" in manifest:
            settings = manifest["audit"]
            load.as_of = dt.date.fromisoformat(settings["as_of"])
            areas = load_areas(DATA / settings["areas"]) if settings.get("areas") else None
            roads = load_roads(DATA / settings["roads"]) if settings.get("roads") else None
            load.audit_args = ["--as-of", settings["as_of"], "--profile", settings["profile"]] + [
                arg for key in ("areas", "roads") if settings.get(key) for arg in (f"--{key}", f"data/{settings[key]}")]
            run, load.findings, _outcome = audit_and_record(session, as_of=load.as_of, profile_name=settings["profile"],
                                                            user="demo", areas=areas, roads=roads)
            session.commit()
            echo(f"\n审查批次 {run.id}：基准日 {load.as_of}，审查配置 {profile_title(settings['profile'])}，"
                 f"设备 {run.device_count} 台")
            echo(summary_text(load.findings))
            load.final_findings = load.findings
            if "casework" in manifest:
                load.casework, load.final_findings = _casework(session, manifest["casework"], load.as_of,
                                                               settings["profile"], areas, roads)
                echo("\n处理过程（演示）：")
                for line in load.casework:
                    echo("  " + line)
            if "assessments" in manifest:
                for line in _assessments(session, manifest["assessments"], load.as_of,
                                         manifest.get("casework", {}).get("auditor", "auditor")):
                    echo("  " + line)
        if "plan" in manifest:
            load.plan = _plan(session, manifest["plan"], dt.date.today(),
                              manifest.get("casework", {}).get("auditor", "auditor"))
            echo("\n专项监督工作方案（演示，日期按今天排列）：")
            for line in load.plan:
                echo("  " + line)
        for name, role, dept, full_name, title in manifest.get("users", {}).get("accounts", []):
            add_user(session, name, role, manifest["users"]["password"], dept or None, by="demo",
                     full_name=full_name, title=title)
            load.logins.append((name, role, dept))
            load.password = manifest["users"]["password"]
        session.commit()
    engine.dispose()
    return load


def _casework(session: Session, plan: dict, as_of: dt.date, profile: str, areas, roads  # type: ignore[no-untyped-def]
              ) -> tuple[list[str], pd.DataFrame]:
    """The casework the demo walks after its audit (manifest [casework]); returns what it printed and the
    findings of the re-audit."""
    from ..casework.decisions import suspend_recommended
    from ..casework.problems import audit_and_record, open_problems, review_problem, suspension_proposals

    lines = []
    auditor, department = plan["auditor"], plan["suspend_department"]
    proposed = suspension_proposals(session)
    by_department = Counter(p.device.department.name for p in proposed)
    lines.append(f"审查建议停用、待决定（拟停用）：{len(proposed)} 台设备（"
                 + "，".join(f"{d} {n} 台" for d, n in sorted(by_department.items())) + "）")
    decided = suspend_recommended(session, [p for p in proposed if p.device.department.name == department],
                                  reason="审查发现应立即停用的问题，依法停用（演示）", user=auditor, on=as_of)
    session.commit()
    lines.append(f"{auditor} 一并停用{department}的拟停用设备 {len(decided)} 台："
                 + "、".join(d.device.device_code for d in decided))
    result = import_file(session, DATA / plan["reupload"], "devices", department=department, user="demo")
    session.commit()
    lines.append(f"{department}重新上传原登记表：{len(result.held)} 台设备按停用决定保持停用（上传的状态未采用），"
                 "其他内容照常导入")
    pending = [p for p in open_problems(session) if p.rule == plan["dismiss_rule"] and p.verdict is None]
    if pending:
        problem = pending[0]
        review_problem(session, problem.id, confirm=False, reason=plan["dismiss_reason"], user=auditor)
        session.commit()
        lines.append(f"{auditor} 经核查排除问题 {problem.device_code} {problem.rule}：{plan['dismiss_reason']}")
    run, findings, outcome = audit_and_record(session, as_of=as_of, profile_name=profile, user="demo", areas=areas,
                                              roads=roads)
    session.commit()
    kept = sum(1 for p in open_problems(session) if p.verdict is not None and not p.stale)
    rechecked = {c for c, e in zip(findings["device_code"], findings["evidence"]) if e.get("recheck_while_suspended")}
    lines.append(f"用同样的数据再次审查（审查批次 {run.id}）：{outcome.text()}已作出的核查意见 {kept} 个保持不变；"
                 f"已停用的 {len(rechecked)} 台设备按恢复使用的条件复查。")
    return lines, findings


def _assessments(session: Session, items: list[dict], on: dt.date, auditor: str) -> list[str]:
    """The annual site review of a few devices (manifest [[assessments]]), dated on the audit's as-of date."""
    from ..casework.assessments import assess
    from ..casework.decisions import device_by_code

    lines = []
    for item in items:
        done = assess(session, device_by_code(session, item["device"]).id, outcome=item["outcome"],
                      reason=item["reason"], user=auditor, on=on)
        lines.append(f"{auditor} 年度评估 {item['device']}：{done.outcome_zh}（近一年抓拍 {done.evidence['captures']['total']} 起）")
    session.commit()
    return lines


def _plan(session: Session, spec: dict, today: dt.date, auditor: str) -> list[str]:
    """The supervision plan (manifest [plan]) with its calendar counted from today, the filings made on time, and
    the 督办函 to the late department; returns what it printed: each department's standing."""
    from ..casework.filings import by_department, file_task, plan_status
    from ..casework.plan import load_plan
    from ..exports.data import Options
    from ..exports.drafting import generate_for_filing
    from ..exports.letters import issue, request
    from ..registry.store import get_department

    def day(days: int) -> str:
        return (today + dt.timedelta(days=days)).isoformat()

    data = {k: spec[k] for k in ("title", "issuer", "doc_no", "doc_prefix")}
    data["phases"] = [{"name": p["name"], "start": day(p["start_days"]), "end": day(p["end_days"])}
                      for p in spec["phases"]]
    data["tasks"] = [{k: v for k, v in t.items() if k != "deadline_days"} | {"deadline": day(t["deadline_days"])}
                     for t in spec["tasks"]]
    plan = load_plan(session, data, user=auditor)
    tasks = list(plan.tasks)
    by_order = {n: t for n, t in enumerate(sorted(tasks, key=lambda t: t.id), start=1)}
    for filing in spec.get("filings", []):
        task = by_order[filing["task"]]
        dept = get_department(session, filing["department"])
        filed_on = task.deadline + dt.timedelta(days=filing["days"])
        name, content = generate_for_filing(session, task.deliverable, Options(department=dept.name, as_of=filed_on))
        file_task(session, task.id, dept.id, content=content, filename=name, method="generated", user="demo",
                  on=filed_on)
    session.commit()
    lines = [f"{plan.title}：{len(plan.phases)} 个阶段，{len(tasks)} 项任务（{'、'.join(t.deliverable for t in tasks)}）"]
    for standing in by_department(plan_status(session, plan, today)):
        late = "；".join(f"{s.task.deliverable}逾期 {s.days} 天未报送" for s in standing.late)
        lines.append(f"{standing.department.name}：按时报送 {standing.count('filed')} 项，未到期 "
                     f"{standing.count('due')} 项" + (f"，{late}" if late else ""))
    for letter in spec.get("letters", []):
        req = request(session, letter["kind"], department=letter["department"], on=today,
                      deadline=today + dt.timedelta(days=letter["deadline_days"]))
        document = issue(session, req, prefix=None, user=auditor)
        session.commit()
        lines.append(f"{auditor} 向{letter['department']}发出{document.title}（{document.doc_no}），"
                     f"限 {req.deadline.isoformat()} 前办结")
    return lines


def _describe(name: str, result: ImportResult) -> str:
    warnings = Counter(p.code for p in result.report.warnings)
    text = f"{name}: {result.format_text().splitlines()[-1].strip()}"
    if warnings:
        text += "\n    警告：" + "，".join(f"{code} {n} 条" for code, n in sorted(warnings.items()))
    return text


def registry_summary(session: Session) -> str:
    """Devices per department and type, the columns a department never sent (the audit cannot assess what they
    record: data to supply) and those it sent empty (the record says nothing was done: problems)."""
    frame = load_devices_frame(session)
    lines = ["设备台账："]
    headers = {c.key: c.header for c in DEVICE_COLUMNS}
    for dept, group in frame.groupby("department", sort=True):
        types = "，".join(f"{t} {n}" for t, n in group["device_type"].value_counts().sort_index().items())
        lines.append(f"  {dept}：{len(group)} 台（{types}）")
        never = [headers[k] for k in headers if group["unsupplied"].map(
            lambda cols, key=k: isinstance(cols, list) and key in cols).all()]
        empty = [headers[k] for k in headers if k in group.columns and k != "department" and headers[k] not in never
                 and group[k].isna().all()]
        if never:
            lines.append(f"    未报送的列（文件中没有，审查时报告为无法评估，列入补报资料清单）：{'、'.join(never)}")
        if empty:
            lines.append(f"    报送了但全部为空的列（视为登记表记载未办理，审查时作为问题）：{'、'.join(empty)}")
    lines.append(f"  合计 {len(frame)} 台设备")
    return "\n".join(lines)


@click.command()
@click.option("--replace", is_flag=True, help="Reset the database even if it holds data that is not the demo's.")
def demo(replace: bool) -> None:
    """Load the demo county and the real Chicago sample into the configured database (CAMAUDIT_DATABASE_URL, else
    instance/demo.sqlite3), replacing what it held, and show what was loaded."""
    url = demo_database_url()
    engine = make_engine(url)
    found = foreign_data(engine)
    engine.dispose()
    if found and not replace:
        raise click.UsageError(f"数据库 {url} 中已有不属于演示的{'和'.join(found)}；camaudit demo 会清空整个数据库。"
                               "请换一个数据库（CAMAUDIT_DATABASE_URL），或确认清空后加 --replace 重试。")
    load = load_demo(url, echo=click.echo)
    prefix = f"CAMAUDIT_DATABASE_URL={shlex.quote(load.url)} {command_prefix()}"
    click.echo(f"\n演示数据库：{load.url}")
    click.echo(f"再次审查：{prefix} audit {' '.join(load.audit_args)}")
    click.echo(f"查看设备台账：{prefix} devices --department 将乐县公安局交通管理大队")
    click.echo(f"查看一台设备的变更记录：{prefix} history JL-JJ-0001")
    if load.plan:
        click.echo(f"查看各单位的报送情况：{prefix} plan status")
    if load.logins:
        click.echo(f"网页登录（演示账号，密码均为 {load.password}）：" + "，".join(
            f"{name}（{ROLE_ZH[role]}{'，' + dept if dept else ''}）" for name, role, dept in load.logins))

COMMANDS = {"demo": demo}
