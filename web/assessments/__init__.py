"""年度评估: the annual site review of the devices in use."""
from .views import bp

__all__ = ["bp"]
