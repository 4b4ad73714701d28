"""A department's inventory upload applied chunk by chunk, with columns instead of ORM objects.

For each chunk of one department's rows: the registered devices it names are read by joining a staging table of
its codes; each field is compared column-wise (a float within 1e-9 is unchanged, as before); the change log rows,
new devices (ids taken from the database's own sequence) and new verification records are written by the bulk
loader (COPY or executemany); changed devices are updated from a staging table in one statement. A standing
suspension or removal keeps the device's status (a warning names the decision). Once every chunk is in, the
department's devices the upload did not list are flagged 待核实 by one set-based statement (a full inventory).
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select, text

from ..intake.columns import DEVICE_COLUMNS
from ..intake.report import ValidationReport
from . import search
from .bulk import Col, Loader
from .models import DECISION_ZH, Decision, utcnow

KIND = {c.key: {"date": "date", "float": "float", "int": "int", "bool": "bool"}.get(c.kind, "text")
        for c in DEVICE_COLUMNS} | {"raw_lon": "float", "raw_lat": "float"}
FLOATS = {k for k, v in KIND.items() if v == "float"}
LOG_COLUMNS = [Col("at", "datetime"), Col("user", "text"), Col("batch_id", "int"), Col("entity", "text"),
               Col("entity_id", "int"), Col("device_code", "text"), Col("action", "text"), Col("field", "text"),
               Col("before", "text"), Col("after", "text")]
VERIFICATION_COLUMNS = [Col("device_id", "int"), Col("verified_on", "date"), Col("valid_until", "date"),
                        Col("result", "text"), Col("certificate_no", "text"), Col("batch_id", "int")]
CODES = "camaudit_stage_inventory_code"
UPDATES = "camaudit_stage_inventory"
LISTED = "camaudit_stage_listed"


def plain(values: Any) -> list[Any]:
    """A typed column as plain Python values (dates as date, NaN/NaT/NA as None), as the database returns them."""
    series = pd.Series(values)
    if series.dtype.kind == "M":
        out = series.dt.date.astype(object).tolist()
    else:
        out = series.astype(object).tolist()
    return [None if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v) else
            (v.item() if isinstance(v, np.generic) else v) for v in out]


def fmt(value: Any) -> str | None:
    """A value as the change log writes it."""
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _differs(key: str, old: list[Any], new: list[Any]) -> np.ndarray:
    """Per device, whether the uploaded value changes the stored one (floats within 1e-9 are the same)."""
    if key in FLOATS:
        a = np.array([np.nan if v is None else v for v in old], dtype=np.float64)
        b = np.array([np.nan if v is None else v for v in new], dtype=np.float64)
        same = (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= 1e-9)
        return ~same
    return np.array([o != n for o, n in zip(old, new)], dtype=bool)


@dataclass
class DepartmentPart:
    """What one department's rows did (merged into the ImportResult in department order)."""

    new: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)


