"""The S3 store on our own SigV4 client (``sigv4.py``): a custom path-style endpoint with
static keys, the self-hosted case (SeaweedFS, MinIO, an OBS endpoint).

Why our own client here: botocore costs 1.5-3.2 ms of CPU per request and importing boto3
a second per process; with 1000 small files and two cores shared with the object store,
that decided the small-file benchmark. Large objects move as concurrent parts straight
between the file and the socket (pread/pwrite), never held in memory. A server-side copy
is the one operation left to botocore (``BotoS3Store``, created the first time one is
needed).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from modelyard.settings import S3Settings
from modelyard.storage.base import (
    NotFoundError,
    ObjectInfo,
    Progress,
    StorageError,
)
from modelyard.storage.local import atomic_file
from modelyard.storage.s3 import S3Store, adjust_chunksize
from modelyard.storage.sigv4 import S3Failure, SigV4Client


def lean_client_fits(s3: S3Settings) -> bool:
    """Whether our client can serve ``s3``: a custom endpoint, path-style, static keys."""
    style = s3.addressing_style
    path_style = style == "path" or (style == "auto" and bool(s3.endpoint_url))
    return bool(s3.endpoint_url and path_style and s3.access_key_id
                and s3.secret_access_key)


class LeanS3Store(S3Store):
    def __init__(self, s3: S3Settings, scheme: str = "s3", **kwargs: Any) -> None:
        super().__init__(s3, scheme, **kwargs)
        if not lean_client_fits(s3):
            raise ValueError("the lean S3 client needs a path-style endpoint and static keys")
        assert s3.endpoint_url and s3.access_key_id and s3.secret_access_key
        connect, read = self._timeouts
        self.client = SigV4Client(
            s3.endpoint_url, s3.region or "us-east-1", s3.access_key_id.get_secret_value(),
            s3.secret_access_key.get_secret_value(), max_connections=self.max_connections,
            connect_timeout=connect, read_timeout=read)
        self._kwargs = kwargs
        self._copier: S3Store | None = None

    def close(self) -> None:
        super().close()
        self.client.close()
        with self._lock:
            copier, self._copier = self._copier, None
        if copier is not None:
            copier.close()

    def client_error(self, exc: BaseException, op: str, bucket: str,
                     key: str) -> StorageError | None:
        if not isinstance(exc, S3Failure):
            return None
        if exc.status:
            return self.refusal(exc.code, exc.status, op, bucket, key)
        if exc.cause is None and exc.code == "FileChangedWhileReading":
            url = self.url(bucket, key)
            return StorageError(f"{op} {url}: the file changed while it was read", url)
        return self.unreachable(op, bucket, key, exc.code)

    # --- the interface -------------------------------------------------------------------

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        try:
            yield from self.client.list_objects(bucket, prefix)
        except Exception as exc:
            raise self.error(exc, "listing", bucket, prefix) from None

    def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            return self.client.head_object(bucket, key)
        except Exception as exc:
            err = self.error(exc, "reading", bucket, key)
            if isinstance(err, NotFoundError):
                return None
            raise err from None

    def get(self, bucket: str, key: str, dest: Path, progress: Progress | None = None,
            *, size: int | None = None) -> None:
        with atomic_file(dest) as fh:
            try:
                if size is not None and size < self.multipart_threshold:
                    self.client.get_to(bucket, key, fh, progress)
                else:
                    self._get_large(bucket, key, fh.fileno(), progress)
            except Exception as exc:
                raise self.error(exc, "downloading", bucket, key) from None

    def _get_large(self, bucket: str, key: str, fd: int, progress: Progress | None) -> None:
        """Concurrent ranged GETs written in place with pwrite: no queue, no copy through
        a writer thread. If-Match keeps all ranges on one version of the object."""
        head = self.client.head_object(bucket, key)
        if head is None:
            raise S3Failure("NoSuchKey", 404)
        os.ftruncate(fd, head.size)
        # Ranges need not match upload parts; fewer, larger ones cost less CPU here.
        chunk = max(adjust_chunksize(self.multipart_chunksize, head.size), self.range_min())
        counted = self.locked(progress)
        self.run_parts([
            partial(self.client.get_range, bucket, key, start, min(start + chunk, head.size),
                    fd, counted, head.etag)
            for start in range(0, head.size, chunk)])

    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        with src.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            try:
                if size >= self.multipart_threshold:
                    return self._put_large(fh, size, bucket, key, progress)
                etag = self.client.put_file(bucket, key, fh, size)
            except Exception as exc:
                raise self.error(exc, "uploading to", bucket, key) from None
        if progress and size:
            progress(size)
        return ObjectInfo(key=key, size=size, etag=etag)

    def _put_large(self, fh: BinaryIO, size: int, bucket: str, key: str,
                   progress: Progress | None) -> ObjectInfo:
        """Multipart upload: parts read straight from the file (pread), sent concurrently,
        each with its MD5 checked by the store; aborted when a part fails."""
        fd = fh.fileno()
        chunk = adjust_chunksize(self.multipart_chunksize, size)
        counted = self.locked(progress)
        client = self.client
        upload_id = client.create_multipart(bucket, key)

        def part(number: int, offset: int) -> tuple[str, bytes]:
            length = min(chunk, size - offset)
            result = client.upload_part(bucket, key, upload_id, number, fd, offset, length)
            if counted:
                counted(length)
            return result

        try:
            parts = self.run_parts([partial(part, i + 1, offset)
                                    for i, offset in enumerate(range(0, size, chunk))])
            etag = client.complete_multipart(bucket, key, upload_id, [e for e, _ in parts])
        except BaseException:
            with contextlib.suppress(Exception):
                client.abort_multipart(bucket, key, upload_id)
            raise
        return ObjectInfo(key=key, size=size, etag=etag or None)

    def delete_object(self, bucket: str, key: str) -> None:
        self.client.delete_object(bucket, key)

    def ensure_bucket(self, bucket: str) -> None:
        try:
            if not self.client.head_bucket(bucket):
                self.client.create_bucket(bucket)
        except Exception as exc:
            raise self.error(exc, "creating bucket", bucket) from None

    def server_copy(self, src_bucket: str, src_key: str, bucket: str, key: str) -> bool:
        """Through botocore's managed copy (multipart above 5 GiB), the one thing we do
        not sign ourselves."""
        with self._lock:
            if self._copier is None:
                from modelyard.storage.s3_boto import BotoS3Store

                self._copier = BotoS3Store(self._s3, self.scheme, **self._kwargs)
            copier = self._copier
        return copier.server_copy(src_bucket, src_key, bucket, key)
