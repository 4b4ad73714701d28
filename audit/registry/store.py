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
from sqlalchemy import Float, String, cast, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..intake.columns import DEVICE_COLUMNS
from ..intake.limits import ReadLimits
from ..intake.report import ValidationReport
from ..intake.upload import ParsedUpload, parse_upload
from .history import field_label
from .models import (DECISION_ZH, ChangeLog, Decision, Department, Device, ImportBatch, VerificationRecord,
                     ViolationStat, utcnow)
from .names import clean_name, department_key

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

    @property
    def applied(self) -> bool:
        return self.report.ok and not self.dry_run

    def summary(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "dry_run": self.dry_run, "batch_id": self.batch_id}
        if self.kind == "devices":
            data |= {"mode": self.mode, "new": self.new, "changed": self.changed, "unchanged": self.unchanged,
                     "missing": self.missing, "held": self.held}
        data |= {"counts": self.counts}
        return data

    def format_text(self) -> str:
        if not self.report.ok:
            return "未导入：文件有错误，数据库未作任何改动。"
        head = "试导入（--dry-run）：未写入数据库。" if self.dry_run else f"已导入，批次号 {self.batch_id}。"
        lines = [head]
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


def _money(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else f"{float(value):.2f}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and b is not None:
        return math.isclose(a, float(b), rel_tol=0, abs_tol=1e-9)
    return a == b


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(session: Session, path: str | Path, kind: str, *, department: str | None = None,
                user: str = "cli", default_crs: str | None = None, dry_run: bool = False,
                limits: ReadLimits | None = None, parsed: ParsedUpload | None = None, partial: bool = False,
                department_from_column: bool = False) -> ImportResult:
    """Validate an upload and, when it has no error, apply it in the session's transaction.

    The caller commits on success; on any error nothing is added to the session. A dry run validates and
    computes the same result, then rolls back. `department` is the filing department: required for devices
    (unless department_from_column); for violations and verifications, when given, every row must name one of its
    devices. Devices: the whole inventory of the department by default (devices it does not list are flagged
    待核实), or with partial=True only the listed devices (the others untouched). A 所属单位 cell naming another
    department is an error, unless department_from_column, where each row goes to the (known) department it
    names. A device under a standing suspension or removal keeps its status whatever the file says. `parsed` is
    the file already read and validated (parse_upload with `upload_boundary`), e.g. by a worker process.
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
    if parsed is None:
        parsed = parse_upload(path, kind, default_crs=default_crs, boundary=department_boundary(dept), limits=limits)
    result = ImportResult(report=parsed.report, kind=kind, dry_run=dry_run,
                          mode="partial" if partial else "full")
    frame = parsed.frame
    if frame is None or not parsed.report.ok:
        return result
    code_header = parsed.columns.get("device_code", "设备编号")
    if dept is not None and department and department != dept.name:
        parsed.report.warning("DEPARTMENT_NAME_VARIANT", f"填报单位“{department}”按已登记的“{dept.name}”处理"
                                                         "（全角字符、空格不同视为同一单位）。")
    if kind == "devices":
        target = dept.name if dept is not None else clean_name(department)
        owners = _row_departments(session, frame, parsed.columns, target, department_from_column, parsed.report)
        if parsed.report.ok:
            _check_device_owner(session, frame, owners, code_header, parsed.report)
    else:
        _check_known_devices(session, frame, code_header, parsed.report, dept.name if dept else None)
    if not parsed.report.ok:
        return result

    savepoint = session.begin_nested()
    try:
        batch = ImportBatch(kind=kind, filename=path.name, sha256=_sha256(path), user=user,
                            row_count=len(frame), warnings=[])
        session.add(batch)
        session.flush()
        if kind == "devices":
            groups = list(frame.groupby(owners, sort=True)) if department_from_column else [(target, frame)]
            for name, part in groups:
                group_dept = get_department(session, name, create=True)
                assert group_dept is not None
                if batch.department_id is None and len(groups) == 1:
                    batch.department_id = group_dept.id
                _apply_devices(session, part, group_dept, batch, user, result, parsed.columns)
            result.counts = {"新增": len(result.new), "变更": len(result.changed), "未变": len(result.unchanged),
                             "缺少": len(result.missing)}
        elif kind == "violations":
            _apply_violations(session, frame, batch, user, result)
        else:
            _apply_verifications(session, frame, batch, user, result)
        batch.warnings = [w.to_dict() for w in parsed.report.warnings]
        batch.summary = result.summary() | {"batch_id": batch.id,
                                            "columns": sorted(k for k in parsed.columns if k in frame.columns)}
        result.batch_id = batch.id
        session.flush()
    except SQLAlchemyError as exc:
        # What validation did not foresee (a value the database refuses, a lost connection) is reported, not raised.
        savepoint.rollback()
        result.batch_id = None
        cause = getattr(exc, "orig", None) or exc
        detail = (str(cause).strip().splitlines() or [""])[0][:300]
        parsed.report.error("DATABASE_ERROR", f"写入数据库时出错，本文件未导入，数据库未作任何改动（{type(cause).__name__}："
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
    return result


def _row_departments(session: Session, frame: pd.DataFrame, columns: dict[str, str], target: str | None,
                     from_column: bool, report: ValidationReport) -> pd.Series:
    """Each row's department name: the filing department, checked against the row's 所属单位 cell; or, from the
    column, a known department (cells left empty take the filing department)."""
    header = columns.get("department", "所属单位")
    cells = frame["department"] if "department" in frame.columns else pd.Series(None, index=frame.index, dtype=object)
    if not from_column:
        key = department_key(target)
        for row, value in zip(frame["row"].tolist(), cells.tolist()):
            if isinstance(value, str) and value.strip() and department_key(value) != key:
                report.error("DEPARTMENT_MISMATCH",
                             f"所属单位“{value}”与填报单位“{target}”不一致：一个单位的登记表只能登记本单位的设备；"
                             "请改正所属单位，或由该单位导入自己的设备。汇总多个单位的登记表请选择“按所属单位导入”。",
                             row=row, column=header, value=value)
        return pd.Series(target, index=frame.index, dtype=object)
    known = {department_key(d): d for d in department_names(session)}
    names = []
    for row, value in zip(frame["row"].tolist(), cells.tolist()):
        text = value.strip() if isinstance(value, str) else ""
        if not text and target:
            names.append(target)
            continue
        match = known.get(department_key(text))
        if match is None:
            listed = "、".join(sorted(known.values())) or "（尚无）"
            report.error("DEPARTMENT_UNKNOWN" if text else "REQUIRED_EMPTY",
                         (f"所属单位“{text}”不是已登记的单位（已登记：{listed}）；请核对单位名称，新单位须先单独导入其设备登记表。"
                          if text else "按所属单位导入时，“所属单位”不能为空；请填写设备的使用单位。"),
                         row=row, column=header, value=text or None)
            names.append(None)
        else:
            names.append(match)
    return pd.Series(names, index=frame.index, dtype=object)


def _check_device_owner(session: Session, frame: pd.DataFrame, departments: pd.Series, header: str,
                        report: ValidationReport) -> None:
    codes = frame["device_code"].tolist()
    owners = _owners(session, codes)
    for code, row, department in zip(codes, frame["row"].tolist(), departments.tolist()):
        owner = owners.get(code)
        if owner is not None and department is not None and department_key(owner) != department_key(department):
            report.error("CODE_OTHER_DEPARTMENT",
                         f"设备编号已登记在“{owner}”名下，不能由“{department}”导入；请核对编号，或由原单位办理移交。",
                         row=row, column=header, value=code)


def _owners(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Device code → name of the department it is registered to, for the registered ones among `codes`."""
    wanted = list(set(codes))
    owners: dict[str, str] = {}
    for start in range(0, len(wanted), 5000):
        owners.update(session.execute(select(Device.device_code, Department.name).join(Department)
                                      .where(Device.device_code.in_(wanted[start:start + 5000]))).all())
    return owners


def _device_ids(session: Session, codes: Iterable[str]) -> dict[str, int]:
    wanted = list(set(codes))
    ids: dict[str, int] = {}
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start:start + 5000]
        ids.update(session.execute(select(Device.device_code, Device.id).where(Device.device_code.in_(chunk))).all())
    return ids


