"""Spot checks (双随机一公开): devices and inspectors drawn at random, reproducibly, and the results recorded.

The draw is a pure function of the candidate list (devices in use, sorted by device code), the roster (sorted)
and the seed, so anyone holding the recorded seed and the same registry can redraw it and see it was fair;
the SHA-256 of the candidate codes is stored to show the registry was the same.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
import secrets
from pathlib import Path
from typing import Any, Optional, Sequence

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from ..exports.common import Col, Table, write_xlsx
from ..registry.models import Base, ChangeLog, Department, Device, utcnow
from .decisions import DecisionError

RESULTS = ("合格", "不合格", "未能检查")
INSPECTORS_PER_DEVICE = 2  # 行政处罚法 第四十二条: enforcement by no fewer than two officers


class SpotCheck(Base):
    __tablename__ = "spot_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    department: Mapped[Optional[str]] = mapped_column(String(200), default=None)
    candidate_count: Mapped[int]
    candidate_digest: Mapped[str] = mapped_column(String(64))
    roster: Mapped[list[Any]] = mapped_column(JSON, default=list)
    inspectors: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the team drawn from the roster
    user: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    items: Mapped[list["SpotCheckItem"]] = relationship(order_by="SpotCheckItem.id", back_populates="spot_check")

    @property
    def device_ids(self) -> list[int]:
        return [i.device_id for i in self.items]

    @property
    def assignment(self) -> dict[str, list[str]]:
        return {i.device_code: list(i.inspectors) for i in self.items}


class SpotCheckItem(Base):
    __tablename__ = "spot_check_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(ForeignKey("spot_check.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    device_code: Mapped[str] = mapped_column(String(100))
    inspectors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    result: Mapped[Optional[str]] = mapped_column(String(10), default=None)
    note: Mapped[Optional[str]] = mapped_column(Text, default=None)
    recorded_by: Mapped[Optional[str]] = mapped_column(String(100), default=None)
    recorded_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, default=None)

    spot_check: Mapped[SpotCheck] = relationship(back_populates="items")
    device: Mapped[Device] = relationship()


def digest(codes: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(codes).encode("utf-8")).hexdigest()


def draw_codes(candidates: Sequence[str], roster: Sequence[str], *, devices: int, team_size: int,
               seed: int) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """The draw itself: (devices drawn, inspectors drawn, device → its two inspectors).

    Candidates and roster are sorted first, so the result depends only on their contents and the seed. Each
    device gets two inspectors from the drawn team, rotating through a shuffled team so work is shared evenly.
    """
    pool, names = sorted(set(candidates)), sorted(set(roster))
    rng = random.Random(seed)
    chosen = rng.sample(pool, devices)
    team = rng.sample(names, team_size)
    order = rng.sample(team, len(team))
    assignment = {code: [order[(INSPECTORS_PER_DEVICE * k + j) % len(order)] for j in range(INSPECTORS_PER_DEVICE)]
                  for k, code in enumerate(chosen)}
    return chosen, team, assignment


def candidates(session: Session, department: str | None = None) -> list[Device]:
    """Devices in use (在用), sorted by device code."""
    query = select(Device).where(Device.status == "在用").order_by(Device.device_code)
    if department:
        query = query.join(Department).where(Department.name == department)
    return list(session.scalars(query))


def draw(session: Session, *, devices: int, inspectors: list[str], seed: int | None, department: str | None = None,
         user: str, team_size: int | None = None) -> SpotCheck:
    """Draw `devices` devices in use and a team of `team_size` inspectors (default: the whole roster)."""
    if seed is not None and not 0 <= int(seed) < 2**63:
        raise DecisionError(f"随机种子须为 0 至 {2**63 - 1} 之间的整数。")
    roster = sorted({name.strip() for name in inspectors if name and name.strip()})
    team_size = len(roster) if team_size is None else team_size
    if department and session.scalar(select(Department.id).where(Department.name == department)) is None:
        raise DecisionError(f"没有名为“{department}”的单位。")
    pool = candidates(session, department)
    if devices < 1:
        raise DecisionError("抽查设备数须至少为 1。")
    if devices > len(pool):
        raise DecisionError(f"{'“' + department + '”' if department else ''}在用设备只有 {len(pool)} 台，"
                            f"不能抽取 {devices} 台。")
    if team_size < INSPECTORS_PER_DEVICE:
        raise DecisionError(f"每台设备须由至少 {INSPECTORS_PER_DEVICE} 名执法检查人员检查，抽取人数不能少于 "
                            f"{INSPECTORS_PER_DEVICE}。")
    if team_size > len(roster):
        raise DecisionError(f"检查人员名录只有 {len(roster)} 人，不能抽取 {team_size} 人。")
    if not (user or "").strip():
        raise DecisionError("请填写操作人。")
    seed = secrets.randbits(32) if seed is None else int(seed)
    codes = [d.device_code for d in pool]
    chosen, team, assignment = draw_codes(codes, roster, devices=devices, team_size=team_size, seed=seed)
    by_code = {d.device_code: d for d in pool}
    check = SpotCheck(seed=seed, department=department or None, candidate_count=len(pool),
                      candidate_digest=digest(codes), roster=roster, inspectors=team, user=user.strip())
    session.add(check)
    session.flush()
    for code in chosen:
        session.add(SpotCheckItem(spot_check_id=check.id, device_id=by_code[code].id, device_code=code,
                                  inspectors=assignment[code]))
    session.add(ChangeLog(user=user.strip(), entity="spot_check", entity_id=check.id, action="draw",
                          after=f"seed={seed} 候选{len(pool)}台 抽取{devices}台 人员{'、'.join(team)}"))
    session.flush()
    session.refresh(check)
    return check


def record_result(session: Session, spot_check_id: int, device_id: int, *, result: str, note: str | None,
                  user: str) -> SpotCheckItem:
    """Record what the inspectors found at one drawn device; a changed result keeps the old one in the log."""
    item = session.scalar(select(SpotCheckItem).where(SpotCheckItem.spot_check_id == spot_check_id,
                                                      SpotCheckItem.device_id == device_id))
    if item is None:
        raise DecisionError(f"第 {spot_check_id} 次抽查没有抽到该设备。")
    if result not in RESULTS:
        raise DecisionError(f"检查结果应为：{'、'.join(RESULTS)}。")
    note = (note or "").strip() or None
    if result != "合格" and note is None:
        raise DecisionError(f"检查结果为“{result}”时须写明情况。")
    if not (user or "").strip():
        raise DecisionError("请填写记录人。")
    before = f"{item.result}：{item.note}" if item.note else item.result
    item.result, item.note, item.recorded_by, item.recorded_at = result, note, user.strip(), utcnow()
    session.add(ChangeLog(user=user.strip(), entity="spot_check_item", entity_id=item.id,
                          device_code=item.device_code, action="spot_check", field="result", before=before,
                          after=f"{result}：{note}" if note else result))
    session.flush()
    return item


def spot_check_table(session: Session, spot_check_id: int, day: dt.date | None = None) -> Table:
    check = session.get(SpotCheck, spot_check_id)
    if check is None:
        raise DecisionError(f"没有第 {spot_check_id} 次抽查记录。")
    columns = (Col("序号", 6, kind="int"), Col("设备编号", 14, kind="center"), Col("单位", 18),
               Col("设备类型", 10, "设备情况", kind="center"), Col("道路名称", 14, "设备情况"),
               Col("设置地点", 26, "设备情况"), Col("检查人员", 16, kind="center"),
               Col("检查结果", 10, "检查情况", kind="center"), Col("情况说明", 26, "检查情况"),
               Col("记录人", 10, "检查情况", kind="center"))
    rows = [[n, i.device_code, i.device.department.name, i.device.device_type, i.device.road, i.device.address,
             "、".join(i.inspectors), i.result, i.note, i.recorded_by] for n, i in enumerate(check.items, start=1)]
    notes = [f"说明：随机种子 {check.seed}；从{check.department or '全部单位'}在用设备 {check.candidate_count} 台"
             f"（按设备编号排序，SHA-256 {check.candidate_digest}）中抽取 {len(rows)} 台，从检查人员名录 "
             f"{len(check.roster)} 人中抽取 {len(check.inspectors)} 人；"
             f"用同一设备清单、名录和随机种子可复现本次抽取结果（audit.spotcheck.draw_codes）。"]
    return Table(title="非现场执法设备“双随机”抽查名单", columns=columns, rows=rows, unit=check.department or "",
                 date=day or check.created_at.date(), attachment=None, sheet_name="抽查名单", notes=notes)


def export_spot_check(session: Session, spot_check_id: int, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise DecisionError("抽查名单只能导出为 .xlsx 文件。")
    return write_xlsx(path, [spot_check_table(session, spot_check_id)])


__all__ = ["SpotCheck", "SpotCheckItem", "RESULTS", "draw", "draw_codes", "record_result", "candidates",
           "export_spot_check", "spot_check_table", "digest"]
