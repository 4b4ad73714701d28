"""工作方案: the supervision plan, where each department stands, and filing."""
from .views import bp

__all__ = ["bp"]
