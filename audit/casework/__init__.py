"""Casework: what people decide about findings and devices.

Owns problems and their reviews (problems), decisions (decisions), the rectification ledger (ledger), departments'
answers (responses), evidence files (attachments), a department's to-do list (todo) and spot checks (spotcheck). May
import rules, registry, intake and geo.
"""
