"""上传: template download, upload with a dry run and its report, then a confirm step that applies the file."""
from .views import bp

__all__ = ["bp"]
