"""Container images without a daemon: pulled with skopeo, unpacked once with umoci."""

from modelyard.storage.images.store import ImageRecord, ImageStore
from modelyard.storage.images.tools import ImageError

__all__ = ["ImageError", "ImageRecord", "ImageStore"]
