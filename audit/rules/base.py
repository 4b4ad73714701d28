"""The Rule class, the rule registry and what rules share: the findings schema, device states, date helpers.

A rule is a small class with a stable code, Chinese and English titles, its legal basis, a severity, the action
it recommends and the names of the settings it reads. `check(devices, ctx)` takes the registry frame and the
audit context and returns finding rows built with `self.findings(...)`. Where the data a rule needs is missing
for a device, the rule says so with `self.cannot_assess(...)`: a device never passes silently.

A finding is one observation of a problem (问题) that lives across audit runs: the problem is identified by the
device, the rule and the finding's `evidence["key"]`, a short stable text naming the defect within that device and
rule (the neighbour's device code for a spacing pair, the day of a one-day spike, the first day of a level shift
or an outage, the certificate of a verification lapse); a rule with at most one problem per device leaves the key
out. `material_evidence` names the evidence fields whose change between two observations of the same problem
sends a reviewed problem back to review (say in each rule why); other evidence, such as counts that grow with
every day of data, may change freely.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Sequence

import numpy as np
import pandas as pd

from ..intake.columns import DEVICE_COLUMNS
from .profiles import SETTINGS, Profile, ProfileValue
from .schema import FINDING_COLUMNS, empty_findings

if TYPE_CHECKING:
    from .context import AuditContext

SEVERITIES = ("严重", "较重", "一般")
ACTIONS = {"停用": "suspend", "整改": "rectify", "核查": "review"}
CODE_PATTERN = re.compile(r"^[A-Z]{3}\d{2}$")
HEADERS = {c.key: c.header for c in DEVICE_COLUMNS}

# Device states on the as-of date (see `service_state`).
IN_USE, NOT_IN_USE, UNKNOWN = "in_use", "not_in_use", "unknown"
RETIRED = ("停用", "拆除")

BASIS_LAW_41 = "《中华人民共和国行政处罚法》第四十一条第一款"
BASIS_GUOFA_2024_5 = "国务院《关于进一步规范和监督罚款设定与实施的指导意见》（国发〔2024〕5号）"
BASIS_MPS_157 = "《道路交通安全违法行为处理程序规定》（公安部令第157号）"


class UndocumentedSettingError(KeyError):
    """A rule read a setting it does not declare, or one not documented in audit.rules.profiles.SETTINGS."""


class Rule:
    """Base class of the audit rules. Subclasses set the class attributes and implement `check`."""

    code: ClassVar[str]
    title_zh: ClassVar[str]
    title_en: ClassVar[str]
    basis: ClassVar[str]
    severity: ClassVar[str]
    action: ClassVar[str]
    settings: ClassVar[tuple[str, ...]] = ()
    material_evidence: ClassVar[tuple[str, ...]] = ()
    # Which devices the rule examines: "in_use" (on the as-of date), "not_retired" (in use or planned) or "all".
    # A run that did not examine a device cannot show its problem fixed (audit.casework.problems).
    examines: ClassVar[str] = "in_use"
    # Which devices a finding depends on: "department" (the device, its records and its department's data, so the
    # audit may run the rule on chunks of whole departments: audit.rules.chunks) or "audit" (devices of other
    # departments too: it runs once on every device, and reads the daily counts only through the service totals
    # each chunk computed, where uses_service_totals).
    reach: ClassVar[str] = "department"
    uses_service_totals: ClassVar[bool] = False

    def check(self, devices: pd.DataFrame, ctx: AuditContext) -> list[pd.DataFrame]:
        raise NotImplementedError

    # ---- running -------------------------------------------------------------------------------------

    def run(self, devices: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
        """The rule's findings in the fixed schema."""
        parts = [p for p in self.check(devices, ctx) if len(p)]
        if not parts:
            return empty_findings()
        out = pd.concat(parts, ignore_index=True)
        out["rule"] = self.code
        out["basis"] = self.basis_for(ctx.profile)
        out["profile"] = ctx.profile.name
        out["title_zh"] = self.title_zh
        out["title_en"] = self.title_en
        return out[FINDING_COLUMNS]

    def basis_for(self, profile: Profile) -> str:
        """The legal basis cited under `profile` (a rule whose basis depends on a local measure overrides this)."""
        return self.basis

    def setting(self, ctx: AuditContext, name: str) -> ProfileValue:
        """A threshold from the profile; only settings the rule declares and SETTINGS documents."""
        if name not in self.settings or name not in SETTINGS:
            raise UndocumentedSettingError(f"{self.code} reads setting {name!r}, which it does not declare "
                                           f"(settings={self.settings}) or which SETTINGS does not document")
        return ctx.profile.get(name)

    def thresholds(self, ctx: AuditContext, names: Sequence[str], device_types: pd.Series) -> list[dict[str, Any]]:
        """Per row, the thresholds used: {setting: {value, unit, source}} for the row's device type."""
        values = [self.setting(ctx, n) for n in names]
        by_type = {t: {v.name: v.threshold(t) for v in values} for t in pd.unique(device_types.dropna())}
        default = {v.name: v.threshold(None) for v in values}
        return [by_type.get(t, default) if isinstance(t, str) else default for t in device_types]

    # ---- building findings ---------------------------------------------------------------------------

    def findings(self, rows: pd.DataFrame, messages: Iterable[str], evidence: Iterable[dict[str, Any]],
                 threshold: Iterable[dict[str, Any] | None] | dict[str, Any] | None = None,
                 *, severity: str | None = None, action: str | None = None, is_plain: bool = False) -> pd.DataFrame:
        """Finding rows for `rows` (columns device_code, department), one message and evidence each.

        Evidence is converted to plain JSON values (see `plain`) unless the rule says it built it so (is_plain).
        """
        n = len(rows)
        if threshold is None or isinstance(threshold, dict):
            threshold = [threshold] * n
        frame = pd.DataFrame({
            "device_code": _objects(rows["device_code"]),
            "department": _objects(rows["department"]),
            "severity": severity or self.severity,
            "action": action or self.action,
            "message": list(messages),
            "evidence": list(evidence) if is_plain else [plain_dict(e) for e in evidence],
            "threshold": list(threshold),
        }, index=range(n))
        return frame

    def cannot_assess(self, rows: pd.DataFrame, missing: Sequence[str], what: str, reason: str | None = None,
                      extra: Iterable[dict[str, Any]] | None = None) -> pd.DataFrame:
        """One finding per device saying the rule cannot be assessed, and what to supply.

        missing: the empty device columns (keys); reason: the message instead, when the gap is not a column (no
        violation statistics, too few peers …); what: what cannot be judged; extra: more evidence per row.
        """
        n = len(rows)
        if n == 0:
            return empty_findings()
        if reason:
            message = f"无法审查：{reason}，无法判断{what}；请补充后重新审查。"
        else:
            message = f"无法审查：缺少{'、'.join(f'“{HEADERS.get(k, k)}”' for k in missing)}，无法判断{what}；请补填后重新审查。"
        base = {"cannot_assess": True, "missing": list(missing)} | ({"reason": reason} if reason else {})
        extras = list(extra) if extra is not None else [{}] * n
        return self.findings(rows, [message] * n, [base | e for e in extras], None, severity="一般", action="核查")

    def context_cannot_assess(self, departments: Iterable[str], what: str, reason: str,
                              todo: str) -> pd.DataFrame:
        """One finding per department (no device code) when data the rule needs is not loaded for it."""
        names = sorted({d for d in departments if isinstance(d, str)})
        rows = pd.DataFrame({"device_code": [None] * len(names), "department": names})
        return self.findings(rows, [f"无法审查：{reason}，无法判断{what}；请{todo}后重新审查。"] * len(names),
                             [{"cannot_assess": True, "reason": reason}] * len(names), None,
                             severity="一般", action="核查")

    @classmethod
    def describe(cls) -> dict[str, Any]:
        return {"code": cls.code, "title_zh": cls.title_zh, "title_en": cls.title_en, "basis": cls.basis,
                "severity": cls.severity, "action": cls.action, "action_en": ACTIONS[cls.action],
                "settings": list(cls.settings), "doc": (cls.__doc__ or "").strip()}


