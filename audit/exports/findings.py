"""findings: a run's findings for GIS users, as GeoJSON (points in WGS-84) or CSV (UTF-8 with BOM for Excel)."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..intake.xlsxsafe import csv_safe
from ..registry.models import REVIEW_ZH
from .data import Entry, Options, check_department, problems, resolve_run, rule_title

KEYS = ("finding_id", "run_id", "as_of", "rule", "title", "device_code", "department", "device_type", "road",
        "device_status", "severity", "action", "message", "evidence", "basis", "threshold", "review",
        "handling")


def records(session: Session, opts: Options) -> list[tuple[dict[str, Any], tuple[float, float] | None]]:
    check_department(session, opts.department)
    run = resolve_run(session, opts.run_id, opts.department)
    titles: dict[str, str] = {}
    out = []
    for p in problems(session, run, opts.department):
        f, dev = p.finding, p.device
        if f.rule not in titles:
            titles[f.rule] = rule_title(f.rule)
        props = {"finding_id": f.id, "run_id": run.id, "as_of": run.as_of.isoformat(), "rule": f.rule,
                 "title": titles[f.rule], "device_code": f.device_code, "department": f.department,
                 "device_type": dev.device_type if dev else None, "road": dev.road if dev else None,
                 "device_status": dev.status if dev else None, "severity": f.severity, "action": f.action,
                 "message": f.message, "evidence": f.evidence, "basis": f.basis, "threshold": f.threshold,
                 "review": REVIEW_ZH.get(p.review or "", "未核查"), "handling": _handling(p)}
        point = (dev.lon, dev.lat) if dev is not None and dev.lon is not None and dev.lat is not None else None
        out.append((props, point))
    return out


def _handling(p: Entry) -> str:
    return "无法审查" if p.cannot_assess else p.handling.status_text(p.device)


def write_geojson_file(session: Session, path: Path, opts: Options) -> Path:
    features = [{"type": "Feature", "id": props["finding_id"],
                 "geometry": {"type": "Point", "coordinates": list(point)} if point else None,
                 "properties": props}
                for props, point in records(session, opts)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def write_csv_file(session: Session, path: Path, opts: Options) -> Path:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*KEYS, "lon", "lat"])
        for props, point in records(session, opts):
            values = [json.dumps(props[k], ensure_ascii=False) if isinstance(props[k], (dict, list)) else props[k]
                      for k in KEYS]
            writer.writerow([csv_safe(v) for v in values] + (list(point) if point else ["", ""]))
    return path
