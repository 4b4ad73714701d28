"""Registered devices looked up by code for an upload's rows, however many codes: the codes not seen yet are staged
in a temporary table and joined to the registry (no IN list, so no limit on bound parameters). Codes that are not
registered are also matched to those differing from them only by letter case (CODE_CASE_VARIANT)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..intake.report import ValidationReport
from .bulk import Col, Loader

STAGE = "camaudit_stage_code"


class DeviceLookup:
    """Device code -> (device id, department name) of the registered devices, cached across the chunks of a file."""

    def __init__(self, loader: Loader):
        self.loader = loader
        self.known: dict[str, tuple[int, str]] = {}
        self.looked_up: set[str] = set()

    def find(self, codes: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per code: its device id (-1 when not registered) and its department's name (None)."""
        codes = pd.Series(np.asarray(codes, dtype=object))
        factors, uniques = pd.factorize(codes, use_na_sentinel=True)
        new = [u for u in uniques if u not in self.looked_up]
        if new:
            self._query(new)
        found = [self.known.get(u) for u in uniques]
        ids = np.array([f[0] if f else -1 for f in found] + [-1], dtype=np.int64)[factors]
        names = np.array([f[1] if f else None for f in found] + [None], dtype=object)[factors]
        return ids, names

    def _query(self, codes: list[str]) -> None:
        loader = self.loader
        stage = loader.stage(STAGE, [Col("code", "text")])
        loader.append(stage, [Col("code", "text")], {"code": codes})
        rows = loader.conn.exec_driver_sql(
            f"SELECT d.device_code, d.id, p.name FROM {stage} s JOIN device d ON d.device_code = s.code "
            "JOIN department p ON p.id = d.department_id").all()
        loader.drop(stage)
        self.known.update((code, (int(i), name)) for code, i, name in rows)
        self.looked_up.update(codes)

    def spellings(self, codes: Iterable[str]) -> dict[str, list[str]]:
        """Per code of `codes` (codes that are not registered), the registered codes that differ from it only by
        letter case; codes with none are left out. Reads every registered code: call it once per file."""
        wanted: dict[str, list[str]] = {}
        for code in set(codes):
            if code.lower() != code.upper():  # only a code with letters has case variants
                wanted.setdefault(code.casefold(), []).append(code)
        found: dict[str, list[str]] = {}
        if not wanted:
            return found
        every = self.loader.conn.exec_driver_sql("SELECT device_code FROM device ORDER BY device_code",
                                                 execution_options={"yield_per": 50_000})  # not all held at once
        for (registered,) in every:
            for code in wanted.get(registered.casefold(), ()):
                found.setdefault(code, []).append(registered)
        return found


UNKNOWN = "设备编号未在设备登记表中登记；请先导入该设备，或核对编号。"
NOT_OWN = "设备编号不是“{department}”登记的设备；只能导入本单位设备的数据，请核对编号。"
CASE_VARIANT = "与已登记的设备编号{registered}仅大小写不同；请使用已登记的编号。"


def case_variant(registered: list[str]) -> str:
    """The CODE_CASE_VARIANT message naming the registered code(s) (DeviceLookup.spellings)."""
    return CASE_VARIANT.format(registered="、".join(f"“{code}”" for code in registered))


class KnownDevices:
    """The check of a violations or verifications upload: every row names a registered device (UNKNOWN_DEVICE), of
    the filing department when there is one (NOT_OWN_DEVICE). `check` each chunk, then `report` the refusals.
    A row whose code is empty, or in `faulty` (rows whose code cell already has an error), is not looked up."""

    def __init__(self, lookup: DeviceLookup, department: str | None, header: str, faulty: frozenset[int] = frozenset()):
        self.lookup, self.department, self.header, self.faulty = lookup, department, header, faulty
        self.unknown: list[tuple[int, str]] = []
        self.foreign: list[tuple[int, str]] = []

    @property
    def refused(self) -> bool:
        return bool(self.unknown or self.foreign)

    def check(self, frame: pd.DataFrame) -> np.ndarray:
        """The device id of each row (-1 for a refused row)."""
        ids, owners = self.lookup.find(frame["device_code"])
        rows = frame["row"].to_numpy()
        codes = frame["device_code"].to_numpy(dtype=object)
        unknown = (ids < 0) & ~pd.isna(codes)
        if self.faulty:
            unknown &= ~np.isin(rows, list(self.faulty))
        self.unknown += zip(rows[unknown].tolist(), codes[unknown].tolist())
        if self.department:
            foreign = ~unknown & (owners != self.department)
            self.foreign += zip(rows[foreign].tolist(), codes[foreign].tolist())
            ids = np.where(foreign, -1, ids)
        return ids

    def report(self, report: ValidationReport) -> None:
        """Unknown devices first (those whose code differs from a registered one only by case named so), then
        devices of other departments, each in the file's order."""
        variants = self.lookup.spellings(code for _, code in self.unknown)
        for row, code in sorted(self.unknown):
            if code in variants:
                report.error("CODE_CASE_VARIANT", case_variant(variants[code]), row=int(row), column=self.header,
                             value=code)
            else:
                report.error("UNKNOWN_DEVICE", UNKNOWN, row=int(row), column=self.header, value=code)
        for row, code in sorted(self.foreign):
            report.error("NOT_OWN_DEVICE", NOT_OWN.format(department=self.department), row=int(row),
                         column=self.header, value=code)
