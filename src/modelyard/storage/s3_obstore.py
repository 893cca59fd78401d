"""The S3 backend on obstore (Rust's ``object_store`` crate), on trial against the lean
SigV4 client (issue 21): same interface, same conformance suite, same benchmark.

What obstore does not do, and how this backend makes up for it (each one a difference the
conformance suite or the S3 tests found):

- it has no bucket API: ``ensure_bucket`` goes through the lean SigV4 client;
- it lists *folders*, not key prefixes (``data/tr`` finds ``data/tr/y`` but not
  ``data/train.csv``): a prefix that is not a folder is listed from its parent and filtered;
- it drops the trailing '/' of folder markers (``code/empty/`` lists as ``code/empty``, a
  0-byte file): a 0-byte entry that has no object under its own name is a marker;
- its errors are text: the S3 error code and HTTP status are read back out of the message,
  and the message itself never leaves this module (it names the request and the body).

One obstore store per bucket (its stores are bound to one), each with retries turned off:
the transfer engine owns retries, with its own backoff and deadline.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import obstore
from obstore.exceptions import (
    PermissionDeniedError,
    UnauthenticatedError,
)
from obstore.store import S3Store as ObstoreClient

from modelyard.settings import S3Settings
from modelyard.storage.base import (
    NotFoundError,
    ObjectInfo,
    Progress,
    StorageError,
    TransientError,
)
from modelyard.storage.local import atomic_file
from modelyard.storage.s3 import MiB, S3Store, adjust_chunksize
from modelyard.storage.sigv4 import SigV4Client

_CODE = re.compile(r"<Code>([^<]+)</Code>")
_STATUS = re.compile(r"status code: (\d{3})")
_BLOCK = MiB
_WHOLE_BODY = 8 * MiB
"""Objects up to this size are fetched into memory in one call (workers x 8 MiB at most):
polling a stream from Python costs a round trip into obstore's runtime per chunk."""


