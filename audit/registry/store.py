"""The device registry: apply a validated upload whole or not at all, keep the history, load frames for the audit."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import shape
from sqlalchemy import Float, String, Text, cast, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..intake.columns import DEVICE_COLUMNS
from ..intake.limits import ReadLimits
from ..intake.report import ValidationReport
from ..intake.upload import ParsedUpload, parse_upload
from .bulk import Loader, bulk_pragmas, loader_for
from .history import field_label
from .inventory import InventoryImport
from .lookup import DeviceLookup, KnownDevices, case_variant
from .models import ChangeLog, Decision, Department, Device, ImportBatch, VerificationRecord, ViolationStat
from .names import clean_name, department_key
from .removal import settle_removed
from .verifications import VerificationsImport
from .violations import ViolationsImport

# Device attributes an inventory row sets (department is the upload's, not a column value).
DEVICE_FIELDS = [c.key for c in DEVICE_COLUMNS if c.key != "department"] + ["raw_lon", "raw_lat"]
DATE_FIELDS = [c.key for c in DEVICE_COLUMNS if c.kind == "date"]
# Inventory columns a file may leave out; the rules cannot assess what an absent column records.
OPTIONAL_COLUMNS = [c.key for c in DEVICE_COLUMNS if not c.required and c.key not in ("department", "crs")]
MODES = {"full": "完整台账", "partial": "补充或更正部分设备"}


@dataclass
class ImportResult:
    report: ValidationReport
    kind: str
    dry_run: bool = False
    batch_id: int | None = None
    new: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    mode: str = "full"  # devices: full inventory (absent devices flagged 待核实) or partial
    held: list[str] = field(default_factory=list)  # devices whose status a standing decision kept
    # the latest earlier batch of the same kind (and department) whose file had the same bytes: id, day uploaded
    same_as: tuple[int, str] | None = None

    @property
    def applied(self) -> bool:
        return self.report.ok and not self.dry_run

    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "dry_run": self.dry_run, "batch_id": self.batch_id}
        if self.kind == "devices":
            data |= {"mode": self.mode, "new": self.new, "changed": self.changed, "unchanged": self.unchanged,
                     "missing": self.missing, "held": self.held}
        data |= {"counts": self.counts}
        if self.same_as:
            data["same_as"] = {"batch_id": self.same_as[0], "day": self.same_as[1], "unchanged": self.changes_nothing}
        return data

    @property
    def changes_nothing(self) -> bool:
        """No device new or changed (devices: those absent from the file are listed apart), no record new or
        changed (counts, verifications)."""
        if self.kind == "devices":
            return not (self.new or self.changed)
        return not (self.counts.get("新增记录") or self.counts.get("更新记录"))

    def format_text(self) -> str:
        if not self.report.ok:
            return "未导入：文件有错误，数据库未作任何改动。"
        head = "试导入（--dry-run）：未写入数据库。" if self.dry_run else f"已导入，批次号 {self.batch_id}。"
        lines = [head]
        if self.same_as:
            lines.append(f"  与第 {self.same_as[0]} 批（{self.same_as[1]} 导入）的文件完全相同"
                         + (f"，{SAME_UNCHANGED[self.kind == 'devices']}。" if self.changes_nothing else "。"))
        if self.kind == "devices":
            lines.append(f"  导入方式：{MODES[self.mode]}" + ("（文件中没有的设备不作改动，也不标记待核实）。"
                                                          if self.mode == "partial" else "。"))
            absent = (f"本次文件中缺少 {len(self.missing)} 台（未删除，已标记待核实）。" if self.mode == "full" else "")
            lines.append(f"  新增 {len(self.new)} 台，变更 {len(self.changed)} 台，未变 {len(self.unchanged)} 台"
                         + (f"，{absent}" if absent else "。"))
            if self.held:
                lines.append(f"    按审查机关的决定保持原状态：{'、'.join(self.held)}")
            for code, fields in list(self.changed.items())[:20]:
                lines.append(f"    变更 {code}：{'、'.join(field_label('device', f) for f in fields)}")
            if self.missing:
                lines.append(f"    缺少：{'、'.join(self.missing[:50])}" + (" ……" if len(self.missing) > 50 else ""))
        else:
            lines.append("  " + "，".join(f"{k} {v}" for k, v in self.counts.items()))
        return "\n".join(lines)


# What an upload of the same file as an earlier batch changed, when nothing: (counts, devices)
SAME_UNCHANGED = ("本次未改变任何数据", "没有新增或变更的设备")


class RegistryError(ValueError):
    """A request the registry refuses (with a message for the user)."""


def get_department(session: Session, name: str, create: bool = False) -> Department | None:
    """The department of that name however it is typed (full-width, extra spaces: audit.registry.names);
    created under the clean name when asked to."""
    key = department_key(name)
    if not key:
        return None
    dept = session.scalar(select(Department).where((Department.key == key) | (Department.name == name.strip())))
    if dept is None and create:
        dept = Department(name=clean_name(name), key=key)
        session.add(dept)
        session.flush()
    return dept


def department_names(session: Session) -> list[str]:
    return list(session.scalars(select(Department.name).order_by(Department.name)))


def set_boundary(session: Session, name: str, geometry: Any, source: str, user: str = "cli") -> Department:
    """Load a department's jurisdiction boundary (shapely geometry in WGS-84)."""
    dept = get_department(session, name, create=True)
    assert dept is not None
    before = dept.boundary_source
    dept.boundary = json.loads(gpd.GeoSeries([geometry]).to_json())["features"][0]["geometry"]
    dept.boundary_source = source
    session.add(ChangeLog(user=user, entity="department", entity_id=dept.id, action="boundary",
                          field="boundary", before=before, after=source))
    return dept