class InventoryImport:
    """An inventory upload of one or more departments (by column): `add` each chunk with its rows' departments,
    then `finish` (the devices not listed, for a full inventory)."""

    def __init__(self, loader: Loader, batch_id: int, user: str, present: list[str], absent: list[str],
                 partial: bool, report: ValidationReport, status_header: str):
        self.loader, self.batch_id, self.user = loader, batch_id, user
        self.present, self.absent, self.partial = present, absent, partial
        self.report, self.status_header = report, status_header
        self.keys = ["device_code", *[f for f in present if f != "device_code"]]
        self.parts: dict[str, DepartmentPart] = {}
        self.departments: dict[str, int] = {}
        self.absent_json = json.dumps(absent)
        self.at = utcnow()
        self.removed: list[int] = []  # the devices the upload set to 拆除
        if not partial:
            loader.stage(LISTED, [Col("department_id", "int"), Col("code", "text")])

    def add(self, frame: pd.DataFrame, names: np.ndarray, department_ids: np.ndarray, session: Any) -> None:
        """One chunk: its rows' department names and ids (each registered code belongs to its row's department)."""
        for name, department_id in dict(zip(names.tolist(), department_ids.tolist())).items():
            self.parts.setdefault(name, DepartmentPart())
            self.departments[name] = department_id
        codes = frame["device_code"].to_numpy(dtype=object)
        if not self.partial:
            self.loader.append(LISTED, [Col("department_id", "int"), Col("code", "text")],
                               {"department_id": department_ids, "code": codes})
        old, known_checks = self._registered(codes)
        at = {code: i for i, code in enumerate(old["device_code"])}
        position = np.array([at.get(c, -1) for c in codes.tolist()], dtype=np.int64)
        here, fresh = np.flatnonzero(position >= 0), np.flatnonzero(position < 0)
        logs: list[tuple[Any, ...]] = []
        ids = np.zeros(len(codes), dtype=np.int64)
        if len(here):
            rows = frame.iloc[here]
            ids[here] = self._update(session, old, position[here], rows, names[here], logs)
        if len(fresh):
            ids[fresh] = self._create(frame.iloc[fresh], names[fresh], department_ids[fresh], logs)
        if logs:
            self._log(logs)
        self._verifications(frame, ids, known_checks)

    def _registered(self, codes: np.ndarray) -> tuple[dict[str, list[Any]], set[tuple[int, Any]]]:
        """The registered devices among `codes` (columns) and their verification records' keys."""
        loader = self.loader
        stage = loader.stage(CODES, [Col("code", "text")])
        loader.append(stage, [Col("code", "text")], {"code": codes})
        names = ["id", "status", "missing_since_batch_id", "updated_batch_id", "unsupplied",
                 *[k for k in self.keys if k != "status"]]
        result = loader.conn.execute(text(
            f"SELECT {', '.join('d.' + n for n in names)} FROM device d JOIN {stage} s ON s.code = d.device_code "
            "ORDER BY d.id"))
        columns = _typed_rows(result, names)
        checks: set[tuple[int, Any]] = set()
        if columns["id"]:
            checks = set(loader.conn.execute(text(
                f"SELECT v.device_id, v.verified_on FROM verification_record v JOIN device d ON d.id = v.device_id "
                f"JOIN {stage} s ON s.code = d.device_code")).all())
        loader.drop(stage)
        if loader.sqlite:
            checks = {(i, dt.date.fromisoformat(d) if isinstance(d, str) else d) for i, d in checks}
        return columns, checks

    def _update(self, session: Any, old: dict[str, list[Any]], at: np.ndarray, frame: pd.DataFrame,
                names: np.ndarray, logs: list[tuple[Any, ...]]) -> np.ndarray:
        ids = [old["id"][i] for i in at]
        old_values = {k: [old[k][i] for i in at] for k in (*self.keys, "status")}
        new_values = {k: plain(frame[k]) for k in self.keys}
        held = self._held(session, ids, old_values["status"], new_values.get("status"), new_values["device_code"],
                          frame["row"].tolist(), names)
        changed = {k: _differs(k, old_values[k], new_values[k]) for k in self.keys}
        if "status" in changed:
            changed["status"] &= ~held
            self.removed += [i for i, moved, status in zip(ids, changed["status"].tolist(), new_values["status"])
                             if moved and status == "拆除"]
        unsupplied = [old["unsupplied"][i] for i in at]
        missing_since = [old["missing_since_batch_id"][i] for i in at]
        updated_batch = [old["updated_batch_id"][i] for i in at]
        absent = set(self.absent)
        staged: list[int] = []
        for n, device_id in enumerate(ids):
            code = new_values["device_code"][n]
            part = self.parts[names[n]]
            fields = [k for k in self.keys if changed[k][n]]
            for k in fields:
                logs.append((device_id, code, "update", k, fmt(old_values[k][n]), fmt(new_values[k][n])))
            before = unsupplied[n]
            if before is not None and set(before) - absent:
                unsupplied[n] = sorted(set(before) & absent)
            if missing_since[n] is not None:
                fields.append("missing_since_batch_id")
                logs.append((device_id, code, "reappear", "missing_since_batch_id", str(missing_since[n]), None))
                missing_since[n] = None
            if fields:
                updated_batch[n] = self.batch_id
                part.changed[code] = fields
            else:
                part.unchanged.append(code)
            if fields or unsupplied[n] != before:
                staged.append(n)
        if staged:
            final = {k: [new_values[k][n] if changed[k][n] else old_values[k][n] for n in staged] for k in self.keys}
            self._apply_updates([ids[n] for n in staged], final, [updated_batch[n] for n in staged],
                                [missing_since[n] for n in staged], [unsupplied[n] for n in staged])
        return np.array(ids, dtype=np.int64)

    def _held(self, session: Any, ids: list[int], status: list[Any], uploaded: list[Any] | None, codes: list[str],
              rows: list[int], names: np.ndarray) -> np.ndarray:
        """Per device, whether a standing suspension or removal keeps its status against the upload's."""
        held = np.zeros(len(ids), dtype=bool)
        if uploaded is None:
            return held
        standing = standing_decisions(session, ids)
        for n, device_id in enumerate(ids):
            decision = standing.get(device_id)
            if decision is not None and uploaded[n] != status[n]:
                held[n] = True
                self.parts[names[n]].held.append(codes[n])
                self.report.warning(
                    "DECISION_HOLDS",
                    f"设备 {codes[n]} 已于 {decision.decided_on.isoformat()} 由 {decision.decided_by} 决定"
                    f"{DECISION_ZH[decision.kind]}（决定第 {decision.id} 号）；上传的状态“{uploaded[n] or '空'}”未采用，仍为"
                    f"“{status[n]}”，本行其他内容已导入。恢复使用须由审查机关作出恢复使用决定。",
                    row=rows[n], column=self.status_header, value=uploaded[n])
        return held

    def _apply_updates(self, ids: list[int], final: dict[str, list[Any]], updated_batch: list[Any],
                       missing_since: list[Any], unsupplied: list[Any]) -> None:
        keys = [k for k in self.keys if k != "device_code"]
        columns = [Col("id", "int"), *[Col(k, KIND[k]) for k in keys], Col("updated_batch_id", "int"),
                   Col("missing_since_batch_id", "int"), Col("unsupplied", "json")]
        stage = self.loader.stage(UPDATES, columns)
        self.loader.append(stage, columns, {"id": ids, **final, "updated_batch_id": updated_batch,
                                            "missing_since_batch_id": missing_since,
                                            "unsupplied": [None if u is None else json.dumps(u) for u in unsupplied]})
        json_value = "s.unsupplied" if self.loader.sqlite else "s.unsupplied::json"
        sets = ", ".join([*(f"{k} = s.{k}" for k in keys), "updated_batch_id = s.updated_batch_id",
                          "missing_since_batch_id = s.missing_since_batch_id", f"unsupplied = {json_value}"])
        self.loader.conn.exec_driver_sql(f"UPDATE device AS d SET {sets} FROM {stage} AS s WHERE d.id = s.id")
        self.loader.drop(stage)

    def _create(self, frame: pd.DataFrame, names: np.ndarray, department_ids: np.ndarray,
                logs: list[tuple[Any, ...]]) -> np.ndarray:
        n = len(frame)
        ids = new_ids(self.loader, n)
        columns = [Col("id", "int"), *[Col(k, KIND[k]) for k in self.keys], Col("department_id", "int"),
                   Col("created_batch_id", "int"), Col("updated_batch_id", "int"), Col("unsupplied", "json")]
        with search.appended(self.loader.conn, ids[0], ids[-1]):
            self.loader.append("device", columns, {
                "id": ids, **{k: frame[k].to_numpy() for k in self.keys}, "department_id": department_ids,
                "created_batch_id": np.full(n, self.batch_id), "updated_batch_id": np.full(n, self.batch_id),
                "unsupplied": [self.absent_json] * n})
        codes = frame["device_code"].tolist()
        for name, code in zip(names.tolist(), codes):
            self.parts[name].new.append(code)
        logs.extend(zip(ids.tolist(), codes, ["create"] * n, [None] * n, [None] * n, snapshots(frame[self.keys])))
        return ids

    def _verifications(self, frame: pd.DataFrame, ids: np.ndarray, known: set[tuple[int, Any]]) -> None:
        """The inventory's latest verification enters the verification history once per device and date."""
        if not all(k in frame.columns for k in ("verified_on", "verification_valid_until", "verification_result")):
            return
        take = (frame["verified_on"].notna() & frame["verification_valid_until"].notna()
                & frame["verification_result"].notna()).to_numpy(copy=True)
        if known:
            days = frame["verified_on"].dt.date.to_numpy(dtype=object)
            take &= np.array([(int(i), d) not in known for i, d in zip(ids.tolist(), days.tolist())], dtype=bool)
        rows = np.flatnonzero(take)
        if not len(rows):
            return
        part = frame.iloc[rows]
        n = len(rows)
        self.loader.append("verification_record", VERIFICATION_COLUMNS, {
            "device_id": ids[rows], "verified_on": part["verified_on"].to_numpy(),
            "valid_until": part["verification_valid_until"].to_numpy(), "result": part["verification_result"].to_numpy(),
            "certificate_no": part["certificate_no"].to_numpy() if "certificate_no" in part.columns else [None] * n,
            "batch_id": np.full(n, self.batch_id)})

    def _log(self, logs: list[tuple[Any, ...]]) -> None:
        entity_id, code, action, field_, before, after = zip(*logs)
        n = len(logs)
        self.loader.append("change_log", LOG_COLUMNS, {
            "at": [self.at] * n, "user": [self.user] * n, "batch_id": np.full(n, self.batch_id),
            "entity": ["device"] * n, "entity_id": np.array(entity_id, dtype=np.int64), "device_code": list(code),
            "action": list(action), "field": list(field_), "before": list(before), "after": list(after)})

    def finish(self) -> DepartmentPart:
        """Flag the devices of each department the upload did not list (full inventory); the parts merged."""
        merged = DepartmentPart()
        if not self.partial:
            self.loader.index(LISTED, "department_id, code")
            self.loader.analyze(LISTED)
        for name in sorted(self.parts):
            part = self.parts[name]
            if not self.partial:
                self._missing(part, self.departments[name])
            merged.new += part.new
            merged.changed |= part.changed
            merged.unchanged += part.unchanged
            merged.missing += part.missing
            merged.held += part.held
        if not self.partial:
            self.loader.drop(LISTED)
        return merged

    def _missing(self, part: DepartmentPart, department_id: int) -> None:
        unlisted = (f"d.department_id = :dept AND (d.status IS NULL OR d.status <> '拆除') AND NOT EXISTS "
                    f"(SELECT 1 FROM {LISTED} l WHERE l.department_id = d.department_id AND l.code = d.device_code)")
        conn = self.loader.conn
        rows = conn.execute(text(f"SELECT d.id, d.device_code, d.missing_since_batch_id FROM device d WHERE {unlisted}"),
                            {"dept": department_id}).all()
        rows.sort(key=lambda r: r[1])
        part.missing.extend(r[1] for r in rows)
        flagged = [r for r in rows if r[2] is None]
        if not flagged:
            return
        conn.execute(text(f"UPDATE device AS d SET missing_since_batch_id = :batch WHERE d.missing_since_batch_id IS NULL "
                          f"AND {unlisted}"), {"dept": department_id, "batch": self.batch_id})
        self._log([(r[0], r[1], "missing", "missing_since_batch_id", None, str(self.batch_id)) for r in flagged])