class ObstoreS3Store(S3Store):
    """S3 through obstore. Needs a custom endpoint with static keys, like the lean client
    (``ensure_bucket`` signs its two requests with it)."""

    def __init__(self, s3: S3Settings, scheme: str = "s3", **kwargs: Any) -> None:
        super().__init__(s3, scheme, **kwargs)
        if not (s3.endpoint_url and s3.access_key_id and s3.secret_access_key):
            raise ValueError("the obstore backend needs an endpoint URL and static keys")
        self._buckets: dict[str, ObstoreClient] = {}
        self._buckets_lock = threading.Lock()
        self._signer = SigV4Client(
            s3.endpoint_url, s3.region or "us-east-1", s3.access_key_id.get_secret_value(),
            s3.secret_access_key.get_secret_value(), max_connections=2)

    def _bucket(self, bucket: str) -> ObstoreClient:
        with self._buckets_lock:
            client = self._buckets.get(bucket)
            if client is None:
                s3 = self._s3
                assert s3.endpoint_url and s3.access_key_id and s3.secret_access_key
                connect, read = self._timeouts
                client = self._buckets[bucket] = ObstoreClient(
                    bucket, endpoint=s3.endpoint_url, region=s3.region or "us-east-1",
                    access_key_id=s3.access_key_id.get_secret_value(),
                    secret_access_key=s3.secret_access_key.get_secret_value(),
                    virtual_hosted_style_request=self._style == "virtual",
                    client_options={
                        "allow_http": s3.endpoint_url.startswith("http://"),
                        "connect_timeout": timedelta(seconds=connect),
                        "read_timeout": timedelta(seconds=read),
                        "timeout": timedelta(hours=1),  # a whole large part, not one read
                        "pool_max_idle_per_host": str(self.max_connections),
                    },
                    retry_config={"max_retries": 0, "retry_timeout": timedelta(seconds=1),
                                  "backoff": {"init_backoff": timedelta(milliseconds=100),
                                              "max_backoff": timedelta(seconds=1),
                                              "base": 2}},
                )
            return client

    def close(self) -> None:
        super().close()
        self._signer.close()
        with self._buckets_lock:
            self._buckets.clear()

    # --- errors --------------------------------------------------------------------------

    def client_error(self, exc: BaseException, op: str, bucket: str,
                     key: str) -> StorageError | None:
        """obstore's exceptions: classes for some answers, the rest only as text."""
        if not type(exc).__module__.startswith("obstore") and not (
                isinstance(exc, FileNotFoundError) and "Error performing" in str(exc)):
            return None
        text = str(exc)
        code_match, status_match = _CODE.search(text), _STATUS.search(text)
        status = int(status_match.group(1)) if status_match else 0
        code = code_match.group(1) if code_match else ""
        if isinstance(exc, FileNotFoundError):
            code, status = code or "NoSuchKey", status or 404
        elif isinstance(exc, PermissionDeniedError | UnauthenticatedError):
            code, status = code or "AccessDenied", status or 403
        if status:
            return self.refusal(code, status, op, bucket, key)
        return TransientError(f"{op} {self.url(bucket, key)}: cannot reach "
                              f"{self.endpoint_display}: {type(exc).__name__}",
                              self.url(bucket, key))

    # --- the interface -------------------------------------------------------------------

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        folder = prefix if not prefix or prefix.endswith("/") else (
            prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else "")
        client = self._bucket(bucket)
        try:
            for batch in obstore.list(client, folder or None, chunk_size=1000):
                for meta in batch:
                    key = meta["path"]
                    if not key.startswith(prefix):
                        continue
                    if meta["size"] == 0 and self._is_marker(client, key):
                        key += "/"
                    yield ObjectInfo(key, meta["size"], _etag(meta["e_tag"]),
                                     meta["last_modified"].timestamp())
        except Exception as exc:
            raise self.error(exc, "listing", bucket, prefix) from None

    @staticmethod
    def _is_marker(client: ObstoreClient, key: str) -> bool:
        """Whether a 0-byte listing entry is really ``key + '/'`` (see the module doc)."""
        try:
            obstore.head(client, key)
        except FileNotFoundError:
            return True
        return False

    def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            meta = obstore.head(self._bucket(bucket), key)
        except Exception as exc:
            err = self.error(exc, "reading", bucket, key)
            if isinstance(err, NotFoundError):
                return None
            raise err from None
        return ObjectInfo(key, meta["size"], _etag(meta["e_tag"]),
                          meta["last_modified"].timestamp())

    def get(self, bucket: str, key: str, dest: Path, progress: Progress | None = None,
            *, size: int | None = None) -> None:
        client = self._bucket(bucket)
        with atomic_file(dest) as fh:
            try:
                if size is not None and size <= _WHOLE_BODY:
                    body = obstore.get(client, key).bytes()  # one call: streaming cost more
                    fh.write(body)
                    if progress and len(body):
                        progress(len(body))
                    return
                if size is not None and size < self.multipart_threshold:
                    for block in obstore.get(client, key).stream(min_chunk_size=_BLOCK):
                        fh.write(block)
                        if progress:
                            progress(len(block))
                    return
                meta = obstore.head(client, key)
                total = meta["size"]
                os.ftruncate(fh.fileno(), total)
                chunk = max(adjust_chunksize(self.multipart_chunksize, total),
                            self.range_min())
                counted = self.locked(progress)
                self.run_parts([
                    partial(_get_range, client, key, start, min(start + chunk, total),
                            fh.fileno(), counted, meta["e_tag"])
                    for start in range(0, total, chunk)])
            except Exception as exc:
                raise self.error(exc, "downloading", bucket, key) from None

    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        client = self._bucket(bucket)
        with src.open("rb") as fh:
            fd = fh.fileno()
            size = os.fstat(fd).st_size
            try:
                if size < self.multipart_threshold:
                    data = fh.read()
                    if len(data) != size:
                        raise StorageError(f"uploading to {self.url(bucket, key)}: the file "
                                           "changed while it was read", self.url(bucket, key))
                    result = obstore.put(client, key, data, use_multipart=False)
                    if progress and size:
                        progress(size)
                else:
                    chunk = adjust_chunksize(self.multipart_chunksize, size)
                    result = obstore.put(client, key, _blocks(fd, size, progress),
                                         use_multipart=True, chunk_size=chunk,
                                         max_concurrency=self.max_concurrency)
            except Exception as exc:
                raise self.error(exc, "uploading to", bucket, key) from None
        return ObjectInfo(key=key, size=size, etag=_etag(result.get("e_tag")))

    def delete_object(self, bucket: str, key: str) -> None:
        obstore.delete(self._bucket(bucket), key)

    def ensure_bucket(self, bucket: str) -> None:
        try:
            if not self._signer.head_bucket(bucket):
                self._signer.create_bucket(bucket)
        except Exception as exc:
            raise self.error(exc, "creating bucket", bucket) from None

    def server_copy(self, src_bucket: str, src_key: str, bucket: str, key: str) -> bool:
        if src_bucket != bucket:
            return False  # obstore copies inside one bucket only
        try:
            obstore.copy(self._bucket(bucket), src_key, key)
        except Exception as exc:
            raise self.error(exc, "copying to", bucket, key) from None
        return True


def _get_range(client: ObstoreClient, key: str, start: int, end: int, fd: int,
               progress: Progress | None, etag: str | None) -> None:
    """One range written in place; If-Match keeps every range on one object version."""
    options: dict[str, Any] = {"range": (start, end)}
    if etag:
        options["if_match"] = etag
    offset = start
    for block in obstore.get(client, key, options=options).stream(  # type: ignore[arg-type]
            min_chunk_size=_BLOCK):
        os.pwrite(fd, block, offset)
        offset += len(block)
        if progress:
            progress(len(block))
    if offset != end:
        raise TransientError(f"a range of {key} ended early")


def _blocks(fd: int, size: int, progress: Progress | None) -> Iterator[bytes]:
    """The file in 1 MiB blocks (pread: the descriptor's offset is left alone); progress
    as blocks are handed over."""
    offset = 0
    while offset < size:
        block = os.pread(fd, min(_BLOCK, size - offset), offset)
        if not block:
            raise StorageError("the file got shorter while it was read")
        offset += len(block)
        if progress:
            progress(len(block))
        yield block


def _etag(raw: str | None) -> str | None:
    return raw.strip('"') if raw else None
