"""The public, read-only list of where enforcement cameras are (电子技术监控设备设置地点公告); no login."""
from .views import bp

__all__ = ["bp"]
