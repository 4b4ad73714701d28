"""The spot-check list (“双随机”抽查名单): the drawn devices, their inspectors and the recorded results."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from ..registry.models import SpotCheck
from ..registry.users import signatures
from .common import Col, Table, write_xlsx
from .data import ExportError


def spot_check_table(session: Session, spot_check_id: int, day: dt.date | None = None) -> Table:
    check = session.get(SpotCheck, spot_check_id)
    if check is None:
        raise ExportError(f"没有第 {spot_check_id} 次抽查记录。")
    columns = (Col("序号", 6, kind="int"), Col("设备编号", 14, kind="center"), Col("单位", 18),
               Col("设备类型", 10, "设备情况", kind="center"), Col("道路名称", 14, "设备情况"),
               Col("设置地点", 26, "设备情况"), Col("检查人员", 16, kind="center"),
               Col("检查结果", 10, "检查情况", kind="center"), Col("情况说明", 26, "检查情况"),
               Col("记录人", 10, "检查情况", kind="center"))
    signed = signatures(session)
    rows = [[n, i.device_code, i.device.department.name, i.device.device_type, i.device.road, i.device.address,
             "、".join(i.inspectors), i.result, i.note, signed.get(i.recorded_by, i.recorded_by)]
            for n, i in enumerate(check.items, start=1)]
    notes = [f"说明：随机种子 {check.seed}；从{check.department or '全部单位'}在用设备 {check.candidate_count} 台"
             f"（按设备编号排序，SHA-256 {check.candidate_digest}）中抽取 {len(rows)} 台，从检查人员名录 "
             f"{len(check.roster)} 人中抽取 {len(check.inspectors)} 人；"
             f"用同一设备清单、名录和随机种子可复现本次抽取结果（audit.casework.spotcheck.draw_codes）。"]
    return Table(title="非现场执法设备“双随机”抽查名单", columns=columns, rows=rows, unit=check.department or "",
                 date=day or check.created_at.date(), attachment=None, sheet_name="抽查名单", notes=notes)


def export_spot_check(session: Session, spot_check_id: int, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ExportError("抽查名单只能导出为 .xlsx 文件。")
    return write_xlsx(path, [spot_check_table(session, spot_check_id)])
