"""Object storage (obs://, s3://, file://) and the one transfer engine that moves bytes."""

from modelyard.storage.base import ObjectInfo, ObjectStore, TransientError
from modelyard.storage.registry import store_for
from modelyard.storage.transfer import TransferEngine, TransferReport

__all__ = [
    "ObjectInfo",
    "ObjectStore",
    "TransferEngine",
    "TransferReport",
    "TransientError",
    "store_for",
]
