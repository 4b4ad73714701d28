"""A verifications upload applied a chunk at a time: the records already held for the chunk's devices and dates are
read by joining a staging table of their keys, new records are written by the bulk loader, changed ones updated
field by field with a change log row for each field."""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, text, update

from .bulk import Col, Loader
from .inventory import LOG_COLUMNS, fmt, plain
from .models import VerificationRecord, utcnow

FIELDS = ("valid_until", "result", "certificate_no", "agency")
STAGE = "camaudit_stage_verification"
NEW_COLUMNS = [Col("device_id", "int"), Col("verified_on", "date"), Col("valid_until", "date"), Col("result", "text"),
               Col("certificate_no", "text"), Col("agency", "text"), Col("batch_id", "int")]


class VerificationsImport:
    def __init__(self, loader: Loader, batch_id: int, user: str):
        self.loader, self.batch_id, self.user = loader, batch_id, user
        self.counts = {"新增记录": 0, "更新记录": 0, "未变记录": 0}
        self.at = utcnow()

    def add(self, frame: pd.DataFrame, ids: np.ndarray) -> None:
        values = {k: plain(frame[k]) if k in frame.columns else [None] * len(frame)
                  for k in ("device_code", "verified_on", *FIELDS)}
        held = self._held(ids, values["verified_on"])
        new: list[int] = []
        changes: list[dict[str, Any]] = []
        logs: list[tuple[Any, ...]] = []
        for j, device_id in enumerate(ids.tolist()):
            record = held.get((device_id, values["verified_on"][j]))
            if record is None:
                new.append(j)
                continue
            diffs = [k for k in FIELDS if record[k] != values[k][j]]
            for key in diffs:
                logs.append((record["id"], values["device_code"][j], key, fmt(record[key]), fmt(values[key][j])))
            if diffs:
                changes.append({"record_id": record["id"], "batch_id": self.batch_id,
                                **{k: values[k][j] for k in FIELDS}})
            self.counts["更新记录" if diffs else "未变记录"] += 1
        if new:
            self.loader.append("verification_record", NEW_COLUMNS, {
                "device_id": ids[new], **{k: [values[k][j] for j in new] for k in ("verified_on", *FIELDS)},
                "batch_id": np.full(len(new), self.batch_id)})
            self.counts["新增记录"] += len(new)
        if changes:
            table = VerificationRecord.__table__
            self.loader.conn.execute(update(table).where(table.c.id == bindparam("record_id"))
                                     .values({k: bindparam(k) for k in (*FIELDS, "batch_id")}), changes)
        if logs:
            record_id, code, field, before, after = zip(*logs)
            n = len(logs)
            self.loader.append("change_log", LOG_COLUMNS, {
                "at": [self.at] * n, "user": [self.user] * n, "batch_id": np.full(n, self.batch_id),
                "entity": ["verification_record"] * n, "entity_id": np.array(record_id, dtype=np.int64),
                "device_code": list(code), "action": ["update"] * n, "field": list(field), "before": list(before),
                "after": list(after)})

    def _held(self, ids: np.ndarray, days: list[Any]) -> dict[tuple[int, Any], dict[str, Any]]:
        """The stored records of these (device, date) keys."""
        loader = self.loader
        keys = [Col("device_id", "int"), Col("verified_on", "date")]
        loader.stage(STAGE, keys)
        loader.append(STAGE, keys, {"device_id": ids, "verified_on": days})
        rows = loader.conn.execute(text(
            f"SELECT v.id, v.device_id, v.verified_on, {', '.join('v.' + k for k in FIELDS)} FROM verification_record v "
            f"JOIN {STAGE} s ON s.device_id = v.device_id AND s.verified_on = v.verified_on")).all()
        loader.drop(STAGE)
        out = {}
        for row in rows:
            record = dict(zip(("id", "device_id", "verified_on", *FIELDS), row))
            for key in ("verified_on", "valid_until"):
                if isinstance(record[key], str):
                    record[key] = dt.date.fromisoformat(record[key])
            out[(record["device_id"], record["verified_on"])] = record
        return out
