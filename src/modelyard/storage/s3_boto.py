"""The S3 store on botocore and s3transfer: AWS's own endpoints, virtual-hosted buckets,
credential chains (profiles, instance roles, session tokens), and server-side copies.

boto3 is imported when the first client is made, never at module import: most processes
(a job's runtime, the CLI against a self-hosted endpoint) never need it, and importing it
costs about a second of CPU. Large objects go through s3transfer's TransferManager
(multipart uploads, ranged concurrent downloads, streaming from and to disk). botocore
retries once at most: the transfer engine owns retries.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from modelyard.settings import S3Settings
from modelyard.storage.base import (
    NotFoundError,
    ObjectInfo,
    Progress,
    StorageError,
    TransientError,
)
from modelyard.storage.local import atomic_file
from modelyard.storage.s3 import MiB, S3Store, strip_etag


class BotoS3Store(S3Store):
    def __init__(self, s3: S3Settings, scheme: str = "s3", **kwargs: Any) -> None:
        super().__init__(s3, scheme, **kwargs)
        self._client: Any = None
        self._tm: Any = None

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
        with self._lock:
            if self._tm is not None:
                self._tm.shutdown(cancel=True)
                self._tm = None
        super().close()

    def client_error(self, exc: BaseException, op: str, bucket: str,
                     key: str) -> StorageError | None:
        if not type(exc).__module__.startswith(("botocore", "s3transfer", "urllib3")):
            return None
        from botocore import exceptions as bx
        from s3transfer.exceptions import RetriesExceededError

        url = self.url(bucket, key)
        if isinstance(exc, RetriesExceededError) and exc.last_exception is not None:
            return self.error(exc.last_exception, op, bucket, key)
        if isinstance(exc, bx.ClientError):
            code = str(exc.response.get("Error", {}).get("Code") or "")
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            return self.refusal(code, status, op, bucket, key)
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
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 1000})
            for page in pages:
                for obj in page.get("Contents", ()):
                    yield ObjectInfo(key=obj["Key"], size=int(obj["Size"]),
                                     etag=strip_etag(obj.get("ETag")),
                                     mtime=obj["LastModified"].timestamp())
        except Exception as exc:
            raise self.error(exc, "listing", bucket, prefix) from None

    def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            resp = self.client.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            err = self.error(exc, "reading", bucket, key)
            if isinstance(err, NotFoundError):
                return None
            raise err from None
        return ObjectInfo(key=key, size=int(resp["ContentLength"]),
                          etag=strip_etag(resp.get("ETag")),
                          mtime=resp["LastModified"].timestamp())

    def get(self, bucket: str, key: str, dest: Path, progress: Progress | None = None,
            *, size: int | None = None) -> None:
        with atomic_file(dest) as fh:
            if size is not None and size < self.multipart_threshold:
                self._get_small(bucket, key, fh, progress)
            else:
                future = self._manager().download(
                    bucket, key, fh, subscribers=[_Subscriber(progress, size)])
                self._wait(future, "downloading", bucket, key)

    def _get_small(self, bucket: str, key: str, fh: BinaryIO,
                   progress: Progress | None) -> None:
        """One GET streamed to disk: for small objects s3transfer's machinery (futures,
        queues, an extra thread hop per chunk) costs more CPU than the request itself."""
        try:
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

    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        size = src.stat().st_size
        if size >= self.multipart_threshold:
            future = self._manager().upload(str(src), bucket, key,
                                            subscribers=[_Subscriber(progress, None)])
            self._wait(future, "uploading to", bucket, key)
            return ObjectInfo(key=key, size=size)
        with src.open("rb") as fh:  # one PUT straight from the file (see _get_small)
            try:
                etag = strip_etag(self.client.put_object(
                    Bucket=bucket, Key=key, Body=fh).get("ETag"))
            except Exception as exc:
                raise self.error(exc, "uploading to", bucket, key) from None
        if progress and size:
            progress(size)
        return ObjectInfo(key=key, size=size, etag=etag)

    def delete_object(self, bucket: str, key: str) -> None:
        self.client.delete_object(Bucket=bucket, Key=key)

    def ensure_bucket(self, bucket: str) -> None:
        try:
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
