"""A department's answers to problems (说明/申辩) and the auditor's acceptance or rejection."""
from .views import bp

__all__ = ["bp"]
