"""Stores that misbehave on purpose, wrapped around a real one, to test the engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from modelyard.storage.base import ObjectInfo, ObjectStore, Progress, TransientError


class Wrapper(ObjectStore):
    """Delegates everything; subclasses override what they break."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.scheme = inner.scheme

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        return self.inner.list(bucket, prefix)

    def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        return self.inner.stat(bucket, key)

    def get(self, bucket: str, key: str, dest: Path, progress: Progress | None = None,
            *, size: int | None = None) -> None:
        self.inner.get(bucket, key, dest, progress, size=size)

    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        return self.inner.put(src, bucket, key, progress)

    def delete(self, bucket: str, key: str) -> None:
        self.inner.delete(bucket, key)

    def ensure_bucket(self, bucket: str) -> None:
        self.inner.ensure_bucket(bucket)

    def server_copy(self, src_bucket: str, src_key: str, bucket: str, key: str) -> bool:
        return self.inner.server_copy(src_bucket, src_key, bucket, key)

    def local_etag(self, path: Path) -> str | None:
        return self.inner.local_etag(path)

    def same_content(self, path: Path, info: ObjectInfo) -> bool | None:
        return self.inner.same_content(path, info)

    def close(self) -> None:
        self.inner.close()


class Flaky(Wrapper):
    """Transfers fail ``failures`` times per key (after reporting half the bytes, as a
    dropped connection would) when ``which(key)`` says so; then they work."""

    def __init__(self, inner: ObjectStore, failures: int = 2,
                 which: Callable[[str], bool] = lambda key: True) -> None:
        super().__init__(inner)
        self.failures = failures
        self.which = which
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def _maybe_fail(self, op: str, key: str, size: int, progress: Progress | None) -> None:
        with self.lock:
            n = self.calls[op + key] = self.calls.get(op + key, 0) + 1
        if self.which(key) and n <= self.failures:
            if progress and size:
                progress(size // 2)
            raise TransientError(f"injected failure {n} for {key}", key)

    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        self._maybe_fail("put", key, src.stat().st_size, progress)
        return super().put(src, bucket, key, progress)

    def get(self, bucket: str, key: str, dest: Path, progress: Progress | None = None,
            *, size: int | None = None) -> None:
        self._maybe_fail("get", key, size or 0, progress)
        super().get(bucket, key, dest, progress, size=size)


class Slow(Wrapper):
    """Each put takes ``delay`` seconds; records the highest number running at once."""

    def __init__(self, inner: ObjectStore, delay: float = 0.05) -> None:
        super().__init__(inner)
        self.delay = delay
        self.running = 0
        self.peak = 0
        self.lock = threading.Lock()

    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(self.delay)
            return super().put(src, bucket, key, progress)
        finally:
            with self.lock:
                self.running -= 1