# ---- registry --------------------------------------------------------------------------------------------

_REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    """Class decorator: add a rule to the registry. Codes are unique and never reused."""
    if not CODE_PATTERN.match(getattr(cls, "code", "")):
        raise ValueError(f"rule code {getattr(cls, 'code', None)!r} must look like ABC01")
    if cls.code in _REGISTRY and _REGISTRY[cls.code] is not cls:
        raise ValueError(f"rule code {cls.code} is already registered by {_REGISTRY[cls.code].__name__}")
    if cls.severity not in SEVERITIES or cls.action not in ACTIONS:
        raise ValueError(f"{cls.code}: severity must be one of {SEVERITIES}, action one of {tuple(ACTIONS)}")
    _REGISTRY[cls.code] = cls
    return cls


def all_rules() -> list[Rule]:
    return [_REGISTRY[c]() for c in sorted(_REGISTRY)]


def get_rule(code: str) -> Rule:
    try:
        return _REGISTRY[code.upper()]()
    except KeyError:
        raise KeyError(f"没有编号为“{code}”的审查规则；可用：{'、'.join(sorted(_REGISTRY))}。") from None


# ---- helpers shared by the rules ----------------------------------------------------------------------

def _objects(series: pd.Series) -> list[Any]:
    return [None if _missing(v) else v for v in series.tolist()]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def plain(value: Any) -> Any:
    """A value as plain JSON: dates as 2024-06-21, numpy scalars as Python numbers, NaN/NaT as None."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return None if value != value else value
    if kind is dict:
        return plain_dict(value)
    if kind is list or kind is tuple:
        return [plain(v) for v in value]
    if _missing(value):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return plain(value.item())
    return value


def plain_dict(data: dict[str, Any]) -> dict[str, Any]:
    return {k: plain(v) for k, v in data.items()}


def fmt_dates(series: pd.Series) -> list[str]:
    """Dates as 2024-06-21 ('' when empty), vectorised."""
    return series.dt.strftime("%Y-%m-%d").fillna("").tolist()


def as_timestamp(day: dt.date | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(day).normalize()


def memo(ctx: AuditContext, key: str, compute: Callable[[], Any]) -> Any:
    """A value computed once per audit context (shared by the rules of one run)."""
    if key not in ctx.cache:
        ctx.cache[key] = compute()
    return ctx.cache[key]


def unsupplied(devices: pd.DataFrame, key: str) -> pd.Series:
    """True for devices whose uploads never had the column `key` at all (not an empty cell: a missing column).

    The rules report those devices as cannot-assess for what the column records; an empty cell in a column the
    department did fill in is the record saying nothing was done, and is a finding.
    """
    if "unsupplied" not in devices.columns:
        return pd.Series(False, index=devices.index)
    return devices["unsupplied"].map(lambda cols: isinstance(cols, (list, tuple)) and key in cols).astype(bool)


def blank(series: pd.Series) -> pd.Series:
    """True where a text cell is empty (None, NaN or only spaces)."""
    return series.isna() | (series.astype(object).where(series.notna(), "").astype(str).str.strip() == "")


def service_state(devices: pd.DataFrame, as_of: dt.date) -> pd.Series:
    """Whether each device is in use on the as-of date: IN_USE, NOT_IN_USE or UNKNOWN.

    Status 在用: in use unless its 启用日期 is after the as-of date. Status 拟建/停用/拆除: not in use.
    Status empty: in use when 启用日期 is on or before the as-of date, not in use when after, unknown when
    empty too (rules that apply to devices in use then report that they cannot assess the device).
    """
    day = as_timestamp(as_of)
    status = devices["status"].astype(object)
    started = devices["in_service_on"]
    state = np.full(len(devices), NOT_IN_USE, dtype=object)
    in_use_status = (status == "在用").to_numpy(dtype=bool)
    no_status = status.isna().to_numpy(dtype=bool)
    future = (started > day).to_numpy(dtype=bool)
    known_start = started.notna().to_numpy(dtype=bool)
    state[in_use_status & ~future] = IN_USE
    state[no_status & known_start & ~future] = IN_USE
    state[no_status & ~known_start] = UNKNOWN
    return pd.Series(state, index=devices.index)


def in_use_text(rows: pd.DataFrame) -> list[str]:
    """How a message says a device is in use: by its status, or by its 启用日期 when the status is empty."""
    return ["设备在用" if status == "在用" else f"设备“状态”为空，按启用日期 {start} 视为在用"
            for status, start in zip(rows["status"].tolist(), fmt_dates(rows["in_service_on"]))]


def device_states(devices: pd.DataFrame, ctx: AuditContext) -> pd.Series:
    return service_state(devices, ctx.as_of)


def unknown_state_findings(rule: Rule, devices: pd.DataFrame, ctx: AuditContext, what: str,
                           mask: pd.Series | None = None) -> pd.DataFrame:
    """Cannot-assess findings for devices whose in-use state is unknown (status and 启用日期 both empty)."""
    unknown = device_states(devices, ctx) == UNKNOWN
    if mask is not None:
        unknown &= mask
    return rule.cannot_assess(devices[unknown], ["status", "in_service_on"], what)


__all__ = ["Rule", "register", "all_rules", "get_rule", "FINDING_COLUMNS", "SEVERITIES", "ACTIONS",
           "UndocumentedSettingError", "service_state", "empty_findings", "IN_USE", "NOT_IN_USE", "UNKNOWN"]
