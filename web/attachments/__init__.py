"""Evidence files: upload to a device, and fetch a file or its thumbnail under the device's department scoping."""
from .views import bp

__all__ = ["bp"]
