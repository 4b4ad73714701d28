"""总览: counts of open findings, overdue ledger items, the supervision phase; running the audit."""
from .views import bp

__all__ = ["bp"]
