"""The audit run: the registry frame and the audit context in, one findings table out (and stored per run)."""
from __future__ import annotations

import datetime as dt
from contextlib import closing, nullcontext
from typing import TYPE_CHECKING, Any, Callable, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.layerfile import describe_layer

from ..intake.columns import DATE_MAX, DATE_MIN, DEVICE_COLUMNS
from ..registry.daily import DailyRows, any_daily_rows, load_daily_rows, rows_of_devices
from .base import Rule, all_rules, get_rule
from .chunks import (CHUNK_DEVICES, TotalsByDevice, across_context, chunk_context, department_chunks,
                     rows_in_turn)
from .context import AuditContext, dates
from .parallel import ChunkWorkers, audit_workers
from .peers import service_totals
from .profiles import Profile, load_profile
from .schema import FINDING_COLUMNS, empty_findings
from .service import status_on

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ..registry.models import AuditRun

DATE_KEYS = [c.key for c in DEVICE_COLUMNS if c.kind == "date"]
FLOAT_KEYS = ["lon", "lat", "raw_lon", "raw_lat", "sign_distance_m"]
# unsupplied: the inventory columns no upload of the device had (list, or None when not recorded).
DEVICE_KEYS = ["id", "department", *[c.key for c in DEVICE_COLUMNS if c.key != "department"], "raw_lon", "raw_lat",
               "unsupplied"]


def devices_frame(data: pd.DataFrame | Iterable[dict[str, Any]]) -> gpd.GeoDataFrame:
    """The registry frame the rules expect, from records or a frame with some of the columns.

    Missing columns are added empty; dates become datetime64[ns], signage a nullable boolean, lon/lat floats,
    and the geometry is built from lon/lat (EPSG:4326; None where a coordinate is missing).
    """
    frame = pd.DataFrame(data).reset_index(drop=True) if not isinstance(data, pd.DataFrame) \
        else pd.DataFrame(data.drop(columns="geometry", errors="ignore")).reset_index(drop=True)
    for key in DEVICE_KEYS:
        if key not in frame.columns:
            frame[key] = None
    if frame["id"].isna().all():
        frame["id"] = np.arange(1, len(frame) + 1)
    for key in DATE_KEYS:
        frame[key] = dates(frame[key])
    for key in FLOAT_KEYS:
        frame[key] = pd.to_numeric(frame[key], errors="coerce").astype("float64")
    frame["speed_limit_kmh"] = pd.to_numeric(frame["speed_limit_kmh"], errors="coerce").astype("Int64")
    frame["signage"] = frame["signage"].astype("boolean")
    for key in DEVICE_KEYS:
        if key not in DATE_KEYS and key not in FLOAT_KEYS and key not in ("id", "speed_limit_kmh", "signage"):
            frame[key] = frame[key].astype(object).where(frame[key].notna(), None)
    has_xy = frame["lon"].notna() & frame["lat"].notna()
    geometry = gpd.points_from_xy(frame["lon"], frame["lat"])
    gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
    if not has_xy.all():
        gdf.loc[~has_xy, "geometry"] = None
    return gdf


def _check_devices(devices: pd.DataFrame) -> None:
    missing = [k for k in DEVICE_KEYS if k not in devices.columns]
    if missing:
        raise ValueError(f"devices frame lacks columns {missing}; build it with audit.engine.devices_frame")
    if devices["device_code"].duplicated().any():
        dupes = sorted(devices.loc[devices["device_code"].duplicated(), "device_code"].unique())[:10]
        raise ValueError(f"device codes are not unique: {dupes}")


def sort_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """The deterministic order: rule, department, device code, message (department-level findings first).

    Every column is of object dtype, with None (never NaN) where a device code or threshold is absent.
    """
    key = findings.assign(_dc=findings["device_code"].fillna(""), _dep=findings["department"].fillna(""))
    order = key.sort_values(["rule", "_dep", "_dc", "message"], kind="stable").index
    out = findings.loc[order, FINDING_COLUMNS].reset_index(drop=True).astype(object)
    return out.where(out.notna(), None)


def prepared(devices: pd.DataFrame) -> gpd.GeoDataFrame:
    """The registry frame as the rules read it (devices_frame unless it is one), checked, indexed 0 … n − 1."""
    devices = devices_frame(devices) if not isinstance(devices, gpd.GeoDataFrame) else devices
    _check_devices(devices)
    return devices.reset_index(drop=True)