def _check_known_devices(session: Session, frame: pd.DataFrame, header: str, report: ValidationReport,
                         department: str | None) -> None:
    """Every row names a registered device (UNKNOWN_DEVICE), of `department` when given (NOT_OWN_DEVICE)."""
    owner = frame["device_code"].map(_owners(session, frame["device_code"].unique()))
    for code, row in zip(frame.loc[owner.isna(), "device_code"], frame.loc[owner.isna(), "row"]):
        report.error("UNKNOWN_DEVICE", "设备编号未在设备登记表中登记；请先导入该设备，或核对编号。",
                     row=int(row), column=header, value=code)
    if department:
        foreign = owner.notna() & (owner != department)
        for code, row in zip(frame.loc[foreign, "device_code"], frame.loc[foreign, "row"]):
            report.error("NOT_OWN_DEVICE", f"设备编号不是“{department}”登记的设备；只能导入本单位设备的数据，请核对编号。",
                         row=int(row), column=header, value=code)


def _standing_decisions(session: Session, device_ids: list[int]) -> dict[int, Decision]:
    """Device id → the suspension or removal its status rests on (its latest suspend/remove/restore decision)."""
    latest: dict[int, Decision] = {}
    for start in range(0, len(device_ids), 5000):
        for d in session.scalars(select(Decision).where(Decision.device_id.in_(device_ids[start:start + 5000]),
                                                        Decision.kind.in_(["suspend", "remove", "restore"]))
                                 .order_by(Decision.id)):
            latest[d.device_id] = d
    return {i: d for i, d in latest.items() if d.kind in ("suspend", "remove")}


