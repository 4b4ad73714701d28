"""The findings schema and the rule set version: what every rule returns and every stored run records.

Both sides of the audit read these: the rules build findings in this schema; the engine, the stored runs and the
exports read it. Nothing here imports another part of camaudit.
"""
from __future__ import annotations

import pandas as pd

# Bump when a rule's logic changes so that stored runs say which rules produced them.
# 2025.2: PLC01 along roads, PLC02 per km of road. 2025.3: a count model per device (VIO02 spikes, VIO04 rises,
# VIO05 outages), SRV01 use out of service, cases at stake on REV/PUB/CAL findings, peers per day in service.
# 2025.4: ASR01 annual site review. 2025.5: the count model's reference per weekday; a day's count never moves
# its own expected count. 2025.6: VIO02 spends the budget with weights optimal for 5x spikes, balanced within each
# department; the dispersion caps residuals at 4 (not 3) standard deviations. 2025.7: SRV01 and the days in service
# count a decision's 停用/拆除 from the day after the decision. 2025.8: the count model's dispersion is robust to
# excess zeros (days off), and each day is judged by the dispersion of the other days (a spike does not widen it).
# 2025.9: VIO02's evidence states the dispersion its day was judged by (the p-value's), not the device's overall one.
RULESET_VERSION = "2025.9"

FINDING_COLUMNS = ["rule", "device_code", "department", "severity", "action", "message", "evidence", "basis",
                   "profile", "threshold", "title_zh", "title_en"]


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS})
