"""The object-store interface every backend implements (local folder, S3-compatible...).

Small on purpose, in the spirit of fsspec: list, stat, get, put, delete. Everything smarter
(parallelism, incremental sync, retries, verification) lives once in ``transfer``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[int], None]
"""Called with the number of bytes just moved."""


@dataclass(frozen=True)
class ObjectInfo:
    """One object. ``etag`` is whatever the backend uses to tell content apart (an MD5 for
    single-part S3 uploads, a multipart ETag, or a content hash for the local store)."""

    key: str
    size: int
    etag: str | None = None
    mtime: float | None = None


class TransientError(Exception):
    """A failure worth retrying (connection refused, timeout, 5xx, throttling)."""


class ObjectStore(ABC):
    """A flat namespace of buckets and keys. Keys use '/' and are already checked safe."""

    scheme: str = ""

    @abstractmethod
    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, recursively."""

    @abstractmethod
    def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        """The object, or None if it does not exist."""

    @abstractmethod
    def get(self, bucket: str, key: str, dest: Path, progress: Progress | None = None) -> None:
        """Downloads one object to ``dest`` (written to a temporary name, then renamed)."""

    @abstractmethod
    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        """Uploads one file; readers never see a partial object."""

    @abstractmethod
    def delete(self, bucket: str, key: str) -> None:
        """Deletes one object; deleting a missing object is not an error."""

    def ensure_bucket(self, bucket: str) -> None:  # noqa: B027 - optional for backends
        """Creates the bucket if the backend supports it and it is missing."""

    def local_etag(self, path: Path) -> str | None:
        """The etag this backend would give ``path`` once uploaded, or None if unknown
        (the transfer engine then compares sizes and modification times)."""
        return None
