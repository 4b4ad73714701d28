"""Rules: the audit.

Owns the rule set (base, one module per group of rules; importing the package registers every rule), the
findings schema and rule set version (schema), the thresholds (profiles), the audit context (context), the run
itself (engine) and stored runs (findings). May import registry, intake and geo; never casework, exports or cli.
"""
# Importing the rule modules registers the rules.
from . import calibration, capture, detection, placement, publication, review, service, signage  # noqa: F401
from .base import Rule, all_rules, get_rule, register
from .schema import FINDING_COLUMNS

__all__ = ["Rule", "all_rules", "get_rule", "register", "FINDING_COLUMNS"]