def _typed_rows(result: Any, names: list[str]) -> dict[str, list[Any]]:
    """A Core result's rows as columns of plain values (JSON decoded, dates as date)."""
    rows = result.all()
    columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    if "unsupplied" in columns:
        columns["unsupplied"] = [json.loads(u) if isinstance(u, str) else u for u in columns["unsupplied"]]
    for key in names:
        if KIND.get(key) == "date":
            columns[key] = [dt.date.fromisoformat(v) if isinstance(v, str) else v for v in columns[key]]
        elif KIND.get(key) == "bool":
            columns[key] = [None if v is None else bool(v) for v in columns[key]]
    return columns


def _texts(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """A typed column as (per row the index of its distinct value, -1 where empty; each distinct value as the
    change log writes it, fmt)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if series.dtype.kind == "M":
        texts = np.datetime_as_string(np.asarray(uniques, dtype="datetime64[D]")).tolist()
    elif series.dtype.kind == "f":
        texts = [str(u) for u in np.asarray(uniques, dtype=np.float64).tolist()]
    else:
        texts = [fmt(u.item() if isinstance(u, np.generic) else u) for u in uniques]
    return codes, texts


def snapshots(frame: pd.DataFrame) -> list[str]:
    """Each new device's values as the change log's JSON snapshot: {key: text} of the values given (the first
    column, the device code, is never empty), as json.dumps writes it. Each distinct value is encoded once."""
    fragments = []
    for key in frame.columns:
        codes, texts = _texts(frame[key])
        name = json.dumps(key)
        plain = not _JSON_ESCAPED.search("".join(texts))
        table = np.array([f',{name}:"{t}"' if plain else f",{name}:{json.dumps(t, ensure_ascii=False)}"
                          for t in texts] + [""], dtype=object)
        fragments.append(table[codes].tolist())
    return ["{" + "".join(parts)[1:] + "}" for parts in zip(*fragments)]


# What json.dumps(ensure_ascii=False) escapes in a string (json.encoder.ESCAPE)
_JSON_ESCAPED = re.compile(r'[\x00-\x1f\\"]')


def new_ids(loader: Loader, n: int) -> np.ndarray:
    """n new device ids from the database's own sequence (PostgreSQL) or after the largest (SQLite's rowid rule)."""
    conn = loader.conn
    if loader.sqlite:
        start = int(conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM device").scalar())
        return np.arange(start + 1, start + n + 1, dtype=np.int64)
    ids = conn.execute(text("SELECT nextval(pg_get_serial_sequence('device', 'id')) FROM generate_series(1, :n)"),
                       {"n": n}).scalars().all()
    return np.sort(np.array(ids, dtype=np.int64))


def standing_decisions(session: Any, device_ids: list[int]) -> dict[int, Decision]:
    """Device id -> the suspension or removal its status rests on (its latest suspend/remove/restore decision)."""
    latest: dict[int, Decision] = {}
    for start in range(0, len(device_ids), 5000):
        for d in session.scalars(select(Decision).where(Decision.device_id.in_(device_ids[start:start + 5000]),
                                                        Decision.kind.in_(["suspend", "remove", "restore"]))
                                 .order_by(Decision.id)):
            latest[d.device_id] = d
    return {i: d for i, d in latest.items() if d.kind in ("suspend", "remove")}
