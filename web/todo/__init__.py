"""待办: what a department must do next (answers, rectification by deadline, data to supply)."""
from .views import bp

__all__ = ["bp"]
