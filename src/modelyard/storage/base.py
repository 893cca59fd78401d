"""The object-store interface every backend implements (local folder, S3-compatible...).

Small on purpose, in the spirit of fsspec: list, stat, get, put, delete. Everything smarter
(parallelism, incremental sync, retries, verification) lives once in ``transfer``.

Errors: every backend raises ``StorageError`` subclasses that name the location and never
carry credentials. ``TransientError`` means "try again later" (the transfer engine retries
it with backoff); anything else is final. A missing object is ``FileNotFoundError`` (local
stores raise the builtin, remote ones ``NotFoundError``, which is both).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelyard.storage.transfer import TransferReport

Progress = Callable[[int], None]
"""Called with the number of bytes just moved (negative when a failed attempt is rolled
back, so the sum always equals the bytes that really arrived)."""


@dataclass(frozen=True)
class ObjectInfo:
    """One object. ``etag`` is whatever the backend uses to tell content apart (an MD5 for
    single-part S3 uploads, a multipart ETag, or None for the local folder store, which
    compares sizes and modification times instead)."""

    key: str
    size: int
    etag: str | None = None
    mtime: float | None = None


class StorageError(Exception):
    """A storage failure. The message names the location (``location``) and the reason, and
    never contains credentials, so it can go straight into job events and API responses.
    ``transient``: the store could not be reached or was overloaded (worth trying later), as
    opposed to a refusal (no such bucket, access denied) or a local problem."""

    transient: bool = False

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.location = location


class TransientError(StorageError):
    """A failure worth retrying (connection refused, timeout, 5xx, throttling)."""

    transient = True


class NotFoundError(StorageError, FileNotFoundError):
    """The object (or bucket) does not exist; also a FileNotFoundError so callers can treat
    local and remote stores alike."""


class TransferError(StorageError):
    """The transfer engine gave up (retries exhausted, a permanent error, or the final
    consistency check failed). ``report`` says what did arrive; ``transient`` is set when
    the cause was the store being unreachable."""

    def __init__(self, message: str, location: str | None = None,
                 report: TransferReport | None = None) -> None:
        super().__init__(message, location)
        self.report = report


class ObjectStore(ABC):
    """A flat namespace of buckets and keys. Keys use '/' and are already checked safe."""

    scheme: str = ""

    def url(self, bucket: str, key: str = "") -> str:
        """The user-facing location of ``bucket``/``key``, for messages."""
        if self.scheme == "file" or not bucket:
            return f"file:///{key}"
        return f"{self.scheme}://{bucket}/{key}"

    @abstractmethod
    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, recursively."""

    @abstractmethod
    def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        """The object, or None if it does not exist."""

    @abstractmethod
    def get(self, bucket: str, key: str, dest: Path, progress: Progress | None = None,
            *, size: int | None = None) -> None:
        """Downloads one object to ``dest`` (written to a temporary name, then renamed).
        ``size``, when the caller already knows it from a listing, saves a round trip."""

    @abstractmethod
    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        """Uploads one file; readers never see a partial object. The returned etag may be
        None when the backend does not report it cheaply."""

    @abstractmethod
    def delete(self, bucket: str, key: str) -> None:
        """Deletes one object; deleting a missing object is not an error."""

    def ensure_bucket(self, bucket: str) -> None:  # noqa: B027 - optional for backends
        """Creates the bucket if the backend supports it and it is missing."""

    def server_copy(self, src_bucket: str, src_key: str, bucket: str, key: str) -> bool:
        """Copies an object inside this store without moving bytes through us. Returns
        False when the backend cannot (the engine then copies via a temporary file)."""
        return False

    def local_etag(self, path: Path) -> str | None:
        """The etag this backend would give ``path`` once uploaded, or None if unknown
        (the transfer engine then compares sizes and modification times)."""
        return None

    def same_content(self, path: Path, info: ObjectInfo) -> bool | None:
        """Whether local ``path`` holds the content of ``info`` judged by etag (reads the
        file), or None when this backend has no content etag to compare."""
        if info.etag is None:
            return None
        etag = self.local_etag(path)
        return None if etag is None else etag == info.etag

    def close(self) -> None:  # noqa: B027 - optional for backends
        """Releases connections and threads; the store must not be used afterwards."""