def _apply_devices(session: Session, frame: pd.DataFrame, dept: Department, batch: ImportBatch, user: str,
                   result: ImportResult, columns: dict[str, str]) -> None:
    present = [f for f in DEVICE_FIELDS if f in frame.columns]
    absent = sorted(k for k in OPTIONAL_COLUMNS if k not in frame.columns)
    existing = {d.device_code: d for d in session.scalars(select(Device).where(Device.department_id == dept.id))}
    known_verifications = set(session.execute(
        select(VerificationRecord.device_id, VerificationRecord.verified_on).join(Device)
        .where(Device.department_id == dept.id)).all())
    records = [{k: _plain(v) for k, v in raw.items()}
               for raw in frame[["device_code", *[f for f in present if f != "device_code"]]].to_dict("records")]
    rows = dict(zip(frame["device_code"].tolist(), frame["row"].tolist()))
    listed = {rec["device_code"] for rec in records}
    standing = _standing_decisions(session, sorted(d.id for code, d in existing.items() if code in listed)) \
        if "status" in present else {}
    created: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []

    def log(device_id: int, code: str, action: str, field: str | None = None, before: Any = None,
            after: Any = None) -> None:
        logs.append({"user": user, "batch_id": batch.id, "entity": "device", "entity_id": device_id,
                     "device_code": code, "action": action, "field": field, "before": before, "after": after,
                     "at": utcnow()})

    with session.no_autoflush:
        for rec in records:
            code = rec["device_code"]
            device = existing.get(code)
            if device is None:
                created.append(rec)
                result.new.append(code)
                continue
            fields = []
            decision = standing.get(device.id)
            if decision is not None and rec.get("status") != device.status:
                _report_held(result, decision, device, rec.get("status"), rows[code], columns.get("status", "状态"))
                rec = {k: v for k, v in rec.items() if k != "status"}
            for key, value in rec.items():
                old = getattr(device, key)
                if not _same(old, value):
                    fields.append(key)
                    log(device.id, code, "update", key, _fmt(old), _fmt(value))
                    setattr(device, key, value)
            if device.unsupplied is not None and set(device.unsupplied) - set(absent):
                device.unsupplied = sorted(set(device.unsupplied) & set(absent))
            if device.missing_since_batch_id is not None:
                fields.append("missing_since_batch_id")
                log(device.id, code, "reappear", "missing_since_batch_id", str(device.missing_since_batch_id))
                device.missing_since_batch_id = None
            if fields:
                device.updated_batch_id = batch.id
                result.changed[code] = fields
            else:
                result.unchanged.append(code)
        for code, device in sorted(existing.items()):
            if result.mode == "partial" or code in listed or device.status == "拆除":
                continue
            result.missing.append(code)
            if device.missing_since_batch_id is None:
                device.missing_since_batch_id = batch.id
                log(device.id, code, "missing", "missing_since_batch_id", after=str(batch.id))
    session.flush()
    ids = {code: device.id for code, device in existing.items()}
    if created:
        # Core bulk insert (one batched statement) instead of an ORM object per device.
        keys = sorted({k for rec in created for k in rec})
        values = [{k: rec.get(k) for k in keys} | {"department_id": dept.id, "created_batch_id": batch.id,
                                                   "updated_batch_id": batch.id, "unsupplied": absent}
                  for rec in created]
        session.execute(insert(Device), values)
        ids.update(_device_ids(session, [rec["device_code"] for rec in created]))
        for rec in created:
            snapshot = {k: _fmt(v) for k, v in rec.items() if v is not None}
            log(ids[rec["device_code"]], rec["device_code"], "create",
                after=json.dumps(snapshot, ensure_ascii=False))
    verifications = [v for rec in records
                     if (v := _inventory_verification(ids[rec["device_code"]], rec, batch, known_verifications))]
    if verifications:
        session.execute(insert(VerificationRecord), verifications)
    if logs:
        session.execute(insert(ChangeLog), logs)


