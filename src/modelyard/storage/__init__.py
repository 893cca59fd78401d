"""Object storage (obs://, s3://, file://) and the one transfer engine that moves bytes."""

from modelyard.storage.base import (
    NotFoundError,
    ObjectInfo,
    ObjectStore,
    StorageError,
    TransferError,
    TransientError,
)
from modelyard.storage.registry import store_for
from modelyard.storage.transfer import TransferEngine, TransferReport

__all__ = [
    "NotFoundError",
    "ObjectInfo",
    "ObjectStore",
    "StorageError",
    "TransferEngine",
    "TransferError",
    "TransferReport",
    "TransientError",
    "store_for",
]
