"""The JSON API: the same data and access rules as the pages."""
from .views import bp

__all__ = ["bp"]
