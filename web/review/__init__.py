"""问题审核: confirm or dismiss findings, decide per device (suspend, rectify, keep), follow the ledger."""
from .views import bp

__all__ = ["bp"]
