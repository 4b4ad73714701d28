"""Sign in and out; the session user; the language switch."""
from .views import bp

__all__ = ["bp"]
