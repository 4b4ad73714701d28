"""The audit rules: one module per group; importing the package registers every rule."""
from . import calibration, capture, placement, publication, review, signage  # noqa: F401  (registers the rules)
from .base import FINDING_COLUMNS, Rule, all_rules, get_rule, register

__all__ = ["Rule", "all_rules", "get_rule", "register", "FINDING_COLUMNS"]
