"""The annual site review as the audit reads it: one row per assessment (device code, date, outcome)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Device, SiteAssessment


def load_assessments_frame(session: Session, codes: list[str] | None = None) -> pd.DataFrame:
    """device_code, assessed_on, outcome of every assessment (of the given devices, or all)."""
    query = (select(Device.device_code, SiteAssessment.assessed_on, SiteAssessment.outcome)
             .join(Device, Device.id == SiteAssessment.device_id).order_by(SiteAssessment.id))
    if codes is not None:
        query = query.where(Device.device_code.in_(codes))
    rows = session.execute(query).all()
    return pd.DataFrame(rows, columns=["device_code", "assessed_on", "outcome"])