def department_boundary(dept: Department | None) -> Any:
    return shape(dept.boundary) if dept is not None and dept.boundary else None


def upload_boundary(session: Session, kind: str, department: str | None) -> Any:
    """The jurisdiction boundary the rows of an upload are checked against (a devices upload's department's)."""
    if kind != "devices" or not (department or "").strip():
        return None
    return department_boundary(get_department(session, department or ""))


def _check_length(value: str, column: Any, what: str) -> None:
    limit = column.type.length
    if limit is not None and len(value) > limit:
        raise RegistryError(f"{what}“{value[:40]}…”有 {len(value)} 个字符，超过上限 {limit} 个；请核对后重试。")


def _plain(value: Any) -> Any:
    """A frame cell as a plain Python value for the database (NaN/NaT/NA → None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _fmt(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(session: Session, path: str | Path, kind: str, *, department: str | None = None,
                user: str = "cli", default_crs: str | None = None, dry_run: bool = False,
                limits: ReadLimits | None = None, parsed: ParsedUpload | None = None, partial: bool = False,
                department_from_column: bool = False, bulk: str | None = None) -> ImportResult:
    """Validate an upload and, when it has no error, apply it in the session's transaction.

    The caller commits on success; on any error nothing is added to the session. A dry run validates and
    computes the same result, then rolls back. `department` is the filing department: required for devices
    (unless department_from_column); for violations and verifications, when given, every row must name one of its
    devices. Devices: the whole inventory of the department by default (devices it does not list are flagged
    待核实), or with partial=True only the listed devices (the others untouched). A 所属单位 cell naming another
    department is an error, unless department_from_column, where each row goes to the (known) department it
    names. A device under a standing suspension or removal keeps its status whatever the file says. `parsed` is
    the file already read and validated (parse_upload with `upload_boundary`), e.g. by a worker process; its
    caller discards it. Rows are written by the database's bulk path (audit.registry.bulk: COPY on PostgreSQL,
    executemany elsewhere; `bulk` names one), a chunk at a time for a file validated by chunks.
    """
    path = Path(path)
    if kind not in ("devices", "violations", "verifications"):
        raise RegistryError(f"未知的导入类型“{kind}”，应为 devices、violations 或 verifications。")
    dept: Department | None = None
    department = (department or "").strip() or None
    _check_length(user, ImportBatch.__table__.c.user, "用户名")
    if department:
        _check_length(department, Department.__table__.c.name, "单位名称")
    if kind == "devices":
        if not department and not department_from_column:
            raise RegistryError("导入设备登记表须指明填报单位。")
        dept = get_department(session, department) if department else None
    elif department:
        dept = get_department(session, department)
        if dept is None:
            raise RegistryError(f"没有名为“{department}”的单位；请先导入该单位的设备登记表，或核对单位名称。")
    own = parsed is None
    if parsed is None:
        parsed = parse_upload(path, kind, default_crs=default_crs, boundary=department_boundary(dept), limits=limits)
    try:
        return _import(session, path, kind, parsed, dept, department, user, dry_run, partial, department_from_column,
                       bulk)
    finally:
        if own:
            parsed.discard()


def _import(session: Session, path: Path, kind: str, parsed: ParsedUpload, dept: Department | None,
            department: str | None, user: str, dry_run: bool, partial: bool, from_column: bool,
            bulk: str | None) -> ImportResult:
    report = parsed.report
    result = ImportResult(report=report, kind=kind, dry_run=dry_run, mode="partial" if partial else "full")
    if not parsed.has_rows:
        return result
    # Rows with errors are checked against the registry too, so that one report lists every fix; nothing is applied.
    code_header = parsed.columns.get("device_code", "设备编号")
    if dept is not None and department and department != dept.name:
        report.warning("DEPARTMENT_NAME_VARIANT", f"填报单位“{department}”按已登记的“{dept.name}”处理"
                                                  "（全角字符、空格不同视为同一单位）。")
    elif dept is None and department and clean_name(department) != department:
        report.warning("DEPARTMENT_NAME_VARIANT", f"填报单位“{department}”按“{clean_name(department)}”登记"
                                                  "（全角字符转为半角，多余的空格已去除）；以后导入请使用这一名称。")
    savepoint = session.begin_nested()
    try:
        with bulk_pragmas(session):
            loader = loader_for(session, bulk)
            lookup = DeviceLookup(loader)
            # rows whose code cell already has an error: not looked up again
            faulty = frozenset(p.row for p in report.errors if p.column == code_header and p.row is not None)
            if kind == "devices":
                target = dept.name if dept is not None else clean_name(department)
                owners = _check_inventory(session, parsed, lookup, target, from_column, code_header, faulty)
                if report.ok:
                    batch = _apply_devices(session, loader, parsed, owners, path, user, result)
            else:
                checks = KnownDevices(lookup, dept.name if dept else None, code_header, faulty)
                if not report.ok:
                    for frame in parsed.frames():
                        checks.check(frame)
                    checks.report(report)
                elif kind == "violations":
                    staged = ViolationsImport(loader, checks)
                    for frame in parsed.frames():
                        staged.add(frame)
                    checks.report(report)
                    if report.ok:
                        batch = _new_batch(session, kind, path, user, staged.rows)
                        result.counts = staged.apply(batch.id, user)
                else:
                    rows = sum(len(checks.check(frame)) for frame in parsed.frames())
                    checks.report(report)
                    if report.ok:
                        batch = _new_batch(session, kind, path, user, rows)
                        verifications = VerificationsImport(loader, batch.id, user)
                        for frame in parsed.frames():
                            verifications.add(frame, checks.check(frame))
                        result.counts = verifications.counts
        if not report.ok:
            savepoint.rollback()
            return result
        result.same_as = _same_file(session, batch)
        batch.warnings = [w.to_dict() for w in report.warnings]
        batch.summary = result.summary() | {"batch_id": batch.id,
                                            "columns": sorted(k for k in parsed.columns if k in parsed.row_columns)}
        result.batch_id = batch.id
        session.flush()
    except SQLAlchemyError as exc:
        # What validation did not foresee (a value the database refuses, a lost connection) is reported, not raised.
        savepoint.rollback()
        result.batch_id = None
        cause = getattr(exc, "orig", None) or exc
        detail = (str(cause).strip().splitlines() or [""])[0][:300]
        # PostgreSQL names the row it refused ("Failing row contains (...)"): the device code is in it.
        row = getattr(getattr(cause, "diag", None), "message_detail", None)
        if row:
            detail += f"；{row[:300]}"
        report.error("DATABASE_ERROR", f"写入数据库时出错，本文件未导入，数据库未作任何改动（{type(cause).__name__}："
                                       f"{detail}）。请检查文件中的数据后重试；如反复出现，请联系管理员。")
        return result
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
        result.batch_id = None
    else:
        savepoint.commit()
    # The rows were written past the ORM: objects the session holds are read again on their next use.
    session.expire_all()
    return result


def _new_batch(session: Session, kind: str, path: Path, user: str, rows: int,
               department_id: int | None = None) -> ImportBatch:
    batch = ImportBatch(kind=kind, filename=path.name, sha256=_sha256(path), user=user, row_count=rows, warnings=[],
                        department_id=department_id)
    session.add(batch)
    session.flush()
    return batch


def _same_file(session: Session, batch: ImportBatch) -> tuple[int, str] | None:
    """The latest earlier batch of the same kind and department whose file had the same bytes (sha256)."""
    department = (ImportBatch.department_id.is_(None) if batch.department_id is None
                  else ImportBatch.department_id == batch.department_id)
    row = session.execute(select(ImportBatch.id, ImportBatch.created_at)
                          .where(ImportBatch.kind == batch.kind, ImportBatch.sha256 == batch.sha256,
                                 ImportBatch.id < batch.id, department)
                          .order_by(ImportBatch.id.desc()).limit(1)).first()
    return None if row is None else (row.id, row.created_at.date().isoformat())


def _check_inventory(session: Session, parsed: ParsedUpload, lookup: DeviceLookup, target: str | None,
                     from_column: bool, header: str, faulty: frozenset[int]) -> list[pd.Series]:
    """Each chunk's rows' departments (_row_departments); then, for every row that has one, no device code
    registered to another department (CODE_OTHER_DEPARTMENT); and no new code that differs from a registered one
    only by letter case (CODE_CASE_VARIANT: it would register a second device, free of the first's decisions).
    Rows in `faulty` (their code cell has an error) are not checked for a variant."""
    report = parsed.report
    owners = [_row_departments(session, frame, parsed.columns, target, from_column, report)
              for frame in parsed.frames()]
    new: list[tuple[int, str]] = []
    for frame, names in zip(parsed.frames(), owners):
        _, registered = lookup.find(frame["device_code"])
        for code, row, owner, department in zip(frame["device_code"].tolist(), frame["row"].tolist(),
                                                registered.tolist(), names.tolist()):
            if owner is None:
                if isinstance(code, str) and row not in faulty:
                    new.append((row, code))
            elif department is not None and department_key(owner) != department_key(department):
                report.error("CODE_OTHER_DEPARTMENT",
                             f"设备编号已登记在“{owner}”名下，不能由“{department}”导入；请核对编号，或由原单位办理移交。",
                             row=row, column=header, value=code)
    variants = lookup.spellings(code for _, code in new)
    for row, code in new:
        if code in variants:
            report.error("CODE_CASE_VARIANT", case_variant(variants[code]), row=row, column=header, value=code)
    return owners


def _apply_devices(session: Session, loader: Loader, parsed: ParsedUpload, owners: list[pd.Series], path: Path,
                   user: str, result: ImportResult) -> ImportBatch:
    columns = parsed.row_columns
    present = [f for f in DEVICE_FIELDS if f in columns]
    absent = sorted(k for k in OPTIONAL_COLUMNS if k not in columns)
    names = sorted({n for part in owners for n in part.unique().tolist()})
    departments = {n: get_department(session, n, create=True) for n in names}
    only = departments[names[0]].id if len(names) == 1 else None
    batch = _new_batch(session, "devices", path, user, sum(len(part) for part in owners), department_id=only)
    inventory = InventoryImport(loader, batch.id, user, present, absent, result.mode == "partial", result.report,
                                parsed.columns.get("status", "状态"))
    ids = {n: d.id for n, d in departments.items()}
    for frame, part in zip(parsed.frames(), owners):
        names = part.to_numpy(dtype=object)
        inventory.add(frame, names, np.array([ids[n] for n in names.tolist()], dtype=np.int64), session)
    done = inventory.finish()
    closed = settle_removed(session, inventory.removed, user=user, on=inventory.at.date(),
                            basis=f"设备登记表导入（第 {batch.id} 批）登记为拆除")
    for code, item_id in closed:
        result.report.warning("REMOVED_ITEM_CLOSED", f"设备 {code} 登记为拆除，其未销号的整改台账第 {item_id} 项随之销号"
                                                     "（设备已拆除，未经整改核查）。")
    result.new, result.changed, result.unchanged = done.new, done.changed, done.unchanged
    result.missing, result.held = done.missing, done.held
    result.counts = {"新增": len(result.new), "变更": len(result.changed), "未变": len(result.unchanged),
                     "缺少": len(result.missing)}
    return batch


def _row_departments(session: Session, frame: pd.DataFrame, columns: dict[str, str], target: str | None,
                     from_column: bool, report: ValidationReport) -> pd.Series:
    """Each row's department name: the filing department, checked against the row's 所属单位 cell; or, from the
    column, a known department (cells left empty take the filing department)."""
    header = columns.get("department", "所属单位")
    cells = frame["department"] if "department" in frame.columns else pd.Series(None, index=frame.index, dtype=object)
    codes, values = pd.factorize(cells.to_numpy(dtype=object), use_na_sentinel=True)  # each distinct cell once
    values = [v.strip() if isinstance(v, str) else "" for v in values]
    rows = frame["row"].to_numpy()
    if not from_column:
        key = department_key(target)
        other = np.array([bool(v) and department_key(v) != key for v in values] + [False], dtype=bool)
        for index in np.flatnonzero(other[codes]).tolist():
            value = cells.iat[index]
            report.error("DEPARTMENT_MISMATCH",
                         f"所属单位“{value}”与填报单位“{target}”不一致：一个单位的登记表只能登记本单位的设备；"
                         "请改正所属单位，或由该单位导入自己的设备。汇总多个单位的登记表请选择“按所属单位导入”。",
                         row=int(rows[index]), column=header, value=value)
        return pd.Series(target, index=frame.index, dtype=object)
    known = {department_key(d): d for d in department_names(session)}
    empty = target if target else None
    matched = np.array([known.get(department_key(v)) if v else empty for v in values] + [empty], dtype=object)
    names = matched[codes]
    texts = [*values, ""]
    for index in np.flatnonzero(pd.isna(names)).tolist():
        text = texts[codes[index]]
        listed = "、".join(sorted(known.values())) or "（尚无）"
        report.error("DEPARTMENT_UNKNOWN" if text else "REQUIRED_EMPTY",
                     (f"所属单位“{text}”不是已登记的单位（已登记：{listed}）；请核对单位名称，新单位须先单独导入其设备登记表。"
                      if text else "按所属单位导入时，“所属单位”不能为空；请填写设备的使用单位。"),
                     row=int(rows[index]), column=header, value=text or None)
    return pd.Series(names, index=frame.index, dtype=object)


# ---- reading the registry -------------------------------------------------------------------------------

def device_count(session: Session, department: str | None = None) -> int:
    """The devices of the registry (of one department): the rows load_devices_frame gives."""
    query = select(func.count(Device.id))
    if department:
        query = query.join(Department).where(Department.name == department)
    return int(session.scalar(query) or 0)


def load_devices_frame(session: Session, department: str | None = None) -> gpd.GeoDataFrame:
    """One row per device: id, department name, every device key; dates as datetime64; geometry in EPSG:4326."""
    # unsupplied as its JSON text, each distinct text decoded once (each row still its own list)
    cols = [Device.id, Department.name.label("department"), *[getattr(Device, k) for k in DEVICE_FIELDS],
            Device.missing_since_batch_id, cast(Device.unsupplied, Text)]
    query = select(*cols).join(Department).order_by(Device.device_code)
    if department:
        query = query.where(Department.name == department)
    rows = session.execute(query).all()
    decoded = {t: json.loads(t) for t in {r[-1] for r in rows} if t is not None}
    rows = [(*r[:-1], None if r[-1] is None else _copied(decoded[r[-1]])) for r in rows]
    frame = pd.DataFrame(rows, columns=["id", "department", *DEVICE_FIELDS, "missing_since_batch_id", "unsupplied"])
    for key in DATE_FIELDS + ["verified_on"]:
        frame[key] = pd.to_datetime(frame[key])
    frame["signage"] = frame["signage"].astype("boolean")
    for key in ("lon", "lat", "raw_lon", "raw_lat", "sign_distance_m"):
        frame[key] = pd.to_numeric(frame[key]).astype("float64")
    frame["speed_limit_kmh"] = pd.to_numeric(frame["speed_limit_kmh"]).astype("Int64")
    geometry = gpd.points_from_xy(frame["lon"], frame["lat"])
    gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
    gdf.loc[frame["lon"].isna() | frame["lat"].isna(), "geometry"] = None
    return gdf


def _copied(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


CODES_IN_QUERY = 20_000  # device codes a loader puts in one IN (...) list; beyond, it reads all and filters


def _code_filter(query: Any, device_codes: Iterable[str] | None) -> Any:
    return query if device_codes is None else query.where(Device.device_code.in_(list(device_codes)))


def load_violations_frame(session: Session, device_codes: Iterable[str] | None = None) -> pd.DataFrame:
    # Read through the driver's cursor, dates as ISO text and fines as floats: SQLAlchemy's per-row result
    # processing would dominate a ten-million-row load.
    query = _code_filter(select(Device.device_code, ViolationStat.period,
                                cast(ViolationStat.period_start, String), ViolationStat.count,
                                cast(ViolationStat.fine_yuan, Float)).join(Device, Device.id == ViolationStat.device_id),
                        device_codes)
    conn = session.connection()
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    frame = pd.DataFrame.from_records(rows, columns=["device_code", "period", "period_start", "count", "fine_yuan"])
    frame["period_start"] = pd.to_datetime(frame["period_start"], format="ISO8601").astype("datetime64[ns]")
    frame["count"] = frame["count"].astype("int64")
    frame["fine_yuan"] = pd.to_numeric(frame["fine_yuan"], errors="coerce").astype("float64")
    return frame


def load_verifications_frame(session: Session, device_codes: Iterable[str] | None = None) -> pd.DataFrame:
    query = _code_filter(select(Device.device_code, VerificationRecord.verified_on, VerificationRecord.valid_until,
                                VerificationRecord.result, VerificationRecord.certificate_no).join(Device),
                         device_codes)
    frame = pd.DataFrame(session.execute(query).all(),
                         columns=["device_code", "verified_on", "valid_until", "result", "certificate_no"])
    for key in ("verified_on", "valid_until"):
        frame[key] = pd.to_datetime(frame[key])
    return frame


# The status a decision gives a device (audit.casework.decisions): 停用, 拆除, and back to 在用.
DECISION_STATUS = {"suspend": "停用", "remove": "拆除", "restore": "在用"}


def load_status_history(session: Session, device_codes: Iterable[str] | None = None) -> pd.DataFrame:
    """The dated status changes of the devices: device_code, since (the day the status took effect), status,
    source (变更记录 | 处理决定 | 登记).

    From the change log of inventory uploads (a status changed by an upload, on the day of that upload: the
    department may have stopped the device earlier) and from the decisions that set a status (停用, 拆除,
    恢复使用), on their decision date. The status a device was first registered with has no date of effect: a
    device whose status changed since carries it in a row of source 登记 with no date (the status its first
    recorded change replaced), so that an audit of an earlier day can tell the status it had then.

    More than CODES_IN_QUERY codes are read as all and filtered after the read: an IN (...) list stays within the
    database's limit on bound parameters.
    """
    wanted = None if device_codes is None else list(device_codes)
    listed = wanted if wanted is not None and len(wanted) <= CODES_IN_QUERY else None
    status_change = (ChangeLog.entity == "device", ChangeLog.field == "status")
    logged = select(ChangeLog.device_code, ChangeLog.at, ChangeLog.after).where(
        *status_change, ChangeLog.action == "update").order_by(ChangeLog.id)
    first = select(func.min(ChangeLog.id)).where(
        *status_change, ChangeLog.action.in_(["update", *DECISION_STATUS])).group_by(ChangeLog.device_code)
    registered = select(ChangeLog.device_code, ChangeLog.before).where(ChangeLog.id.in_(first.scalar_subquery()))
    if listed is not None:
        logged = logged.where(ChangeLog.device_code.in_(listed))
        registered = registered.where(ChangeLog.device_code.in_(listed))
    rows = [(code, at.date(), status, "变更记录") for code, at, status in session.execute(logged)]
    decided = _code_filter(select(Device.device_code, Decision.decided_on, Decision.kind).join(Device)
                           .where(Decision.kind.in_(list(DECISION_STATUS))).order_by(Decision.id), listed)
    rows += [(code, on, DECISION_STATUS[kind], "处理决定") for code, on, kind in session.execute(decided)]
    rows += [(code, None, status, "登记") for code, status in session.execute(registered)]
    frame = pd.DataFrame(rows, columns=["device_code", "since", "status", "source"])
    if wanted is not None and listed is None:
        frame = frame[frame["device_code"].isin(wanted)]
    frame["since"] = pd.to_datetime(frame["since"])
    return frame.sort_values(["device_code", "since"], kind="stable").reset_index(drop=True)


def load_reported_days(session: Session, department_id: int) -> list[dt.date]:
    """The days on which a department reported daily violation rows for any of its devices."""
    query = select(ViolationStat.period_start).join(Device, Device.id == ViolationStat.device_id).where(
        Device.department_id == department_id, ViolationStat.period == "day").distinct()
    return sorted(session.scalars(query))


def load_boundaries(session: Session) -> dict[str, Any]:
    return {d.name: shape(d.boundary) for d in session.scalars(select(Department)) if d.boundary}


def batch_ids(session: Session) -> list[int]:
    return list(session.scalars(select(ImportBatch.id).order_by(ImportBatch.id)))


def device_records(session: Session, department: str | None = None) -> list[dict[str, Any]]:
    """The registry as plain records keyed by the English aliases (the `camaudit devices` JSON)."""
    frame = load_devices_frame(session, department)
    keys = [c.key for c in DEVICE_COLUMNS] + ["raw_lon", "raw_lat", "missing_since_batch_id"]
    records = []
    for rec in frame[keys].to_dict("records"):
        records.append({k: _fmt(v) if isinstance(v, dt.date) else v
                        for k, v in ((k, _plain(v)) for k, v in rec.items())})
    return records


__all__ = ["ImportResult", "RegistryError", "import_file", "load_devices_frame", "load_violations_frame",
           "load_verifications_frame", "load_status_history", "load_reported_days", "load_boundaries", "batch_ids",
           "device_records", "set_boundary", "get_department", "upload_boundary"]
