"""设备列表 and 设备详情."""
from .views import bp

__all__ = ["bp"]
