"""Device filters from the query string, shared by the list, its CSV export, the map and the API."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import Select
from sqlalchemy.orm import Session

from audit.casework.devicelist import DeviceCriteria
from audit.intake.columns import DEVICE_TYPES, STATUSES
from audit.rules.base import CODE_PATTERN

from ..access import requested_department, scope_devices
from ..findings import SEVERITIES, open_findings


class DeviceFilter(DeviceCriteria):
    """The list's criteria (audit.casework.devicelist) as the request gives them."""

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "DeviceFilter":
        """Unknown values are ignored, except another department's id, which answers 404."""
        device_type, status = args.get("type", ""), args.get("status", "")
        rule, severity = str(args.get("rule", "")).upper(), args.get("severity", "")
        return cls(q=str(args.get("q", "")).strip()[:100],
                   department_id=requested_department(args.get("department")),
                   device_type=device_type if device_type in DEVICE_TYPES else "",
                   status=status if status in STATUSES else "",
                   rule=rule if CODE_PATTERN.match(rule) else "",
                   severity=severity if severity in SEVERITIES else "",
                   pending=args.get("pending") == "1", unassessed=args.get("unassessed") == "1")

    def apply(self, query: Select[Any]) -> Select[Any]:
        """The filters on the registry itself (department, type, status, text), in SQL, within what the current
        user sees."""
        return scope_devices(query).where(*self.registry_conditions())

    def finding_ids(self, db: Session) -> set[int] | None:
        """Devices with an open finding of the rule/severity asked for and, if asked, a cannot-assess finding
        (None: no such filter), applied in Python."""
        if not (self.rule or self.severity or self.unassessed):
            return None
        found = open_findings(db)
        ids = found.device_ids(self.rule, self.severity) if (self.rule or self.severity) else None
        if self.unassessed:
            ids = found.unassessed_devices if ids is None else ids & found.unassessed_devices
        return ids

    def args(self) -> dict[str, Any]:
        """The filter as query-string arguments (for links that keep it)."""
        out = {"q": self.q, "department": self.department_id, "type": self.device_type, "status": self.status,
               "rule": self.rule, "severity": self.severity, "pending": "1" if self.pending else "",
               "unassessed": "1" if self.unassessed else ""}
        return {k: v for k, v in out.items() if v not in ("", None)}
