"""设备地图."""
from .views import bp

__all__ = ["bp"]
