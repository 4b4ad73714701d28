"""Casework: what people decide about findings and devices.

Owns reviews and decisions (decisions), the rectification ledger (ledger) and spot checks (spotcheck). May
import rules, registry, intake and geo.
"""
