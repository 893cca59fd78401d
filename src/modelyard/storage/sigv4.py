"""A lean S3 client for what botocore is slow at: many requests for single objects.

botocore spends 3-5 ms of CPU per request (event hooks, endpoint rules, parameter models,
response parsing) and importing boto3 costs about a second per process; with 1000 small
files and two cores shared with the object store, that is what made us slower than Go
tools. This client signs with AWS Signature V4 itself and talks through a small pool of
http.client connections: under 1 ms of CPU per request. It covers list, head, get (whole
or ranged), put (single or multipart), delete and bucket check/create against a
path-style endpoint with static keys; everything else stays with botocore (see s3.py).

Every PUT carries the MD5 of its payload as ``Content-MD5``, a signed header, so the store
rejects a body that was corrupted on the way; the payload itself is sent as
``UNSIGNED-PAYLOAD`` (allowed by SigV4 for S3): hashing it a second time with SHA-256 would
cost a second of CPU per GiB for no extra protection against corruption, and on two cores
that CPU is taken from the object store. Bodies up to ``SMALL_BODY`` are read once into
memory (hash, then send the same bytes); larger ones are read twice, never whole.
Credentials live in this object only; nothing here logs.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import socket
import ssl
import threading
import time
from base64 import b64encode
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import BinaryIO
from urllib.parse import quote, unquote_plus, urlsplit
from xml.etree import ElementTree

from modelyard.storage.base import ObjectInfo

MiB = 1024 * 1024
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_UNSIGNED = "UNSIGNED-PAYLOAD"
SMALL_BODY = 8 * MiB
"""Bodies up to this size are read into memory once (workers x 8 MiB at most)."""
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_CONTENTS, _KEY, _SIZE, _ETAG, _LAST_MODIFIED = (
    f"{_NS}{t}" for t in ("Contents", "Key", "Size", "ETag", "LastModified"))


class S3Failure(Exception):
    """The store answered with an error (``code``, ``status``); or, with status 0, the
    request never got an answer (``cause`` says why)."""

    def __init__(self, code: str, status: int, cause: BaseException | None = None) -> None:
        super().__init__(f"{code} (HTTP {status})" if status else code)
        self.code = code
        self.status = status
        self.cause = cause


class SigV4Client:
    def __init__(self, endpoint_url: str, region: str, access_key: str, secret_key: str,
                 *, max_connections: int = 16, connect_timeout: float = 10.0,
                 read_timeout: float = 60.0) -> None:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("endpoint must be http(s)://host[:port]")
        self._host = parts.netloc.rsplit("@", 1)[-1]
        self._base = parts.path.rstrip("/")
        self._region = region
        self._access_key = access_key
        self._secret = secret_key
        self._keys: dict[str, bytes] = {}
        self._stamp: tuple[int, str] = (-1, "")
        self._lock = threading.Lock()
        self._pool = _Pool(parts.scheme, parts.hostname, parts.port, max_connections,
                           connect_timeout, read_timeout)

    def __repr__(self) -> str:
        return f"SigV4Client(host={self._host!r})"

    def close(self) -> None:
        self._pool.close()

    # --- signing -------------------------------------------------------------------------

    def _signing_key(self, day: str) -> bytes:
        with self._lock:
            key = self._keys.get(day)
            if key is None:
                key = _hmac(f"AWS4{self._secret}".encode(), day)
                for part in (self._region, "s3", "aws4_request"):
                    key = _hmac(key, part)
                self._keys = {day: key}
            return key

    def _timestamp(self) -> str:
        """The x-amz-date of now; formatted once per second (strftime was the costliest
        line of signing)."""
        second = int(time.time())
        stamp = self._stamp
        if stamp[0] != second:
            stamp = self._stamp = (second, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second)))
        return stamp[1]

    def _signed(self, method: str, path: str, payload_sha256: str = _EMPTY_SHA256,
                extra: dict[str, str] | None = None, query: str = "") -> dict[str, str]:
        now = self._timestamp()
        headers = {"host": self._host, "x-amz-content-sha256": payload_sha256,
                   "x-amz-date": now, **(extra or {})}
        names = sorted(headers)
        canonical = "\n".join([
            method, path, query, "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names), payload_sha256,
        ])
        scope = f"{now[:8]}/{self._region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", now, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        signature = hmac.digest(self._signing_key(now[:8]), to_sign.encode(), "sha256").hex()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self._access_key}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}")
        return headers  # "host" stays: http.client then sends exactly the signed value

    def _path(self, bucket: str, key: str) -> str:
        return f"{self._base}/{bucket}/{quote(key, safe='/~')}"

    # --- requests ------------------------------------------------------------------------

    def put_file(self, bucket: str, key: str, src: BinaryIO, size: int) -> str:
        """PUTs ``size`` bytes from the start of ``src``; returns the ETag."""
        src.seek(0)
        md5 = hashlib.md5(usedforsecurity=False)
        body: Callable[[], Iterable[bytes]] | bytes
        if size <= SMALL_BODY:
            body = src.read(size)
            if len(body) != size:
                raise S3Failure("FileChangedWhileReading", 0)
            md5.update(body)
        else:
            md5 = _md5_of(_exactly(src, size))

            def body() -> Iterator[bytes]:
                src.seek(0)
                return _exactly(src, size)

        path = self._path(bucket, key)
        headers = self._signed("PUT", path, _UNSIGNED, {
            "content-md5": b64encode(md5.digest()).decode(),
            "content-length": str(size),
        })
        resp = self._request("PUT", path, headers, body, stream=False)
        etag = (resp.headers.get("ETag") or "").strip('"')
        return etag or md5.hexdigest()

    def get_to(self, bucket: str, key: str, dest: BinaryIO,
               progress: Callable[[int], None] | None = None) -> int:
        """Streams the object into ``dest``; returns its size."""
        path = self._path(bucket, key)
        headers = self._signed("GET", path)
        resp = self._request("GET", path, headers, None, stream=True)
        length = resp.headers.get("Content-Length")
        view = memoryview(bytearray(min(MiB, int(length) + 1 if length else MiB)))
        total = 0
        try:
            while n := resp.readinto(view):
                dest.write(view[:n])
                total += n
                if progress:
                    progress(n)
            expected = resp.headers.get("Content-Length")
            if expected is not None and int(expected) != total:
                raise S3Failure("IncompleteBody", 0)
        except (OSError, http.client.HTTPException) as exc:
            raise S3Failure(type(exc).__name__, 0, exc) from None
        finally:
            resp.release_conn()
        return total

    def get_range(self, bucket: str, key: str, start: int, end: int, fd: int,
                  progress: Callable[[int], None] | None = None,
                  if_match: str | None = None) -> None:
        """GETs bytes ``start`` to ``end`` (exclusive) into ``fd`` at the same offsets
        (readinto one reused buffer, then pwrite: no per-block allocation); with
        ``if_match`` the store refuses (412) if the object changed since we looked, so
        parts of two versions never mix."""
        path = self._path(bucket, key)
        extra = {"range": f"bytes={start}-{end - 1}"}
        if if_match:
            extra["if-match"] = f'"{if_match}"'
        resp = self._request("GET", path, self._signed("GET", path, extra=extra), None,
                             stream=True)
        if resp.status != 206 and (start, end) != (0, int(resp.headers.get("Content-Length")
                                                           or -1)):
            resp.release_conn()
            raise S3Failure("RangeIgnored", 0)
        view = memoryview(bytearray(min(MiB, end - start)))
        offset = start
        try:
            while offset < end:
                n = resp.readinto(view[:min(len(view), end - offset)])
                if not n:
                    break
                os.pwrite(fd, view[:n], offset)
                offset += n
                if progress:
                    progress(n)
        except (OSError, http.client.HTTPException) as exc:
            raise S3Failure(type(exc).__name__, 0, exc) from None
        finally:
            resp.release_conn()
        if offset != end:
            raise S3Failure("IncompleteBody", 0)

    def create_multipart(self, bucket: str, key: str) -> str:
        path, query = self._path(bucket, key), "uploads="
        resp = self._request("POST", f"{path}?{query}",
                             self._signed("POST", path, query=query), b"", stream=False)
        upload_id = _text(ElementTree.fromstring(resp.data), "UploadId")
        if not upload_id:
            raise S3Failure("NoUploadId", 500)
        return upload_id

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, fd: int,
                    offset: int, length: int) -> tuple[str, bytes]:
        """Sends ``length`` bytes of ``fd`` from ``offset`` (read with pread, twice, in
        1 MiB blocks: to hash, then to send). Returns the ETag and the part's MD5."""
        md5 = _md5_of(_pread_blocks(fd, offset, length))
        path = self._path(bucket, key)
        query = f"partNumber={number}&uploadId={_q(upload_id)}"
        headers = self._signed("PUT", path, _UNSIGNED, {
            "content-md5": b64encode(md5.digest()).decode(),
            "content-length": str(length),
        }, query=query)
        resp = self._request("PUT", f"{path}?{query}", headers,
                             lambda: _pread_blocks(fd, offset, length), stream=False)
        return (resp.headers.get("ETag") or "").strip('"') or md5.hexdigest(), md5.digest()

    def complete_multipart(self, bucket: str, key: str, upload_id: str,
                           etags: list[str]) -> str:
        body = ("<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{i}</PartNumber><ETag>\"{etag}\"</ETag></Part>"
            for i, etag in enumerate(etags, 1)) + "</CompleteMultipartUpload>").encode()
        path, query = self._path(bucket, key), f"uploadId={_q(upload_id)}"
        headers = self._signed("POST", path, hashlib.sha256(body).hexdigest(),
                               {"content-length": str(len(body))}, query=query)
        resp = self._request("POST", f"{path}?{query}", headers, body, stream=False)
        root = ElementTree.fromstring(resp.data)
        if root.tag.endswith("Error"):  # S3 may fail a completion with status 200
            raise S3Failure(_text(root, "Code") or "InternalError", 500)
        return _text(root, "ETag").strip('"')

    def abort_multipart(self, bucket: str, key: str, upload_id: str) -> None:
        path, query = self._path(bucket, key), f"uploadId={_q(upload_id)}"
        self._request("DELETE", f"{path}?{query}", self._signed("DELETE", path, query=query),
                      None, stream=False)

    def list_objects(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        """ListObjectsV2, page by page (keys URL-encoded on the wire, so any key survives
        the XML). Straight into ObjectInfo, decoding only keys that need it: a re-sync of
        1000 unchanged files is mostly this listing."""
        path = f"{self._base}/{bucket}"
        token: str | None = None
        while True:
            params = {"list-type": "2", "prefix": prefix, "encoding-type": "url",
                      "max-keys": "1000"}
            if token:
                params["continuation-token"] = token
            query = "&".join(f"{_q(k)}={_q(v)}" for k, v in sorted(params.items()))
            headers = self._signed("GET", path, query=query)
            resp = self._request("GET", f"{path}?{query}", headers, None, stream=False)
            root = ElementTree.fromstring(resp.data)
            for item in root.iter(_CONTENTS):
                key = item.findtext(_KEY) or ""
                modified = item.findtext(_LAST_MODIFIED)
                yield ObjectInfo(
                    unquote_plus(key) if "%" in key or "+" in key else key,
                    int(item.findtext(_SIZE) or 0),
                    (item.findtext(_ETAG) or "").strip('"') or None,
                    _timestamp_of(modified) if modified else None)
            token = _text(root, "NextContinuationToken")
            if _text(root, "IsTruncated") != "true" or not token:
                return

    def head_object(self, bucket: str, key: str) -> ObjectInfo | None:
        path = self._path(bucket, key)
        try:
            resp = self._request("HEAD", path, self._signed("HEAD", path), None, stream=False)
        except S3Failure as exc:
            if exc.status == 404:
                return None
            raise
        modified = resp.headers.get("Last-Modified")
        return ObjectInfo(key=key, size=int(resp.headers.get("Content-Length") or 0),
                          etag=(resp.headers.get("ETag") or "").strip('"') or None,
                          mtime=parsedate_to_datetime(modified).timestamp() if modified
                          else None)

    def head_bucket(self, bucket: str) -> bool:
        """Whether the bucket exists (a refusal raises)."""
        path = f"{self._base}/{bucket}"
        try:
            self._request("HEAD", path, self._signed("HEAD", path), None, stream=False)
        except S3Failure as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def create_bucket(self, bucket: str) -> None:
        path = f"{self._base}/{bucket}"
        try:
            self._request("PUT", path, self._signed("PUT", path), b"", stream=False)
        except S3Failure as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def delete_object(self, bucket: str, key: str) -> None:
        path = self._path(bucket, key)
        self._request("DELETE", path, self._signed("DELETE", path), None, stream=False)

    def _request(self, method: str, path: str, headers: dict[str, str],
                 body: Callable[[], Iterable[bytes]] | bytes | None,
                 stream: bool) -> _Response:
        """One request. A pooled connection the server has meanwhile closed is replaced
        once, transparently; other failures become S3Failure (status 0: no answer)."""
        for attempt in (1, 2):
            conn, reused = self._pool.get()
            try:
                conn.request(method, path, body=body() if callable(body) else body,
                             headers=headers)
                raw = conn.getresponse()
                break
            except _FileShrank:
                conn.close()
                raise S3Failure("FileChangedWhileReading", 0) from None
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError) as exc:
                conn.close()
                if reused and attempt == 1:
                    continue
                raise S3Failure(type(exc).__name__, 0, exc) from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise S3Failure(type(exc).__name__, 0, exc) from None
        resp = _Response(self._pool, conn, raw)
        if resp.status >= 300 or not stream:
            try:
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                resp.release_conn()
                if resp.status < 300:
                    raise S3Failure(type(exc).__name__, 0, exc) from None
                data = b""
            resp.release_conn()
            if resp.status >= 300:
                raise S3Failure(_error_code(data) or str(resp.status), resp.status)
            resp.data = data
        return resp


