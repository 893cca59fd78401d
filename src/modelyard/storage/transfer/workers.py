"""What every transfer call shares: its report, the state of its worker threads, retries
with backoff, the worker pool, failures named after the transfer's location, and the
incremental rule. ``EngineCore`` holds them for the operations (download, upload, copy)
that ``TransferEngine`` is made of."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self, TypeVar

from modelyard.settings import Settings
from modelyard.spec.paths import Location, parse_location
from modelyard.storage import nofollow
from modelyard.storage.base import (
    NotFoundError,
    ObjectInfo,
    ObjectStore,
    StorageError,
    TransferError,
    TransientError,
)
from modelyard.storage.etagcache import EtagCache
from modelyard.storage.registry import store_for

log = logging.getLogger("modelyard.storage.transfer")

ProgressCallback = Callable[[int], None]
T = TypeVar("T")
LocalFile = tuple[str, str, "os.stat_result | None"]
"""A local file, its key, and its stat when the walk already took it. (The file as a
string: a re-sync of 1000 unchanged files spent a tenth of its time building Paths.)"""

MTIME_TOLERANCE = 2e-6  # file systems that keep microseconds only


@dataclass
class TransferReport:
    files: int = 0
    """Files transferred by this call."""
    bytes: int = 0
    """Bytes transferred by this call."""
    skipped: int = 0
    """Files already up to date on the other side."""
    errors: list[str] = field(default_factory=list)
    deferred: int = 0
    """Upload only: files still being written, left for the next round."""
    retries: int = 0
    seconds: float = 0.0


class Aborted(Exception):
    """Another file of the same call failed for good: stop quietly."""


class Run:
    """State shared by the workers of one transfer call."""

    def __init__(self, progress: ProgressCallback | None) -> None:
        self.lock = threading.Lock()
        self.abort = threading.Event()
        self.fail_since: float | None = None
        self.retries = 0
        self._progress = progress

    def emit(self, n: int) -> None:
        if self._progress is not None and n:
            with self.lock:
                self._progress(n)

    def succeeded(self) -> None:
        if self.fail_since is not None:
            with self.lock:
                self.fail_since = None

    def failed(self) -> float:
        """Records a transient failure; returns how long the store has been failing."""
        now = time.monotonic()
        with self.lock:
            self.retries += 1
            if self.fail_since is None:
                self.fail_since = now
            return now - self.fail_since


class EngineCore:
    """Settings, stores and the machinery every transfer operation uses. One engine may
    serve many calls, also concurrently; it keeps one store (connection pool) per scheme."""

    def __init__(self, settings: Settings, *, workers: int | None = None,
                 attempts: int | None = None, retry_deadline: float | None = None,
                 backoff: tuple[float, float] = (0.25, 8.0),
                 store_factory: Callable[[Location], ObjectStore] | None = None) -> None:
        self.settings = settings
        self.workers = workers or settings.transfer_workers
        self.attempts = attempts or settings.transfer_attempts
        self.retry_deadline = retry_deadline or settings.transfer_retry_deadline
        self.backoff = backoff
        self._factory = store_factory or (lambda loc: store_for(loc, settings))
        self._stores: dict[str, ObjectStore] = {}
        self._stores_lock = threading.Lock()

    # --- plumbing ------------------------------------------------------------------------

    def store(self, loc: Location) -> ObjectStore:
        """The store for ``loc``'s scheme, created once per engine."""
        with self._stores_lock:
            store = self._stores.get(loc.scheme)
            if store is None:
                store = self._stores[loc.scheme] = self._factory(loc)
            return store

    def close(self) -> None:
        with self._stores_lock:
            stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cache(self) -> EtagCache:
        return EtagCache(self.settings.home / "cache" / "transfer-etags.sqlite3")

    def _retry(self, run: Run, fn: Callable[[], T], what: str, url: str) -> T:
        attempt = 0
        base, cap = self.backoff
        while True:
            if run.abort.is_set():
                raise Aborted
            try:
                result = fn()
            except TransientError as exc:
                attempt += 1
                outage = run.failed()
                if attempt >= self.attempts or outage >= self.retry_deadline:
                    err = TransferError(
                        f"{what} {url}: gave up after {attempt} attempt(s) over {outage:.1f} s: "
                        f"{exc}", url)
                    err.transient = True
                    raise err from None
                delay = min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                delay = min(delay, max(0.05, self.retry_deadline - outage))
                log.warning("%s; retry %d/%d in %.1f s", exc, attempt, self.attempts - 1, delay)
                if run.abort.wait(delay):
                    raise Aborted from None
                continue
            run.succeeded()
            return result

    def _parallel(self, run: Run, tasks: list[Callable[[], None]]) -> list[BaseException]:
        """Runs ``tasks`` on up to ``workers`` threads; the first real failure stops the rest.

        Plain threads taking the next task from a shared iterator, not an executor: with
        1000 small files, the futures' per-task conditions and events (as_completed) held
        the GIL longer than our own code did."""
        failures: list[BaseException] = []
        pending = iter(tasks)
        lock = threading.Lock()

        def work() -> None:
            while not run.abort.is_set():
                with lock:
                    task = next(pending, None)
                if task is None:
                    return
                try:
                    task()
                except Aborted:
                    pass
                except BaseException as exc:  # reported by the caller
                    with lock:
                        failures.append(exc)
                    run.abort.set()

        if len(tasks) == 1:  # in the calling thread, where Ctrl-C must stay Ctrl-C
            try:
                tasks[0]()
            except Aborted:
                pass
            except Exception as exc:
                failures.append(exc)
            return failures
        threads = [threading.Thread(target=work, name=f"modelyard-transfer-{i}", daemon=True)
                   for i in range(max(1, min(self.workers, len(tasks))))]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                thread.join()
        except BaseException:
            run.abort.set()
            for thread in threads:
                thread.join()
            raise
        return failures

    @staticmethod
    def _fail(failures: list[BaseException], what: str, url: str,
              report: TransferReport) -> None:
        if not failures:
            return
        first = failures[0]
        reason = str(first) if isinstance(first, StorageError) else (
            f"{type(first).__name__}: {first}")
        more = f" ({len(failures) - 1} more file(s) failed)" if len(failures) > 1 else ""
        report.errors.extend(
            str(f) if isinstance(f, StorageError) else f"{type(f).__name__}: {f}"
            for f in failures[:20])
        err = TransferError(f"{what} {url} failed: {reason}{more}", url, report)
        err.transient = isinstance(first, StorageError) and first.transient
        raise err from first

    @staticmethod
    def _inconsistent(problems: list[str], what: str, url: str, count: str,
                      report: TransferReport) -> None:
        """After a transfer, what the destination lacks or has wrong ends it as an error
        (never reported as done): the first 20 in the report, the first in the message."""
        if not problems:
            return
        report.errors.extend(problems[:20])
        raise TransferError(f"{what} failed the consistency check: {count}, e.g. "
                            f"{problems[0]}", url, report)

    def _unchanged(self, path: str | Path, st: os.stat_result, info: ObjectInfo | None,
                   store: ObjectStore, cache: EtagCache,
                   open_local: Callable[[str], int] | None = None) -> bool:
        """The incremental rule (see the module docstring). ``open_local`` opens the file
        safely when its content must be read (see ``upload``)."""
        if info is None or st.st_size != info.size:
            return False
        if info.etag is None:
            return info.mtime is not None and abs(st.st_mtime - info.mtime) <= MTIME_TOLERANCE
        if cache.known(path, st, info.etag):
            return True
        try:
            if open_local is None:
                same = store.same_content(Path(path), info)
            else:
                fd = open_local(os.fspath(path))
                try:
                    same = store.same_content(nofollow.pinned(fd), info)
                finally:
                    os.close(fd)
        except OSError:
            return False
        if same:
            cache.add(path, st, info.etag)
        return bool(same)

    def _destination(self, run: Run, store: ObjectStore, bucket: str, prefix: str,
                     create_bucket: bool = True) -> dict[str, ObjectInfo]:
        """What is already below ``prefix``, the bucket created if missing. A listing
        that finds something proves the bucket exists, so the bucket is only checked
        (and created) when it finds nothing: one request less for every re-sync and
        every periodic output upload."""
        try:
            found = self._listing(run, store, bucket, prefix)
        except NotFoundError:  # no such bucket (yet)
            found = {}
        if not found and create_bucket:
            self._retry(run, lambda: store.ensure_bucket(bucket), "creating bucket",
                        store.url(bucket))
        return found

    def _listing(self, run: Run, store: ObjectStore, bucket: str, prefix: str
                 ) -> dict[str, ObjectInfo]:
        """The objects below ``prefix`` by key: one listing (cheaper than a HEAD per
        file); a prefix that is an object's key (no trailing '/') is that object alone."""
        if prefix and not prefix.endswith("/"):
            info = self._retry(run, lambda: store.stat(bucket, prefix), "reading",
                               store.url(bucket, prefix))
            return {prefix: info} if info is not None else {}

        def listing() -> dict[str, ObjectInfo]:
            return {i.key: i for i in store.list(bucket, prefix)}
        return self._retry(run, listing, "listing", store.url(bucket, prefix))