def _report_held(result: ImportResult, decision: Decision, device: Device, uploaded: str | None, row: int,
                 header: str) -> None:
    result.held.append(device.device_code)
    result.report.warning(
        "DECISION_HOLDS",
        f"设备 {device.device_code} 已于 {decision.decided_on.isoformat()} 由 {decision.decided_by} 决定"
        f"{DECISION_ZH[decision.kind]}（决定第 {decision.id} 号）；上传的状态“{uploaded or '空'}”未采用，仍为"
        f"“{device.status}”，本行其他内容已导入。恢复使用须由审查机关作出恢复使用决定。",
        row=row, column=header, value=uploaded)


def _inventory_verification(device_id: int, rec: dict[str, Any], batch: ImportBatch,
                            known: set[tuple[int, dt.date]]) -> dict[str, Any] | None:
    """The inventory's latest verification columns also enter the verification history, once."""
    verified_on, valid_until = rec.get("verified_on"), rec.get("verification_valid_until")
    result = rec.get("verification_result")
    if not (verified_on and valid_until and result) or (device_id, verified_on) in known:
        return None
    known.add((device_id, verified_on))
    return {"device_id": device_id, "verified_on": verified_on, "valid_until": valid_until, "result": result,
            "certificate_no": rec.get("certificate_no"), "batch_id": batch.id}


