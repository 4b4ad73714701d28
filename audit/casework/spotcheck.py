"""Spot checks (双随机一公开): devices and inspectors drawn at random, reproducibly, and the results recorded.

The draw is a pure function of the candidate list (devices in use, sorted by device code), the roster (sorted)
and the seed, so anyone holding the recorded seed and the same registry can redraw it and see it was fair;
the SHA-256 of the candidate codes is stored to show the registry was the same.
"""
from __future__ import annotations

import hashlib
import random
import secrets
from typing import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..registry.models import ChangeLog, Department, Device, SpotCheck, SpotCheckItem, utcnow
from .decisions import DecisionError

RESULTS = ("合格", "不合格", "未能检查")
INSPECTORS_PER_DEVICE = 2  # 行政处罚法 第四十二条: enforcement by no fewer than two officers



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


def candidate_counts(session: Session) -> dict[str, int]:
    """Devices in use per department name (the candidates a draw of that department would have)."""
    rows = session.execute(select(Department.name, func.count(Device.id)).join(Device)
                           .where(Device.status == "在用").group_by(Department.name)).all()
    return {name: int(n) for name, n in rows}


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


__all__ = ["SpotCheck", "SpotCheckItem", "RESULTS", "draw", "draw_codes", "record_result", "candidates",
           "candidate_counts", "digest"]
