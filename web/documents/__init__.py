"""文书导出: the documents of audit.exports, chosen on a form and sent as a download."""
from .views import bp

__all__ = ["bp"]
