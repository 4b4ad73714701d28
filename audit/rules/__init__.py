"""Rules: the audit.

Owns the rule set (base, one module per group of rules; importing the package registers every rule), the
findings schema and rule set version (schema), the thresholds (profiles), the audit context (context), the run
itself (engine) and stored runs (findings). May import registry, intake and geo; never casework, exports or cli.
"""
from . import calibration, capture, placement, publication, review, signage, site_review  # noqa: F401  (registers the rules)
from .base import Rule, all_rules, get_rule, register
from .schema import FINDING_COLUMNS

__all__ = ["Rule", "all_rules", "get_rule", "register", "FINDING_COLUMNS"]
