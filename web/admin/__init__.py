"""用户管理 (admins only): add users, set 姓名/职务, change passwords, disable, enable and remove users."""
from .views import bp

__all__ = ["bp"]
