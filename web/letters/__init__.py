"""监督文书: the bureau's documents, numbered in the register."""
from .views import bp

__all__ = ["bp"]
