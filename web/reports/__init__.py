"""报告: the reports generated from the data, their texts edited before filing."""
from .views import bp

__all__ = ["bp"]