@contextmanager
def naming(what: str, url: str) -> Iterator[None]:
    """Makes every storage failure of a transfer name the transfer's own location (the
    channel the user configured), not only the object or request that failed."""
    try:
        yield
    except NotFoundError as exc:
        if url in str(exc):
            raise
        raise _named(exc, what, url) from exc
    except StorageError as exc:
        if isinstance(exc, TransferError) and str(exc).startswith(f"{what} {url}"):
            raise
        raise _named(exc, what, url) from exc


def _named(exc: StorageError, what: str, url: str) -> TransferError:
    err = TransferError(f"{what} {url} failed: {exc}", url,
                        exc.report if isinstance(exc, TransferError) else None)
    err.transient = exc.transient
    return err


class Counter:
    """A progress callback for one attempt that can take back what it reported."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.sent = 0

    def __call__(self, n: int) -> None:
        self.sent += n
        self.run.emit(n)

    def rollback(self) -> None:
        if self.sent:
            self.run.emit(-self.sent)
            self.sent = 0


def in_background(fn: Callable[[], T]) -> Future[T]:
    """``fn`` started on a thread of its own; the future gives its result or its error."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="modelyard-transfer-listing", daemon=True).start()
    return future


def bind(fn: Callable[..., None], *args: object) -> Callable[[], None]:
    return lambda: fn(*args)


def as_loc(value: str | Location) -> Location:
    return parse_location(value) if isinstance(value, str) else value
