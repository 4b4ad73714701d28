"""The change log in words: each entry as an operation a person recognises and rows of field: before → after.

The log itself (models.ChangeLog) keeps the keys the code writes (create, update, missing …, English field keys,
JSON snapshots); pages and the command line show `describe(entry)` instead.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from ..intake.columns import DEVICE_COLUMNS, VERIFICATION_COLUMNS
from .models import DECISION_ZH, ChangeLog
from .users import ROLE_ZH

DEVICE_LABELS = {c.key: c.header for c in DEVICE_COLUMNS} | {"raw_lon": "原始经度", "raw_lat": "原始纬度"}
VERIFICATION_LABELS = {c.key: c.header for c in VERIFICATION_COLUMNS}
UPLOAD_LABEL = "登记表上传"
LABELS = {  # entity → field key → label
    "device": DEVICE_LABELS | {"missing_since_batch_id": "重新上传（原待核实）"},
    "verification_record": VERIFICATION_LABELS,
    "ledger_item": {"status": "整改状态"},
    "finding": {"review": "核查结论"},
    "problem": {"review": "核查结论"},
    "problem_response": {"response": "单位答复"},
    "attachment": {"purpose": "附件"},
    "spot_check_item": {"result": "检查结果"},
    "department": {"boundary": "辖区边界"},
    "user": {"role": "用户"},
}
DECISION_LABELS = {"decided_on": "决定日期", "reason": "理由", "findings": "依据的问题"}

# (entity, action) → operation; decisions (suspend, rectify …) are named from DECISION_ZH.
OPERATIONS = {
    ("device", "create"): "新增设备",
    ("device", "update"): "修改登记信息",
    ("device", "missing"): "未出现在上传的登记表中（待核实）",
    ("device", "reappear"): "重新出现在上传的登记表中",
    ("verification_record", "update"): "修改检定记录",
    ("ledger_item", "create"): "列入整改台账",
    ("ledger_item", "ledger"): "整改台账办理",
    ("finding", "review"): "问题核查",
    ("problem", "review"): "问题核查",
    ("problem_response", "respond"): "单位说明、申辩",
    ("problem_response", "accept"): "采纳单位答复",
    ("problem_response", "reject"): "不予采纳单位答复",
    ("attachment", "attach"): "上传附件",
    ("spot_check", "draw"): "抽取抽查设备",
    ("spot_check_item", "spot_check"): "记录抽查结果",
    ("department", "boundary"): "加载辖区边界",
    ("user", "create"): "新增用户",
}
OTHER_OPERATION = "其他变更"


@dataclass
class FieldChange:
    """label: before → after; edit False for a value recorded once (a new device's fields, a decision's reason)."""

    label: str
    before: str = ""
    after: str = ""
    edit: bool = False


@dataclass
class Change:
    """One log entry as shown: when, who, in which upload batch, what was done, and the fields it changed."""

    at: dt.datetime
    user: str
    batch_id: int | None
    operation: str
    fields: list[FieldChange] = field(default_factory=list)


def operation_name(entity: str, action: str) -> str:
    if action in DECISION_ZH and entity in ("decision", "device"):
        return f"{DECISION_ZH[action]}决定" if entity == "decision" else f"{DECISION_ZH[action]}（状态变更）"
    return OPERATIONS.get((entity, action), OTHER_OPERATION)


def value_text(value: Any) -> str:
    """A stored value in words: booleans 是/否, None empty, lists joined with 、."""
    if value is None:
        return ""
    if isinstance(value, bool) or value in ("True", "False"):
        return "是" if value in (True, "True") else "否"
    if isinstance(value, list):
        return "、".join(value_text(v) for v in value)
    return str(value)


def _snapshot(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text or "")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def field_label(entity: str, key: str | None) -> str:
    """The Chinese name of a logged field (设备名称 for a device's name)."""
    if key is None:
        return ""
    return LABELS.get(entity, {}).get(key) or DEVICE_LABELS.get(key) or key


def _fields(entry: ChangeLog) -> list[FieldChange]:
    entity, action = entry.entity, entry.action
    if entity == "device" and action == "create":
        data = _snapshot(entry.after)
        order = [k for k in DEVICE_LABELS if k in data] + [k for k in data if k not in DEVICE_LABELS]
        return [FieldChange(field_label(entity, k), "", value_text(data[k])) for k in order]
    if entity == "decision":
        data = _snapshot(entry.after)
        if "findings" in data:  # "id:rule" pairs: the rules are what a reader needs
            data["findings"] = [str(f).partition(":")[2] or str(f) for f in data["findings"]]
        return [FieldChange(DECISION_LABELS.get(k, k), "", value_text(v)) for k, v in data.items() if v not in ("", [])]
    if action == "missing":
        return [FieldChange(UPLOAD_LABEL, "已上传", f"第 {entry.after} 批上传的登记表中没有该设备，待核实", True)]
    if action == "reappear":
        return [FieldChange(UPLOAD_LABEL, f"第 {entry.before} 批上传的登记表中没有该设备", "已重新上传", True)]
    if entity == "user" and entry.after:
        name, _, rest = entry.after.partition(":")
        role, _, dept = rest.partition("@")
        return [FieldChange("用户", "", f"{name}（{ROLE_ZH.get(role, role)}{'，' + dept if dept else ''}）")]
    if entity in ("attachment", "problem_response"):  # recorded once: what was given or answered
        return [FieldChange(field_label(entity, entry.field), "", value_text(entry.after))]
    if entity == "spot_check" and entry.after:
        return [FieldChange("抽查", "", entry.after.replace("seed=", "随机种子 "))]
    return [FieldChange(field_label(entity, entry.field), value_text(entry.before), value_text(entry.after), True)]


def describe(entry: ChangeLog) -> Change:
    return Change(entry.at, entry.user, entry.batch_id, operation_name(entry.entity, entry.action), _fields(entry))


__all__ = ["Change", "FieldChange", "describe", "field_label", "operation_name", "value_text", "OPERATIONS"]