def _apply_violations(session: Session, frame: pd.DataFrame, batch: ImportBatch, user: str,
                      result: ImportResult) -> None:
    ids = _device_ids(session, frame["device_code"].unique())
    work = pd.DataFrame({
        "device_id": frame["device_code"].map(ids).astype("int64"),
        "period": frame["period"].astype(object),
        "period_start": frame["period_start"].astype("datetime64[ns]"),
        "count": frame["count"].astype("int64"),
        "fine_yuan": frame["fine_yuan"].astype("float64") if "fine_yuan" in frame.columns else np.nan,
    })
    table = ViolationStat.__table__
    existing = pd.DataFrame(session.execute(
        select(table.c.device_id, table.c.period, table.c.period_start, table.c.count, table.c.fine_yuan)
        .where(table.c.device_id.in_(work["device_id"].unique().tolist()),
               table.c.period_start >= work["period_start"].min().date(),
               table.c.period_start <= work["period_start"].max().date())).all(),
        columns=["device_id", "period", "period_start", "count", "old_fine"])
    existing["period_start"] = pd.to_datetime(existing["period_start"]).astype("datetime64[ns]")
    merged = work.merge(existing, how="left", on=["device_id", "period", "period_start"], suffixes=("", "_old"),
                        indicator=True)
    is_new = merged["_merge"] == "left_only"
    old_fine = pd.to_numeric(merged["old_fine"], errors="coerce").round(2)
    same_fine = (old_fine == merged["fine_yuan"].round(2)) | (old_fine.isna() & merged["fine_yuan"].isna())
    changed = ~is_new & ((merged["count_old"] != merged["count"]) | ~same_fine)
    fresh = merged.loc[is_new]
    if len(fresh):
        _insert_violation_rows(session, fresh, batch.id)
    upd = merged.loc[changed]
    if len(upd):
        codes = {v: k for k, v in ids.items()}
        session.execute(update(ViolationStat), [
            {"device_id": int(r.device_id), "period": r.period, "period_start": r.period_start.date(),
             "count": int(r.count), "fine_yuan": None if pd.isna(r.fine_yuan) else float(r.fine_yuan), "batch_id": batch.id}
            for r in upd.itertuples()])
        session.add_all([
            ChangeLog(user=user, batch_id=batch.id, entity="violation_stat", entity_id=int(r.device_id),
                      device_code=codes[r.device_id], action="update",
                      field=f"{r.period_start.date().isoformat()} 违法数量/罚款金额",
                      before=f"{int(r.count_old)} / {_money(r.old_fine)}",
                      after=f"{int(r.count)} / {_money(r.fine_yuan)}")
            for r in upd.itertuples()])
    result.counts = {"新增记录": int(is_new.sum()), "更新记录": int(changed.sum()),
                     "未变记录": int((~is_new & ~changed).sum()), "涉及设备": int(work["device_id"].nunique())}


def _insert_violation_rows(session: Session, rows: pd.DataFrame, batch_id: int) -> None:
    """Insert many statistics rows at the driver level: the ORM's per-value processing costs more than the write."""
    conn = session.connection()
    dialect = conn.dialect
    fines = rows["fine_yuan"].round(2).to_numpy(dtype=object)
    fines[pd.isna(rows["fine_yuan"]).to_numpy()] = None
    # Few distinct days: convert each once. SQLite gets SQLAlchemy's Date storage format, ISO text.
    codes, days = pd.factorize(rows["period_start"])
    converted = [d.date().isoformat() if dialect.name == "sqlite" else d.date() for d in days]
    starts = np.array(converted, dtype=object)[codes]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = ("INSERT INTO violation_stat (device_id, period, period_start, count, fine_yuan, batch_id) VALUES "
           f"({', '.join([marker] * 6)})")
    values = list(zip(rows["device_id"].tolist(), rows["period"].tolist(), starts, rows["count"].tolist(),
                      fines.tolist(), [batch_id] * len(rows)))
    for start in range(0, len(values), 100_000):
        conn.exec_driver_sql(sql, values[start:start + 100_000])