class _Pool:
    """Idle keep-alive connections to one host, most recently used first. A deque, no lock:
    its append and pop are atomic, and with 32 workers a lock held across a GIL switch made
    the others queue behind it (a measurable share of a 1000-file download)."""

    def __init__(self, scheme: str, host: str, port: int | None, maxsize: int,
                 connect_timeout: float, read_timeout: float) -> None:
        self._scheme, self._host, self._port = scheme, host, port
        self._maxsize = maxsize
        self._timeouts = (connect_timeout, read_timeout)
        self._idle: deque[http.client.HTTPConnection] = deque()
        self._ssl: ssl.SSLContext | None = None

    def get(self) -> tuple[http.client.HTTPConnection, bool]:
        try:
            return self._idle.pop(), True
        except IndexError:
            pass
        if self._scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeouts[0], context=self._ssl)
        else:
            conn = http.client.HTTPConnection(self._host, self._port,
                                              timeout=self._timeouts[0])
        conn.blocksize = MiB
        try:
            conn.connect()
            assert conn.sock is not None
            conn.sock.settimeout(self._timeouts[1])
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise S3Failure(type(exc).__name__, 0, exc) from None
        return conn, False

    def put(self, conn: http.client.HTTPConnection) -> None:
        if len(self._idle) < self._maxsize:  # may overshoot by a few under a race: harmless
            self._idle.append(conn)
            return
        conn.close()

    def close(self) -> None:
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                return
            conn.close()


