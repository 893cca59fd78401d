"""S3-compatible object storage (AWS S3, Huawei OBS, MinIO, SeaweedFS): what every S3
client behind the object-store interface shares.

The wire clients live in their own modules, each a subclass of ``S3Store``:

- ``s3_lean.LeanS3Store``: our SigV4 client (``sigv4.py``), for a custom path-style
  endpoint with static keys, the self-hosted case;
- ``s3_boto.BotoS3Store``: botocore and s3transfer, for AWS's own endpoints,
  virtual-hosted buckets and credential chains;
- ``s3_obstore.ObstoreS3Store``: obstore, on trial (issue 21; see docs/storage.md).

``registry.store_for`` picks one. This module holds what does not depend on the client:
turning the store's answers into ``StorageError``s that name the location and never carry
credentials, the thread pool for the parts of large objects, and the S3 ETag arithmetic
(single-part MD5s and multipart ``md5-of-md5s-N``) the incremental rule compares against.
Clients retry once at most; the transfer engine owns retries, so that its backoff and
deadline are the only ones that apply.
"""

from __future__ import annotations

import builtins
import hashlib
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from modelyard.settings import S3Settings
from modelyard.storage.base import (
    NotFoundError,
    ObjectInfo,
    ObjectStore,
    Progress,
    StorageError,
    TransientError,
)

MiB = 1024 * 1024

_TRANSIENT_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests",
    "RequestThrottled", "RequestTimeout", "InternalError", "ServiceUnavailable",
    "OperationAborted", "500", "502", "503", "504",
})
_DENIED_CODES = frozenset({
    "AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch",
    "InvalidToken", "ExpiredToken", "AllAccessDisabled",
})
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_RANGE_MIN = 64 * MiB
"""Smallest range of a concurrent download: each range is a Python thread moving bytes,
and past a few of them they mostly fight over the GIL (8 ranges of 32 MiB took twice the
time and CPU of 2 of 128 MiB for 1 GiB on two cores)."""
# Part sizes other tools use by default, tried when recognising their multipart ETags.
_COMMON_PART_SIZES = (5 * MiB, 8 * MiB, 15 * MiB, 16 * MiB, 50 * MiB, 64 * MiB, 100 * MiB)


class _Cancelled(Exception):
    """Another part of the same object failed."""


class BucketNotFoundError(NotFoundError):
    """The bucket itself is missing (a typo, or it was never created)."""


