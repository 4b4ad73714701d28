"""双随机抽查 in the browser: draw with a recorded seed, record the results, export the list."""
from .views import bp

__all__ = ["bp"]
