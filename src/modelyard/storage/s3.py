"""S3-compatible object storage (AWS S3, Huawei OBS, MinIO, SeaweedFS).

Two clients, one store:

- single-object requests (list, head, put, get, delete of objects below the multipart
  threshold) go through ``sigv4.SigV4Client`` when we can sign ourselves (a custom
  path-style endpoint with static keys, the self-hosted case): botocore costs 3-5 ms of CPU
  per request, which decided the small-file benchmark, and importing boto3 costs a second
  at every process start;
- everything else goes through boto3: multipart uploads and ranged, concurrent downloads of
  large files by s3transfer's TransferManager (streaming from and to disk, so no large file
  is ever held in memory), server-side copies, and AWS's own endpoints and credential
  chains. boto3 is imported the first time it is needed.

botocore retries once at most; the transfer engine owns retries, so that its backoff and
deadline are the only ones that apply. Credentials go to the two clients and nowhere else:
errors are rebuilt from the error code and the location, and any text we pass on is
scrubbed of the keys first.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO
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
from modelyard.storage.local import atomic_file
from modelyard.storage.sigv4 import S3Failure, SigV4Client

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
    only shows in messages; the same bucket/key means the same object either way."""

    def __init__(self, s3: S3Settings, scheme: str = "s3", *,
                 multipart_threshold: int = 32 * MiB, multipart_chunksize: int = 32 * MiB,
                 max_concurrency: int = 4, connect_timeout: float = 10.0,
                 read_timeout: float = 60.0, fast_path: bool = True,
                 max_connections: int | None = None) -> None:
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
        self._fast: SigV4Client | None = None
        if (fast_path and s3.endpoint_url and self._style == "path" and s3.access_key_id
                and s3.secret_access_key):
            self._fast = SigV4Client(
                s3.endpoint_url, s3.region or "us-east-1",
                s3.access_key_id.get_secret_value(), s3.secret_access_key.get_secret_value(),
                max_connections=self.max_connections, connect_timeout=connect_timeout,
                read_timeout=read_timeout)
        self._client: Any = None
        self._tm: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Store(scheme={self.scheme!r}, endpoint={self.endpoint_display!r})"

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

    @property
    def client(self) -> Any:
        """The botocore S3 client, created (and boto3 imported) on first use."""
        with self._lock:
            if self._client is None:
                from botocore.config import Config

                s3 = self._s3
                config = Config(
                    s3={"addressing_style": self._style},
                    signature_version="s3v4",
                    retries={"total_max_attempts": 2, "mode": "standard"},
                    max_pool_connections=self.max_connections,
                    connect_timeout=self._timeouts[0],
                    read_timeout=self._timeouts[1],
                    tcp_keepalive=True,
                    parameter_validation=False,
                )
                self._client = _new_client(
                    "s3", endpoint_url=s3.endpoint_url, config=config,
                    region_name=s3.region or "us-east-1",
                    aws_access_key_id=_secret(s3.access_key_id),
                    aws_secret_access_key=_secret(s3.secret_access_key),
                )
            return self._client

    def _manager(self) -> Any:
        client = self.client
        with self._lock:
            if self._tm is None:
                from s3transfer.manager import TransferConfig, TransferManager

                config = TransferConfig(
                    multipart_threshold=self.multipart_threshold,
                    multipart_chunksize=self.multipart_chunksize,
                    max_request_concurrency=self.max_concurrency,
                    max_submission_concurrency=min(self.max_concurrency, 8),
                    io_chunksize=1 * MiB,
                    max_in_memory_upload_chunks=max(4, self.max_concurrency),
                    max_in_memory_download_chunks=max(4, self.max_concurrency),
                    num_download_attempts=1,
                )
                self._tm = TransferManager(client, config)
            return self._tm

    def close(self) -> None:
        if self._fast is not None:
            self._fast.close()
        with self._lock:
            if self._tm is not None:
                self._tm.shutdown(cancel=True)
                self._tm = None
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    # --- errors --------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def error(self, exc: BaseException, op: str, bucket: str, key: str = "") -> StorageError:
        """Turns a client exception into a StorageError naming the location."""
        url = self.url(bucket, key)
        if isinstance(exc, StorageError):
            return exc
        if isinstance(exc, S3Failure):
            if exc.status:
                return self._refusal(exc.code, exc.status, op, bucket, key)
            if exc.cause is None and exc.code == "FileChangedWhileReading":
                return StorageError(f"{op} {url}: the file changed while it was read", url)
            return TransientError(
                f"{op} {url}: cannot reach {self.endpoint_display}: {exc.code}", url)
        if isinstance(exc, ConnectionError | TimeoutError):
            return TransientError(
                f"{op} {url}: cannot reach {self.endpoint_display}: {type(exc).__name__}", url)
        module = type(exc).__module__
        if module.startswith(("botocore", "s3transfer", "urllib3")):
            return self._boto_error(exc, op, bucket, key)
        if isinstance(exc, OSError):
            raise exc  # a local disk problem: not ours to rename
        return StorageError(f"{op} {url} failed: {type(exc).__name__}: "
                            f"{self.redact(str(exc))}", url)

    def _refusal(self, code: str, status: int, op: str, bucket: str,
                 key: str) -> StorageError:
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

    def _boto_error(self, exc: BaseException, op: str, bucket: str, key: str) -> StorageError:
        from botocore import exceptions as bx
        from s3transfer.exceptions import RetriesExceededError

        url = self.url(bucket, key)
        if isinstance(exc, RetriesExceededError) and exc.last_exception is not None:
            return self.error(exc.last_exception, op, bucket, key)
        if isinstance(exc, bx.ClientError):
            code = str(exc.response.get("Error", {}).get("Code") or "")
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            return self._refusal(code, status, op, bucket, key)
        if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
            return StorageError(
                f"{op} {url}: no S3 credentials are configured (set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY or MODELYARD_S3_ACCESS_KEY/_SECRET_KEY)", url)
        if isinstance(exc, bx.ConnectionError | bx.HTTPClientError | bx.IncompleteReadError
                      | bx.ResponseStreamingError) or type(exc).__module__.startswith("urllib3"):
            return TransientError(
                f"{op} {url}: cannot reach {self.endpoint_display}: {type(exc).__name__}", url)
        return StorageError(f"{op} {url} failed: {self.redact(str(exc))}", url)

    # --- the interface -------------------------------------------------------------------

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        try:
            if self._fast is not None:
                yield from self._fast.list_objects(bucket, prefix)
                return
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 1000})
            for page in pages:
                for obj in page.get("Contents", ()):
                    yield ObjectInfo(key=obj["Key"], size=int(obj["Size"]),
                                     etag=_etag(obj.get("ETag")),
                                     mtime=obj["LastModified"].timestamp())
        except Exception as exc:
            raise self.error(exc, "listing", bucket, prefix) from None

    def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            if self._fast is not None:
                return self._fast.head_object(bucket, key)
            resp = self.client.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            err = self.error(exc, "reading", bucket, key)
            if isinstance(err, NotFoundError):
                return None
            raise err from None
        return ObjectInfo(key=key, size=int(resp["ContentLength"]), etag=_etag(resp.get("ETag")),
                          mtime=resp["LastModified"].timestamp())

    def get(self, bucket: str, key: str, dest: Path, progress: Progress | None = None,
            *, size: int | None = None) -> None:
        with atomic_file(dest) as fh:
            if size is not None and size < self.multipart_threshold:
                self._get_small(bucket, key, fh, progress)
            elif self._fast is not None:
                self._get_large(bucket, key, fh.fileno(), progress)
            else:
                future = self._manager().download(
                    bucket, key, fh, subscribers=[_Subscriber(progress, size)])
                self._wait(future, "downloading", bucket, key)

    def _get_small(self, bucket: str, key: str, fh: BinaryIO,
                   progress: Progress | None) -> None:
        """One GET streamed to disk: for small objects s3transfer's machinery (futures,
        queues, an extra thread hop per chunk) costs more CPU than the request itself."""
        try:
            if self._fast is not None:
                self._fast.get_to(bucket, key, fh, progress)
                return
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                while chunk := body.read(MiB):
                    fh.write(chunk)
                    if progress:
                        progress(len(chunk))
            finally:
                body.close()
        except Exception as exc:
            raise self.error(exc, "downloading", bucket, key) from None

    def _parts(self) -> ThreadPoolExecutor:
        """Threads for the parts of large objects, shared by all transfers of this store
        (parts never wait on other parts, so sharing cannot deadlock)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_concurrency,
                                                thread_name_prefix="modelyard-s3-part")
            return self._pool

    def _run_parts(self, jobs: builtins.list[Callable[[], Any]]) -> builtins.list[Any]:
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

    def _get_large(self, bucket: str, key: str, fd: int, progress: Progress | None) -> None:
        """Concurrent ranged GETs written in place with pwrite: no queue, no copy through
        a writer thread. If-Match keeps all ranges on one version of the object."""
        assert self._fast is not None
        fast = self._fast
        try:
            head = fast.head_object(bucket, key)
            if head is None:
                raise S3Failure("NoSuchKey", 404)
            os.ftruncate(fd, head.size)
            # Ranges need not match upload parts; fewer, larger ones cost less CPU here.
            chunk = max(_adjust_chunksize(self.multipart_chunksize, head.size), _RANGE_MIN)
            lock = threading.Lock()

            def counted(n: int) -> None:
                with lock:
                    progress(n)  # type: ignore[misc]

            self._run_parts([
                partial(fast.get_range, bucket, key, start, min(start + chunk, head.size),
                        fd, counted if progress else None, head.etag)
                for start in range(0, head.size, chunk)])
        except Exception as exc:
            raise self.error(exc, "downloading", bucket, key) from None

    def _put_large(self, src: Path, bucket: str, key: str,
                   progress: Progress | None) -> ObjectInfo:
        """Multipart upload: parts read straight from the file (pread), sent concurrently,
        each with its SHA-256 signed and its MD5 checked by the store."""
        assert self._fast is not None
        fast = self._fast
        with src.open("rb") as fh:
            fd = fh.fileno()
            size = os.fstat(fd).st_size
            chunk = _adjust_chunksize(self.multipart_chunksize, size)
            upload_id: str | None = None
            lock = threading.Lock()

            def part(number: int, offset: int) -> tuple[str, bytes]:
                length = min(chunk, size - offset)
                result = fast.upload_part(bucket, key, upload_id or "", number, fd, offset,
                                          length)
                if progress:
                    with lock:
                        progress(length)
                return result

            try:
                upload_id = fast.create_multipart(bucket, key)
                parts = self._run_parts([partial(part, i + 1, offset) for i, offset in
                                         enumerate(range(0, size, chunk))])
                etag = fast.complete_multipart(bucket, key, upload_id, [e for e, _ in parts])
            except Exception as exc:
                if upload_id is not None:
                    with contextlib.suppress(Exception):
                        fast.abort_multipart(bucket, key, upload_id)
                raise self.error(exc, "uploading to", bucket, key) from None
        return ObjectInfo(key=key, size=size, etag=etag or None)

    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        size = src.stat().st_size
        if size < self.multipart_threshold:
            # One PUT, straight from the file (see _get_small for why not s3transfer).
            with src.open("rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                try:
                    if self._fast is not None:
                        etag: str | None = self._fast.put_file(bucket, key, fh, size)
                    else:
                        etag = _etag(self.client.put_object(
                            Bucket=bucket, Key=key, Body=fh).get("ETag"))
                except Exception as exc:
                    raise self.error(exc, "uploading to", bucket, key) from None
            if progress and size:
                progress(size)
            return ObjectInfo(key=key, size=size, etag=etag)
        if self._fast is not None:
            return self._put_large(src, bucket, key, progress)
        future = self._manager().upload(str(src), bucket, key,
                                        subscribers=[_Subscriber(progress, None)])
        self._wait(future, "uploading to", bucket, key)
        return ObjectInfo(key=key, size=size)

    def delete(self, bucket: str, key: str) -> None:
        try:
            if self._fast is not None:
                self._fast.delete_object(bucket, key)
            else:
                self.client.delete_object(Bucket=bucket, Key=key)
        except Exception as exc:
            err = self.error(exc, "deleting", bucket, key)
            if not isinstance(err, NotFoundError) or isinstance(err, BucketNotFoundError):
                raise err from None

    def ensure_bucket(self, bucket: str) -> None:
        try:
            if self._fast is not None:
                if not self._fast.head_bucket(bucket):
                    self._fast.create_bucket(bucket)
                return
            try:
                self.client.head_bucket(Bucket=bucket)
                return
            except Exception as exc:
                if not isinstance(self.error(exc, "checking bucket", bucket), NotFoundError):
                    raise
            kwargs: dict[str, Any] = {"Bucket": bucket}
            if self._region and self._region != "us-east-1" and not self.endpoint_url:
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
            try:
                self.client.create_bucket(**kwargs)
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code")
                if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
        except Exception as exc:
            raise self.error(exc, "creating bucket", bucket) from None

    def server_copy(self, src_bucket: str, src_key: str, bucket: str, key: str) -> bool:
        future = self._manager().copy({"Bucket": src_bucket, "Key": src_key}, bucket, key)
        self._wait(future, "copying to", bucket, key)
        return True

    def _wait(self, future: Any, op: str, bucket: str, key: str) -> None:
        try:
            future.result()
        except BaseException as exc:
            future.cancel()
            if not isinstance(exc, Exception):
                raise
            raise self.error(exc, op, bucket, key) from None

    def local_etag(self, path: Path) -> str | None:
        """The ETag S3 gives ``path`` when we upload it with our multipart settings."""
        size = path.stat().st_size
        if size < self.multipart_threshold:
            return _file_etags(path, [None])[0]
        chunk = _adjust_chunksize(self.multipart_chunksize, size)
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
        candidates = {_adjust_chunksize(self.multipart_chunksize, size),
                      *_COMMON_PART_SIZES}
        exact = math.ceil(size / parts)
        candidates.add(math.ceil(exact / MiB) * MiB)
        fitting = sorted(c for c in candidates if c > 0 and math.ceil(size / c) == parts)
        if not fitting:
            return None
        return info.etag in _file_etags(path, list(fitting))


_SESSION: Any = None
_SESSION_LOCK = threading.Lock()


def _new_client(*args: Any, **kwargs: Any) -> Any:
    """A client from one process-wide boto3 session: the session caches the parsed service
    model, which makes a new client ten times cheaper. Credentials are given per client,
    never kept in the session. Sessions are not thread-safe, hence the lock."""
    global _SESSION
    with _SESSION_LOCK:
        if _SESSION is None:
            import boto3

            _SESSION = boto3.session.Session()
            factory = _SESSION._session.get_component("response_parser_factory")
            factory.set_parser_defaults(timestamp_parser=_parse_timestamp)
        return _SESSION.client(*args, **kwargs)


def _parse_timestamp(value: Any) -> datetime:
    """ISO 8601 (listings) natively: botocore's dateutil-based default costs about a
    millisecond per object, which is most of the CPU of listing 1000 objects."""
    if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        try:
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    from botocore.utils import parse_timestamp

    result: datetime = parse_timestamp(value)
    return result


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _etag(raw: str | None) -> str | None:
    return raw.strip('"') if raw else None


def _adjust_chunksize(chunk: int, size: int) -> int:
    """s3transfer's part size for a file: at most 10000 parts, 5 MiB to 5 GiB each."""
    while math.ceil(size / chunk) > 10_000:
        chunk *= 2
    return max(5 * MiB, min(chunk, 5 * 1024 * MiB))


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


class _Subscriber:
    """Feeds s3transfer progress to our callback and, for downloads, hands over the size
    we already know from the listing so no HeadObject is needed. (Duck-typed like
    s3transfer's BaseSubscriber, which would mean importing it up front.)"""

    def __init__(self, progress: Progress | None, size: int | None) -> None:
        self._progress = progress
        self._size = size

    def on_queued(self, future: Any, **kwargs: Any) -> None:
        if self._size is not None:
            future.meta.provide_transfer_size(self._size)

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        if self._progress is not None and bytes_transferred:
            self._progress(bytes_transferred)

    def on_done(self, future: Any, **kwargs: Any) -> None:
        pass
