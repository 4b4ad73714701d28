"""整改台账: the rectification ledger, its comparison with the latest audit, and the steps taken on each item."""
from .views import bp

__all__ = ["bp"]
