"""The algorithm gallery (seed S1.1): publish, browse, subscribe, train from a subscription."""

from modelyard.service.gallery.builtin import DIGITS_ID, ensure_builtin_assets
from modelyard.service.gallery.service import GalleryService

__all__ = ["DIGITS_ID", "GalleryService", "ensure_builtin_assets"]