class S3Store(ObjectStore):
    """One S3-compatible endpoint. ``scheme`` is what users wrote (``s3`` or ``obs``) and
    only shows in messages; the same bucket/key means the same object either way.
    Subclasses add the wire client (``client_error`` maps its exceptions)."""

    def __init__(self, s3: S3Settings, scheme: str = "s3", *,
                 multipart_threshold: int = 32 * MiB, multipart_chunksize: int = 32 * MiB,
                 max_concurrency: int = 4, connect_timeout: float = 10.0,
                 read_timeout: float = 60.0, max_connections: int | None = None) -> None:
        self.scheme = scheme
        self.endpoint_url = s3.endpoint_url
        self.multipart_threshold = multipart_threshold
        self.multipart_chunksize = multipart_chunksize
        self.max_concurrency = max_concurrency
        # Every engine worker and every part thread may hold a connection at once.
        self.max_connections = max_connections or max_concurrency + 8
        self._s3 = s3
        self._timeouts = (connect_timeout, read_timeout)
        self._secrets = [v.get_secret_value() for v in (s3.access_key_id, s3.secret_access_key)
                         if v is not None and v.get_secret_value()]
        style = s3.addressing_style
        self._style = "path" if style == "auto" and s3.endpoint_url else style
        self._region = s3.region
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scheme={self.scheme!r}, endpoint={self.endpoint_display!r})"

    @property
    def endpoint_display(self) -> str:
        """The endpoint for messages: without any user:password part."""
        if not self.endpoint_url:
            return "AWS S3"
        parts = urlsplit(self.endpoint_url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    # --- errors --------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def client_error(self, exc: BaseException, op: str, bucket: str,
                     key: str) -> StorageError | None:
        """The StorageError for an exception of this store's wire client, or None when
        ``exc`` is not one of them."""
        return None

    def error(self, exc: BaseException, op: str, bucket: str, key: str = "") -> StorageError:
        """Turns a client exception into a StorageError naming the location."""
        url = self.url(bucket, key)
        if isinstance(exc, StorageError):
            return exc
        mapped = self.client_error(exc, op, bucket, key)
        if mapped is not None:
            return mapped
        if isinstance(exc, ConnectionError | TimeoutError):
            return self.unreachable(op, bucket, key, type(exc).__name__)
        if isinstance(exc, OSError):
            raise exc  # a local disk problem: not ours to rename
        return StorageError(f"{op} {url} failed: {type(exc).__name__}: "
                            f"{self.redact(str(exc))}", url)

    def unreachable(self, op: str, bucket: str, key: str, why: str) -> TransientError:
        url = self.url(bucket, key)
        return TransientError(f"{op} {url}: cannot reach {self.endpoint_display}: {why}", url)

    def refusal(self, code: str, status: int, op: str, bucket: str, key: str) -> StorageError:
        """The store answered ``code`` (HTTP ``status``): busy, missing, denied or other."""
        url = self.url(bucket, key)
        what = f"{code or 'error'} (HTTP {status})" if status else (code or "error")
        if code in _TRANSIENT_CODES or status in (429, 500, 502, 503, 504):
            return TransientError(f"{op} {url}: the endpoint is busy or failing: {what}", url)
        if code == "NoSuchBucket":
            return BucketNotFoundError(
                f"{op} {url}: the bucket {bucket!r} does not exist at "
                f"{self.endpoint_display}", url)
        if code in _NOT_FOUND_CODES:
            return NotFoundError(f"{op} {url}: no such object", url)
        if code in _DENIED_CODES or status == 403:
            return StorageError(
                f"{op} {url}: access denied by {self.endpoint_display} ({code}); check "
                "the access key, the secret key and the bucket's permissions", url)
        return StorageError(f"{op} {url} failed: {what}", url)

    def delete(self, bucket: str, key: str) -> None:
        """Deleting a key that is not there is no error (S3's own rule); a missing bucket
        is."""
        try:
            self.delete_object(bucket, key)
        except Exception as exc:
            err = self.error(exc, "deleting", bucket, key)
            if not isinstance(err, NotFoundError) or self.is_missing_bucket(err):
                raise err from None

    def delete_object(self, bucket: str, key: str) -> None:
        """One DELETE on the wire: each client's own."""
        raise NotImplementedError

    @staticmethod
    def is_missing_bucket(err: StorageError) -> bool:
        return isinstance(err, BucketNotFoundError)

    # --- parts of large objects ----------------------------------------------------------

    @staticmethod
    def range_min() -> int:
        """The smallest range of a concurrent download (read at call time: tests lower
        it to get several ranges out of a small object)."""
        return _RANGE_MIN

    def _parts(self) -> ThreadPoolExecutor:
        """Threads for the parts of large objects, shared by all transfers of this store
        (parts never wait on other parts, so sharing cannot deadlock)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_concurrency,
                                                thread_name_prefix="modelyard-s3-part")
            return self._pool

    def run_parts(self, jobs: builtins.list[Callable[[], Any]]) -> builtins.list[Any]:
        """Runs part jobs concurrently; the first failure cancels the rest and is raised."""
        stop = threading.Event()

        def guarded(job: Callable[[], Any]) -> Any:
            if stop.is_set():
                raise _Cancelled
            return job()

        futures = [self._parts().submit(guarded, job) for job in jobs]
        try:
            return [f.result() for f in futures]
        except BaseException:
            stop.set()
            for f in futures:
                f.cancel()
            wait(futures)
            raise

    @staticmethod
    def locked(progress: Progress | None) -> Progress | None:
        """``progress`` made safe to call from several part threads at once."""
        if progress is None:
            return None
        lock = threading.Lock()

        def counted(n: int) -> None:
            with lock:
                progress(n)
        return counted

    # --- ETags ---------------------------------------------------------------------------

    def local_etag(self, path: Path) -> str | None:
        """The ETag S3 gives ``path`` when we upload it with our multipart settings."""
        size = path.stat().st_size
        if size < self.multipart_threshold:
            return _file_etags(path, [None])[0]
        chunk = adjust_chunksize(self.multipart_chunksize, size)
        return _file_etags(path, [chunk])[0]

    def same_content(self, path: Path, info: ObjectInfo) -> bool | None:
        """Compares by ETag. A multipart ETag (``md5-of-part-md5s-N``) depends on the part
        size the uploader chose, so ours and other tools' common sizes are tried, all in one
        pass over the file."""
        if info.etag is None:
            return None
        size = path.stat().st_size
        if size != info.size:
            return False
        if "-" not in info.etag:
            return _file_etags(path, [None])[0] == info.etag
        try:
            parts = int(info.etag.rsplit("-", 1)[1])
        except ValueError:
            return None
        if parts < 1:
            return None
        candidates = {adjust_chunksize(self.multipart_chunksize, size), *_COMMON_PART_SIZES}
        exact = math.ceil(size / parts)
        candidates.add(math.ceil(exact / MiB) * MiB)
        fitting = sorted(c for c in candidates if c > 0 and math.ceil(size / c) == parts)
        if not fitting:
            return None
        return info.etag in _file_etags(path, list(fitting))


def adjust_chunksize(chunk: int, size: int) -> int:
    """The part size for a file (s3transfer's rule, which every client here follows so
    that ETags stay predictable): at most 10000 parts, 5 MiB to 5 GiB each."""
    while math.ceil(size / chunk) > 10_000:
        chunk *= 2
    return max(5 * MiB, min(chunk, 5 * 1024 * MiB))


def strip_etag(raw: str | None) -> str | None:
    return raw.strip('"') if raw else None


class _PartHasher:
    """MD5s of consecutive ``part_size`` pieces of a stream, for multipart ETags."""

    def __init__(self, part_size: int) -> None:
        self.part_size = part_size
        self.digests: list[bytes] = []
        self._cur = hashlib.md5(usedforsecurity=False)
        self._filled = 0

    def update(self, block: bytes) -> None:
        view = memoryview(block)
        while view:
            take = min(len(view), self.part_size - self._filled)
            self._cur.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == self.part_size:
                self.digests.append(self._cur.digest())
                self._cur, self._filled = hashlib.md5(usedforsecurity=False), 0

    def etag(self) -> str:
        digests = self.digests + ([self._cur.digest()] if self._filled else [])
        joined = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
        return f"{joined}-{len(digests)}"


def _file_etags(path: Path, part_sizes: list[int | None]) -> list[str]:
    """S3 ETags of ``path`` for each part size (None: a single-part upload), reading once."""
    whole = hashlib.md5(usedforsecurity=False)
    hashers = {ps: _PartHasher(ps) for ps in part_sizes if ps is not None}
    with path.open("rb") as fh:
        while block := fh.read(MiB):
            whole.update(block)
            for h in hashers.values():
                h.update(block)
    return [whole.hexdigest() if ps is None else hashers[ps].etag() for ps in part_sizes]