def chosen_rules(rules: Iterable[str | Rule] | None) -> list[Rule]:
    return all_rules() if rules is None else [r if isinstance(r, Rule) else get_rule(r) for r in rules]


def joined_findings(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The findings of the rules, in the fixed schema and order."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_findings()
    return sort_findings(pd.concat(parts, ignore_index=True))


def run_rules(devices: pd.DataFrame, ctx: AuditContext, rules: Iterable[str | Rule] | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> pd.DataFrame:
    """Run the rules (all, or the given codes) on the registry frame; the findings in the fixed schema.

    progress(code, index, total) is called before each rule.
    """
    devices = prepared(devices)
    chosen = chosen_rules(rules)
    ctx.cache.clear()
    parts = []
    for i, rule in enumerate(chosen):
        if progress:
            progress(rule.code, i, len(chosen))
        parts.append(rule.run(devices, ctx))
    ctx.cache.clear()
    return joined_findings(parts)


def run_in_chunks(devices: pd.DataFrame, ctx: AuditContext, rows_of: Callable[[np.ndarray], DailyRows],
                  rules: Iterable[str | Rule] | None = None, chunk_devices: int = CHUNK_DEVICES,
                  progress: Callable[[str, int, int], None] | None = None, focus: Iterable[int] | None = None,
                  kept: TotalsByDevice | None = None, ahead: bool = False, workers: int = 1) -> pd.DataFrame:
    """Run the rules (all, or the given codes) as run_rules does, on chunks of whole departments (audit.rules.chunks):
    the same findings, with the daily rows of one chunk in memory at a time.

    ctx: the audit's context; its `violations` are not read (rows_of(device ids) gives a chunk's daily rows) but
    has_counts() is: a context loaded without rows says whether any were imported (counts_imported).
    progress(code, index, total) is called before each rule on each chunk.
    focus: device ids whose findings are wanted (the others' may be left out): the rules of reach "department" run
    only on the departments holding one of them (chunked apart from the others). kept: without focus, keeps the
    service totals of every device; with focus, gives those of the chunks without a focus device (their rows are
    then not read), which must be the same registry and statuses (the recheck's pass after the audit's,
    audit.casework.problems.recheck_suspended).
    ahead: the next chunk's rows are read on a second thread while the rules run (chunks.rows_in_turn; rows_of
    must be safe to call there), so two chunks' rows are in memory at a time.
    workers: where more than 1 and two chunks or more need the rules, those chunks' rules run in that many worker
    processes (audit.rules.parallel), one chunk's rows in each and the next one's here; progress is then called as
    each chunk's results come back.
    """
    if chunk_devices < 1:
        raise ValueError(f"chunk_devices must be at least 1, not {chunk_devices}")
    devices = prepared(devices)
    chosen = chosen_rules(rules)
    local = [r for r in chosen if r.reach == "department"]
    across = [r for r in chosen if r.reach != "department"]
    totals_needed = any(r.uses_service_totals for r in across)
    chunks = department_chunks(devices, chunk_devices)
    steps, step = len(chunks) * len(local) + len(across), 0
    totals: list[pd.DataFrame] = []
    wanted = None if focus is None else devices["id"].isin(list(focus)).to_numpy()
    if wanted is not None:
        # The departments holding a focus device in chunks of their own, the others only for the peer rules' totals.
        names = devices["department"].fillna("")
        holding = names.isin(set(names[wanted])).to_numpy()
        chunks = []
        for among in (holding, ~holding) if totals_needed else (holding,):
            positions = np.flatnonzero(among)
            chunks += [positions[p] for p in department_chunks(devices.iloc[positions], chunk_devices)]
        steps = sum(bool(wanted[p].any()) for p in chunks) * len(local) + len(across)
    # Each chunk: whether only its service totals are wanted (no focus device), and whether those are kept already.
    plan = []
    for positions in chunks if local or totals_needed else []:
        totals_only = wanted is not None and not wanted[positions].any()
        plan.append((positions, totals_only, totals_only and kept is not None and kept.frame is not None))
    ids = devices["id"].to_numpy()
    rows = rows_in_turn(rows_of, [ids[positions] for positions, _, known in plan if not known], ahead)
    ruled = sum(not totals_only for _, totals_only, _ in plan)
    pool = (ChunkWorkers(ctx, local, min(workers, ruled), totals_needed) if local and workers > 1 and ruled > 1
            else nullcontext())
    found: dict[int, list[pd.DataFrame]] = {}  # by chunk, so that the findings keep the chunks' order

    def take() -> None:
        nonlocal step
        at, got, chunk_totals = pool.take()
        for rule in local:
            if progress:
                progress(rule.code, step, steps)
            step += 1
        found[at] = got
        if chunk_totals is not None:
            totals.append(chunk_totals.set_axis(plan[at][0]))

    with closing(rows), pool:
        for at, (positions, totals_only, known) in enumerate(plan):
            part = devices.iloc[positions].reset_index(drop=True)
            if totals_only:
                got = kept.of(part["id"]) if known else service_totals(part, chunk_context(ctx, part, next(rows)))
                totals.append(got.set_axis(positions))
                continue
            if isinstance(pool, ChunkWorkers):
                chunk_rows = next(rows)  # read while the workers run the chunks before it
                if pool.full():
                    take()
                pool.submit(at, part, chunk_rows)
                del chunk_rows
                continue
            sub = chunk_context(ctx, part, next(rows))
            found[at] = []
            for rule in local:
                if progress:
                    progress(rule.code, step, steps)
                step += 1
                found[at].append(rule.run(part, sub))
            if totals_needed:
                totals.append(service_totals(part, sub).set_axis(positions))
            del sub  # before the next chunk's rows are handed over
        while isinstance(pool, ChunkWorkers) and pool.pending():
            take()
    parts: list[pd.DataFrame] = [frame for at in sorted(found) for frame in found[at]]
    if kept is not None and focus is None and totals_needed:
        kept.keep(devices["id"], totals)
    whole = across_context(ctx, devices, totals if totals_needed else None)
    for rule in across:
        if progress:
            progress(rule.code, step, steps)
        step += 1
        parts.append(rule.run(devices, whole))
    return joined_findings(parts)


def describe_rules(profile: Profile | str | None = None) -> list[dict[str, Any]]:
    """Every registered rule's metadata, with the values of its settings in `profile` (for `camaudit rules`)."""
    prof = load_profile(profile) if isinstance(profile, str) else profile
    out = []
    for rule in all_rules():
        info = rule.describe()
        if prof is not None:
            info["profile"] = prof.name
            info["setting_values"] = [prof.values[n].to_dict() for n in rule.settings]
        out.append(info)
    return out


class AuditDateError(ValueError):
    """An audit day outside DATE_MIN .. DATE_MAX (message in Chinese): no registry date is measured from it."""


def load_inputs(session: Session, *, as_of: dt.date, profile: Profile, department: str | None = None,
                areas: gpd.GeoDataFrame | None = None, roads: gpd.GeoDataFrame | None = None,
                daily_rows: bool = True) -> tuple[gpd.GeoDataFrame, AuditContext]:
    """The registry frame (of one department, or all) and the audit context, loaded from the database; the frame
    gives each device's status on as_of (service.status_on: the current one unless a later change is recorded).

    daily_rows False: the context without the daily counts, only whether any were imported (counts_imported), for
    the audit in chunks (audit.rules.chunks), which reads each chunk's rows. An as_of outside DATE_MIN .. DATE_MAX
    raises AuditDateError (the rules' windows around a day of the year 1 or 9999 overflow the calendar).
    """
    if not DATE_MIN <= as_of <= DATE_MAX:
        raise AuditDateError(f"审查基准日 {as_of.isoformat()} 不在 {DATE_MIN.isoformat()} 至 {DATE_MAX.isoformat()} "
                             "之间；请填写实际的审查日期。")
    from ..registry import store as registry
    from ..registry.assessments import load_assessments_frame

    devices = registry.load_devices_frame(session, department)
    # One department's statistics by code; a very large department loads all (rows of other devices are ignored),
    # which keeps the IN (...) list within the database's limit on bound parameters. The daily counts come as
    # typed columns (audit.registry.daily: about 25 bytes a row), one department's chosen by a join.
    codes = None if department is None or len(devices) > registry.CODES_IN_QUERY else devices["device_code"].tolist()
    rows = load_daily_rows(session, department) if daily_rows else DailyRows.empty()
    ctx = AuditContext(as_of=as_of, profile=profile, violations=rows,
                       verifications=registry.load_verifications_frame(session, codes),
                       status_history=registry.load_status_history(session, codes),
                       boundaries=registry.load_boundaries(session), areas=areas, roads=roads,
                       assessments=load_assessments_frame(session, codes),
                       counts_imported=None if daily_rows else any_daily_rows(session, department))
    return status_on(devices, ctx.status_history, as_of), ctx


def audit_findings(session: Session, devices: pd.DataFrame, ctx: AuditContext,
                   rules: Iterable[str | Rule] | None = None, chunk_devices: int | None = None,
                   progress: Callable[[str, int, int], None] | None = None, focus: Iterable[int] | None = None,
                   kept: TotalsByDevice | None = None, workers: int | None = None) -> pd.DataFrame:
    """The findings of the rules on the registry frame, the daily counts read from the database a chunk of whole
    departments at a time (audit.rules.chunks; chunk_devices: the chunk's size, CHUNK_DEVICES by default; focus
    and kept: see run_in_chunks; workers: the processes that run the chunks' rules, audit.rules.parallel's
    audit_workers by default)."""
    conn = session.connection()
    return run_in_chunks(devices, ctx, lambda ids: rows_of_devices(conn, ids), rules=rules,
                         chunk_devices=chunk_devices or CHUNK_DEVICES, progress=progress, focus=focus, kept=kept,
                         ahead=conn.dialect.name == "postgresql", workers=audit_workers(workers))


def run_audit(session: Session, *, as_of: dt.date, profile_name: str | Profile = "national",
              department: str | None = None, user: str = "cli", areas: gpd.GeoDataFrame | None = None,
              roads: gpd.GeoDataFrame | None = None, progress: Callable[[str, int, int], None] | None = None,
              chunk_devices: int | None = None, kept: TotalsByDevice | None = None,
              inputs: tuple[gpd.GeoDataFrame, AuditContext] | None = None,
              store_findings: bool = True, workers: int | None = None) -> tuple[AuditRun, pd.DataFrame]:
    """Load the registry from the database, run every rule, store the run and its findings (caller commits).

    areas: township polygons for PLC02; roads: a road network (geo.roads.load_roads) for PLC01 and PLC02. The
    daily counts are read a chunk of whole departments at a time (audit_findings); kept, when given, keeps every
    device's service totals (for the recheck of suspended devices); inputs: the registry frame and context
    load_inputs gave (without daily rows) for this as_of, profile, department and layers, read again otherwise;
    profile_name: a profile's name, or the profile loaded; store_findings False: the run is stored without its
    findings, which the caller inserts (audit.rules.findings.insert_findings); workers: see audit_findings.
    """
    from ..registry import store as registry
    from .findings import store_run

    profile = profile_name if isinstance(profile_name, Profile) else load_profile(profile_name)
    devices, ctx = inputs or load_inputs(session, as_of=as_of, profile=profile, department=department, areas=areas,
                                         roads=roads, daily_rows=False)
    findings = audit_findings(session, devices, ctx, chunk_devices=chunk_devices, progress=progress, kept=kept,
                              workers=workers)
    layers = {key: describe_layer(frame) for key, frame in (("areas", areas), ("roads", roads)) if frame is not None}
    run = store_run(session, findings, as_of=as_of, profile=profile, batch_ids=registry.batch_ids(session),
                    department=department, device_count=len(devices), user=user, layers=layers,
                    store_findings=store_findings)
    return run, findings


def funnel_from_registry(session: Session, *, department: str, device_type: str, as_of: dt.date,
                         profile_name: str = "national") -> dict[str, Any]:
    """The VIO01 funnel plot (audit.rules.capture.capture_funnel) of one department and device type, from the
    database: the devices of that type everywhere (peers may come from the whole audit) and their statistics."""
    from ..registry import store as registry
    from .capture import capture_funnel

    devices = registry.load_devices_frame(session)
    devices = devices[devices["device_type"] == device_type].reset_index(drop=True)
    codes = devices["device_code"].tolist()
    ctx = AuditContext(as_of=as_of, profile=load_profile(profile_name),
                       violations=load_daily_rows(session, device_ids=devices["id"].to_numpy()),
                       status_history=registry.load_status_history(session, codes))
    return capture_funnel(devices_frame(status_on(devices, ctx.status_history, as_of)), ctx, department, device_type)


__all__ = ["AuditContext", "run_rules", "run_in_chunks", "run_audit", "load_inputs", "audit_findings", "devices_frame",
           "describe_rules", "sort_findings", "funnel_from_registry"]