class _Response:
    """A response whose connection goes back to the pool once the body is read."""

    def __init__(self, pool: _Pool, conn: http.client.HTTPConnection,
                 raw: http.client.HTTPResponse) -> None:
        self._pool: _Pool | None = pool
        self._conn = conn
        self._raw = raw
        self.status = raw.status
        self.headers = raw.headers
        self.data = b""

    def read(self) -> bytes:
        return self._raw.read()

    def readinto(self, view: memoryview) -> int:
        return self._raw.readinto(view)

    def release_conn(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._raw.isclosed() and not self._raw.will_close:
            pool.put(self._conn)
        else:
            self._conn.close()


class _FileShrank(Exception):
    """The file being sent got shorter than when it was hashed."""


def _exactly(fh: BinaryIO, size: int) -> Iterator[bytes]:
    """Yields exactly ``size`` bytes: if the file shrank since it was hashed, fail the
    request instead of leaving the server waiting for bytes that never come."""
    left = size
    while left:
        block = fh.read(min(MiB, left))
        if not block:
            raise _FileShrank
        left -= len(block)
        yield block


def _pread_blocks(fd: int, offset: int, length: int) -> Iterator[bytes]:
    end = offset + length
    while offset < end:
        block = os.pread(fd, min(MiB, end - offset), offset)
        if not block:
            raise _FileShrank
        offset += len(block)
        yield block


def _md5_of(blocks: Iterable[bytes]) -> hashlib._Hash:
    md5 = hashlib.md5(usedforsecurity=False)
    try:
        for block in blocks:
            md5.update(block)
    except _FileShrank:
        raise S3Failure("FileChangedWhileReading", 0) from None
    return md5


@lru_cache(maxsize=256)
def _timestamp_of(iso: str) -> float:
    """A listing's LastModified (objects written together share one)."""
    return datetime.fromisoformat(iso).timestamp()


def _q(text: str) -> str:
    return quote(text, safe="-_.~")


def _text(node: ElementTree.Element, tag: str) -> str:
    found = node.find(f"{_NS}{tag}")
    if found is None:
        found = node.find(tag)  # servers that leave out the namespace
    return (found.text or "") if found is not None else ""


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.digest(key, msg.encode(), "sha256")


def _error_code(body: bytes) -> str | None:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    return _text(root, "Code") or None