def _apply_verifications(session: Session, frame: pd.DataFrame, batch: ImportBatch, user: str,
                         result: ImportResult) -> None:
    ids = _device_ids(session, frame["device_code"].unique())
    counts = {"新增记录": 0, "更新记录": 0, "未变记录": 0}
    for raw in frame.to_dict("records"):
        rec = {k: _plain(v) for k, v in raw.items()}
        device_id = ids[rec["device_code"]]
        values = {k: rec.get(k) for k in ("valid_until", "result", "certificate_no", "agency")}
        existing = session.scalar(select(VerificationRecord).where(
            VerificationRecord.device_id == device_id, VerificationRecord.verified_on == rec["verified_on"]))
        if existing is None:
            session.add(VerificationRecord(device_id=device_id, verified_on=rec["verified_on"], batch_id=batch.id,
                                           **values))
            counts["新增记录"] += 1
            continue
        diffs = [k for k, v in values.items() if getattr(existing, k) != v]
        for key in diffs:
            session.add(ChangeLog(user=user, batch_id=batch.id, entity="verification_record",
                                  entity_id=existing.id, device_code=rec["device_code"], action="update",
                                  field=key, before=_fmt(getattr(existing, key)), after=_fmt(values[key])))
            setattr(existing, key, values[key])
        if diffs:
            existing.batch_id = batch.id
        counts["更新记录" if diffs else "未变记录"] += 1
    result.counts = counts


# ---- reading the registry -------------------------------------------------------------------------------

def load_devices_frame(session: Session, department: str | None = None) -> gpd.GeoDataFrame:
    """One row per device: id, department name, every device key; dates as datetime64; geometry in EPSG:4326."""
    cols = [Device.id, Department.name.label("department"), *[getattr(Device, k) for k in DEVICE_FIELDS],
            Device.missing_since_batch_id, Device.unsupplied]
    query = select(*cols).join(Department).order_by(Device.device_code)
    if department:
        query = query.where(Department.name == department)
    rows = session.execute(query).all()
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


def _code_filter(query: Any, device_codes: Iterable[str] | None) -> Any:
    return query if device_codes is None else query.where(Device.device_code.in_(list(device_codes)))


def load_violations_frame(session: Session, device_codes: Iterable[str] | None = None) -> pd.DataFrame:
    # Read through the driver's cursor, dates as ISO text and fines as floats: SQLAlchemy's per-row result
    # processing would dominate a ten-million-row load.
    query = _code_filter(select(Device.device_code, ViolationStat.period,
                                cast(ViolationStat.period_start, String), ViolationStat.count,
                                cast(ViolationStat.fine_yuan, Float)).join(Device), device_codes)
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
    source (变更记录 | 处理决定).

    From the change log of inventory uploads (a status changed by an upload, on the day of that upload: the
    department may have stopped the device earlier) and from the decisions that set a status (停用, 拆除,
    恢复使用), on their decision date. The status a device was first registered with has no date of effect.
    """
    logged = select(ChangeLog.device_code, ChangeLog.at, ChangeLog.after).where(
        ChangeLog.entity == "device", ChangeLog.action == "update", ChangeLog.field == "status")
    if device_codes is not None:
        logged = logged.where(ChangeLog.device_code.in_(list(device_codes)))
    rows = [(code, at.date(), status, "变更记录") for code, at, status in session.execute(logged)]
    decided = _code_filter(select(Device.device_code, Decision.decided_on, Decision.kind).join(Device)
                           .where(Decision.kind.in_(list(DECISION_STATUS))), device_codes)
    rows += [(code, on, DECISION_STATUS[kind], "处理决定") for code, on, kind in session.execute(decided)]
    frame = pd.DataFrame(rows, columns=["device_code", "since", "status", "source"])
    frame["since"] = pd.to_datetime(frame["since"])
    return frame.sort_values(["device_code", "since"], kind="stable").reset_index(drop=True)


def load_reported_days(session: Session, department_id: int) -> list[dt.date]:
    """The days on which a department reported daily violation rows for any of its devices."""
    query = select(ViolationStat.period_start).join(Device).where(
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
