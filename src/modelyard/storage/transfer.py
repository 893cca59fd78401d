"""The transfer engine: every path that moves bytes goes through here (code download,
inputs, outputs, prefetch, ``modelyard storage cp``).

What every call does, whatever the backend:

- **parallel** across files (``Settings.transfer_workers`` threads); large files are also
  split into parts by the S3 backend (``transfer_part_concurrency`` requests per endpoint);
- **incremental**: a file is skipped when the other side already has it. The rule: same
  size, and then
  * against S3 (objects have an ETag): the same ETag. The local side's ETag is known without
    reading the file when this file version (path, size, mtime, inode) was transferred
    before (``etagcache``); otherwise it is computed (MD5, or the multipart form);
  * against the local folder store and ``file://`` (no ETag): the same modification time
    (copies keep the source's mtime);
- **retries** with exponential backoff and jitter on ``TransientError``, at most
  ``transfer_attempts`` tries per file and never longer than ``transfer_retry_deadline``
  seconds of continuous failure (one success anywhere in the call resets that clock); when
  a file gives up, the whole call stops and raises ``TransferError`` naming the location;
- a **consistency check** at the end: every file that should be there is listed again and
  must have the expected size, otherwise ``TransferError``;
- **progress** in bytes (thread-safe; a failed attempt is rolled back with a negative
  amount so the sum equals ``report.bytes``).

Uploads of folders that are still being written (a job's outputs) use ``settle_seconds``:
a file modified less than that long ago is left for the next round, and a file that
changes while it is being sent is not counted and goes again next round.
"""

from __future__ import annotations

import builtins
import errno
import logging
import os
import random
import shutil
import stat as statmod
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.paths import Location, parse_location, safe_relative_path
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
from modelyard.storage.local import PART_PREFIX
from modelyard.storage.nofollow import Skipped
from modelyard.storage.registry import store_for

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]
T = TypeVar("T")
_Pair = tuple[str, str, "os.stat_result | None"]
"""A local file, its key, and its stat when the walk already took it. (The file as a
string: a re-sync of 1000 unchanged files spent a tenth of its time building Paths.)"""

# Seed S2.3: code-directory limits, checked by listing before anything is downloaded.
CODE_DIR_MAX_ENTRIES = 1000
CODE_DIR_MAX_BYTES = 5 * 1024**3
CODE_DIR_MAX_DEPTH = 32
# "Do not put training data in the code directory": when to warn.
DATA_SUFFIXES = frozenset({
    ".npy", ".npz", ".csv", ".tsv", ".tfrecord", ".tfrecords", ".parquet", ".arrow", ".h5",
    ".hdf5", ".zip", ".tar", ".gz", ".tgz", ".jpg", ".jpeg", ".png", ".bmp", ".wav", ".mp4",
    ".pkl", ".pt", ".pth", ".ckpt", ".safetensors", ".bin",
})
DATA_BULK_BYTES = 100 * 1024**2
LARGE_FILE_BYTES = 50 * 1024**2

_MTIME_TOLERANCE = 2e-6  # file systems that keep microseconds only


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


class _Aborted(Exception):
    """Another file of the same call failed for good: stop quietly."""


class _Changed(Exception):
    """The local file changed (or vanished) while it was being uploaded."""


class _Run:
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


class TransferEngine:
    """Moves files between local folders and object stores. One engine may serve many calls,
    also concurrently; it keeps one store (connection pool) per scheme."""

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

    def __enter__(self) -> TransferEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _cache(self) -> EtagCache:
        return EtagCache(self.settings.home / "cache" / "transfer-etags.sqlite3")

    def _retry(self, run: _Run, fn: Callable[[], T], what: str, url: str) -> T:
        attempt = 0
        base, cap = self.backoff
        while True:
            if run.abort.is_set():
                raise _Aborted
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
                    raise _Aborted from None
                continue
            run.succeeded()
            return result

    def _parallel(self, run: _Run, tasks: list[Callable[[], None]]) -> list[BaseException]:
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
                except _Aborted:
                    pass
                except BaseException as exc:  # reported by the caller
                    with lock:
                        failures.append(exc)
                    run.abort.set()

        if len(tasks) == 1:  # in the calling thread, where Ctrl-C must stay Ctrl-C
            try:
                tasks[0]()
            except _Aborted:
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

    def _unchanged(self, path: str | Path, st: os.stat_result, info: ObjectInfo | None,
                   store: ObjectStore, cache: EtagCache,
                   open_local: Callable[[str], int] | None = None) -> bool:
        """The incremental rule (see the module docstring). ``open_local`` opens the file
        safely when its content must be read (see ``upload``)."""
        if info is None or st.st_size != info.size:
            return False
        if info.etag is None:
            return info.mtime is not None and abs(st.st_mtime - info.mtime) <= _MTIME_TOLERANCE
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

    # --- download ------------------------------------------------------------------------

    def download(self, src: str | Location, dest: Path,
                 progress: ProgressCallback | None = None, *,
                 beneath: Path | None = None) -> TransferReport:
        """Copies the object or prefix at ``src`` into folder ``dest`` (a single object lands
        as ``dest/<name>``; a prefix's contents land directly in ``dest``). Nothing at
        ``src`` is not an error: the report says 0 files (and ``skipped`` counts files that
        were already there). Local files that are not at ``src`` are left alone.

        ``beneath``: a folder a job cannot change, above a ``dest`` a job can (a file
        system mounted into jobs, a job's own folders). ``dest`` is then created if need
        be and every folder below ``beneath`` is opened without following a symlink, each
        file written through a descriptor of its folder: a folder symlink a job planted
        fails the file (``UnsafePath``) instead of sending it elsewhere."""
        loc = _loc(src)
        with _naming("download of", loc.url):
            if beneath is None:
                return self._download(loc, Path(dest), progress, None)
            with nofollow.opened_dir(Path(beneath)) as top:
                rel = Path(os.path.abspath(dest)).relative_to(os.path.abspath(beneath))
                root_fd = nofollow.make_dirs(top, rel)
            try:
                return self._download(loc, Path(dest), progress, root_fd)
            finally:
                os.close(root_fd)

    def _download(self, loc: Location, dest: Path, progress: ProgressCallback | None,
                  root_fd: int | None) -> TransferReport:
        t0 = time.monotonic()
        store = self.store(loc)
        run = _Run(progress)
        report = TransferReport()
        items, folders, bad = self._remote_items(run, store, loc)
        pairs = [(info, dest / (rel or loc.name)) for info, rel in items]
        for rel in folders:
            if root_fd is None:
                (dest / rel).mkdir(parents=True, exist_ok=True)
            else:
                os.close(nofollow.make_dirs(root_fd, rel))
        try:
            self._pull(run, store, loc, pairs, report, _placer(dest, root_fd))
        finally:
            report.retries, report.seconds = run.retries, time.monotonic() - t0
        if bad:
            report.errors.extend(f"unsafe key {k!r} not downloaded" for k in bad)
            raise TransferError(
                f"download of {loc.url}: {len(bad)} object(s) have keys that cannot be a "
                f"local path (empty, '.' or '..' parts), e.g. {bad[0]!r}", loc.url, report)
        return report

    def _remote_items(self, run: _Run, store: ObjectStore, loc: Location
                      ) -> tuple[list[tuple[ObjectInfo, str]], list[str], list[str]]:
        """(object, path relative to the prefix; '' for a single object), folder markers,
        and keys that cannot be local paths."""
        if not loc.is_dir:
            single = self._retry(run, lambda: store.stat(loc.bucket, loc.key), "reading",
                                 loc.url)
            if single is not None:
                return [(single, "")], [], []
        prefix = loc.as_dir().key
        infos = self._retry(run, lambda: list(store.list(loc.bucket, prefix)), "listing",
                            loc.as_dir().url)
        items: list[tuple[ObjectInfo, str]] = []
        folders: list[str] = []
        bad: list[str] = []
        for info in infos:
            rel = info.key[len(prefix):]
            if not rel:
                continue
            is_folder = rel.endswith("/")
            try:
                safe_relative_path(rel.rstrip("/") if is_folder else rel)
            except SpecError:
                bad.append(info.key)
                continue
            if is_folder:
                folders.append(rel.rstrip("/"))
            else:
                items.append((info, rel))
        return items, folders, bad

    def _pull(self, run: _Run, store: ObjectStore, loc: Location,
              pairs: list[tuple[ObjectInfo, Path]], report: TransferReport,
              place: _Placer | None = None) -> None:
        """``place(path, create)`` gives the path to do I/O through for ``path`` (the same
        path, or one through a descriptor of its folder: see ``download``'s ``beneath``);
        ``path`` itself stays the name files are known by (ETag cache, messages)."""
        place = place or _placer(Path("/"), None)
        cache = self._cache()
        if len(pairs) > 1:
            cache.preload(Path(os.path.commonpath([path for _, path in pairs])))
        try:
            todo = []
            for info, path in pairs:
                try:
                    with place(path, False) as io:
                        st = os.lstat(io)
                        unchanged = statmod.S_ISREG(st.st_mode) and self._unchanged(
                            path, st, info, store, cache, _regular_at(io))
                except (FileNotFoundError, NotADirectoryError, nofollow.UnsafePath):
                    unchanged = False
                if unchanged:
                    report.skipped += 1
                else:
                    todo.append((info, path))

            def one(info: ObjectInfo, path: Path) -> None:
                def attempt() -> None:
                    sent = _Counter(run)
                    try:
                        with place(path, True) as io:
                            store.get(loc.bucket, info.key, io, sent, size=info.size)
                    except BaseException:
                        sent.rollback()
                        raise
                self._retry(run, attempt, "downloading", store.url(loc.bucket, info.key))
                with run.lock:
                    report.files += 1
                    report.bytes += info.size

            self._fail(self._parallel(run, [_bind(one, i, p) for i, p in todo]),
                       "download of", loc.url, report)
            # Skipped files were just compared: only what arrived is checked again.
            problems = []
            for info, path in todo:
                try:
                    with place(path, False) as io:
                        st = os.lstat(io)
                except OSError:
                    problems.append(f"{path} is missing")
                    continue
                if st.st_size != info.size:
                    problems.append(f"{path} has {st.st_size} bytes, expected {info.size}")
                elif info.etag:
                    cache.add(path, st, info.etag)
            if problems:
                report.errors.extend(problems[:20])
                raise TransferError(
                    f"download of {loc.url} failed the consistency check: {len(problems)} of "
                    f"{len(todo)} file(s) do not match the store, e.g. {problems[0]}",
                    loc.url, report)
        finally:
            cache.close()

    # --- upload --------------------------------------------------------------------------

    def upload(self, src: Path, dest: str | Location,
               progress: ProgressCallback | None = None, *,
               settle_seconds: float = 0.0, beneath: Path | None = None,
               skipped: builtins.list[Skipped] | None = None) -> TransferReport:
        """Copies folder (or file) ``src`` to the prefix ``dest`` (a folder's contents land
        under ``dest/``; a single file as ``dest/<name>``).

        ``settle_seconds`` is for folders still being written (a running job's outputs): a
        file modified less than that many seconds ago is not sent but counted in
        ``report.deferred``; a file that changes while being sent is counted there too and
        is sent again by the next call (its stat no longer matches what arrived).

        Nothing inside ``src`` is followed or opened unless it is a regular file: the walk
        goes through folder descriptors, each file is opened ``O_NOFOLLOW`` relative to its
        folder just before it is read, and symlinks, FIFOs, sockets and devices are left
        out (appended to ``skipped`` when given), so a job cannot export host files by
        linking to them. ``beneath`` (a folder the job cannot change, e.g. its job folder's
        ``home``) extends that to the components of ``src`` below it: ``src`` replaced by
        a symlink then uploads nothing (``UnsafePath``). Temporary ``.modelyard-part-*``
        files are ignored."""
        loc = _loc(dest)
        src = Path(os.path.abspath(src))
        base = loc.as_dir()
        follow = beneath is None
        if src.parent == src or (beneath is not None and src == Path(os.path.abspath(beneath))):
            # The trusted root itself (a whole file system's export), or "/".
            try:
                return self._upload_tree(src, base, nofollow.open_dir(src), progress,
                                         settle_seconds, skipped)
            except FileNotFoundError:
                raise NotFoundError(f"upload to {loc.url}: {src} does not exist",
                                    loc.url) from None
        try:
            parent_fd = nofollow.open_dir(src.parent, beneath)
        except FileNotFoundError:
            raise NotFoundError(f"upload to {loc.url}: {src} does not exist", loc.url) from None
        try:
            try:
                st = os.stat(src.name, dir_fd=parent_fd, follow_symlinks=follow)
            except FileNotFoundError:
                raise NotFoundError(f"upload to {loc.url}: {src} does not exist",
                                    loc.url) from None
            if statmod.S_ISREG(st.st_mode):
                key = base.key + src.name
                return self._upload_pairs(
                    src, loc, lambda: [(os.fspath(src), key, st)], key, progress,
                    settle_seconds, lambda _p: nofollow.open_file(parent_fd, src.name))
            if not statmod.S_ISDIR(st.st_mode):
                raise nofollow.UnsafePath(
                    errno.EINVAL, f"upload to {loc.url}: {src} is a "
                    f"{nofollow.kind_of(st.st_mode)}, not a file or folder")
            root_fd = _open_subdir(parent_fd, src.name, follow)
        finally:
            os.close(parent_fd)
        return self._upload_tree(src, base, root_fd, progress, settle_seconds, skipped)

    def _upload_tree(self, src: Path, base: Location, root_fd: int,
                     progress: ProgressCallback | None, settle_seconds: float,
                     skipped: builtins.list[Skipped] | None) -> TransferReport:
        """Uploads the folder open as ``root_fd`` (closed here), walked and read through
        descriptors (see ``upload``)."""
        try:
            top = os.fspath(src)
            return self._upload_pairs(
                src, base,
                lambda: [(os.path.join(top, rel), base.key + rel, st)
                         for rel, st in nofollow.walk_files(root_fd, PART_PREFIX, skipped)],
                base.key, progress, settle_seconds,
                lambda path: nofollow.open_file(root_fd, os.path.relpath(path, top)))
        finally:
            os.close(root_fd)

    def _upload_pairs(self, src: Path, loc: Location, local_files: Callable[[], list[_Pair]],
                      list_prefix: str, progress: ProgressCallback | None,
                      settle_seconds: float, open_local: Callable[[str], int]
                      ) -> TransferReport:
        with _naming(f"upload of {src} to", loc.url):
            return self._upload(src, loc, local_files, list_prefix, progress, settle_seconds,
                                open_local)

    def _upload(self, src: Path, loc: Location, local_files: Callable[[], list[_Pair]],
                list_prefix: str, progress: ProgressCallback | None,
                settle_seconds: float, open_local: Callable[[str], int]) -> TransferReport:
        """``local_files`` (the walk) runs while the store is opened and listed on another
        thread: an unchanged re-sync is little more than these two, so it takes the longer
        of them rather than their sum."""
        t0 = time.monotonic()
        run = _Run(progress)
        report = TransferReport()
        cache = self._cache()

        try:
            listing = _in_background(
                lambda: self._destination(run, self.store(loc), loc.bucket, list_prefix))
            pairs = local_files()
            if len(pairs) > 1:
                cache.preload(src)
            remote = listing.result()
            store = self.store(loc)
            now = time.time()
            todo: list[tuple[str, str]] = []
            expected: dict[str, tuple[str, os.stat_result]] = {}
            for path, key, known in pairs:
                try:
                    st = known or os.stat(path)
                except FileNotFoundError:
                    continue
                if not statmod.S_ISREG(st.st_mode):
                    continue
                if settle_seconds > 0 and st.st_mtime > now - settle_seconds:
                    report.deferred += 1
                elif self._unchanged(path, st, remote.get(key), store, cache, open_local):
                    report.skipped += 1
                    expected[key] = (path, st)
                else:
                    todo.append((path, key))

            def one(path: str, key: str) -> None:
                def attempt() -> os.stat_result:
                    try:  # what is read is this descriptor's file, whatever the path becomes
                        fd = open_local(path)
                    except (FileNotFoundError, NotADirectoryError, nofollow.UnsafePath):
                        raise _Changed from None
                    try:
                        before = os.fstat(fd)
                        sent = _Counter(run)
                        try:
                            store.put(nofollow.pinned(fd), loc.bucket, key, sent)
                        except BaseException:
                            sent.rollback()
                            if _fd_changed(fd, before):
                                raise _Changed from None
                            raise
                        if _fd_changed(fd, before):
                            sent.rollback()
                            raise _Changed
                        return before
                    finally:
                        os.close(fd)

                try:
                    st = self._retry(run, attempt, "uploading to", store.url(loc.bucket, key))
                except _Changed:
                    with run.lock:
                        report.deferred += 1
                    return
                with run.lock:
                    report.files += 1
                    report.bytes += st.st_size
                    expected[key] = (path, st)

            self._fail(self._parallel(run, [_bind(one, p, k) for p, k in todo]),
                       f"upload of {src} to", loc.url, report)
            # Skipped files were just compared with the listing (and are in the ETag cache):
            # nothing to check again when nothing was sent.
            if not report.files:
                return report
            after = self._listing(run, store, loc.bucket, list_prefix)
            problems = []
            for key, (path, st) in sorted(expected.items()):
                info = after.get(key)
                if info is None:
                    problems.append(f"{store.url(loc.bucket, key)} is missing")
                elif info.size != st.st_size:
                    problems.append(f"{store.url(loc.bucket, key)} has {info.size} bytes, "
                                    f"expected {st.st_size}")
                elif info.etag:
                    cache.add(path, st, info.etag)
            if problems:
                report.errors.extend(problems[:20])
                raise TransferError(
                    f"upload of {src} to {loc.url} failed the consistency check: "
                    f"{len(problems)} of {len(expected)} object(s) do not match, e.g. "
                    f"{problems[0]}", loc.url, report)
        finally:
            cache.close()
            report.retries, report.seconds = run.retries, time.monotonic() - t0
        return report

    def _destination(self, run: _Run, store: ObjectStore, bucket: str, prefix: str,
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

    def _listing(self, run: _Run, store: ObjectStore, bucket: str, prefix: str
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

    # --- copy, list, code directories ----------------------------------------------------

    def copy(self, src: str | Path, dst: str | Path, recursive: bool = False,
             progress: ProgressCallback | None = None, *,
             settle_seconds: float = 0.0) -> TransferReport:
        """``cp`` semantics between local paths and URLs, in any direction.

        A ``str`` containing ``://`` is a URL (``obs://``, ``s3://``, ``file://``); anything
        else is a local path (so ``/tmp/x`` is local here, unlike in job specs). With
        ``recursive`` the *contents* of folder/prefix ``src`` land under ``dst``. Without
        it ``src`` must be one file/object; it lands at ``dst``, or inside ``dst`` when
        ``dst`` ends with '/' or is an existing local folder."""
        s_loc = _as_location(src)
        d_loc = _as_location(dst)
        d_is_dir = str(dst).endswith("/") or (_is_local(dst) and Path(dst).is_dir())
        if s_loc.scheme == "file" and d_loc.scheme != "file":
            path = Path("/" + s_loc.key)
            if path.is_dir():
                if not recursive:
                    raise StorageError(f"{src} is a folder: copy it recursively", s_loc.url)
                return self.upload(path, d_loc, progress, settle_seconds=settle_seconds)
            if not path.exists():
                raise NotFoundError(f"{src} does not exist", s_loc.url)
            key = d_loc.as_dir().key + path.name if d_is_dir or d_loc.is_dir else d_loc.key
            # A path the person typed: followed like any command-line tool follows it.
            return self._upload_pairs(path, d_loc, lambda: [(os.fspath(path), key, None)],
                                      key, progress, settle_seconds,
                                      lambda p: os.open(p, os.O_RDONLY | os.O_CLOEXEC))
        if d_loc.scheme == "file" and s_loc.scheme != "file":
            dest = Path("/" + d_loc.key)
            if recursive:
                return self.download(s_loc, dest, progress)
            return self._download_one(s_loc, dest, d_is_dir, progress)
        return self._copy_remote(s_loc, d_loc, recursive, d_is_dir, progress)

    def _download_one(self, loc: Location, dest: Path, into: bool,
                      progress: ProgressCallback | None) -> TransferReport:
        with _naming("download of", loc.url):
            return self._download_object(loc, dest, into, progress)

    def _download_object(self, loc: Location, dest: Path, into: bool,
                         progress: ProgressCallback | None) -> TransferReport:
        t0 = time.monotonic()
        store = self.store(loc)
        run = _Run(progress)
        report = TransferReport()
        info = None if loc.is_dir else self._retry(
            run, lambda: store.stat(loc.bucket, loc.key), "reading", loc.url)
        if info is None:
            raise NotFoundError(f"{loc.url}: no such object (copy a prefix recursively)",
                                loc.url)
        target = dest / loc.name if into else dest
        try:
            self._pull(run, store, loc, [(info, target)], report)
        finally:
            report.retries, report.seconds = run.retries, time.monotonic() - t0
        return report

    def _copy_remote(self, s_loc: Location, d_loc: Location, recursive: bool, into: bool,
                     progress: ProgressCallback | None) -> TransferReport:
        with _naming(f"copy of {s_loc.url} to", d_loc.url):
            return self._copy_objects(s_loc, d_loc, recursive, into, progress)

    def _copy_objects(self, s_loc: Location, d_loc: Location, recursive: bool, into: bool,
                      progress: ProgressCallback | None) -> TransferReport:
        """Store to store (also file:// to file://): server-side when both are the same
        store, else through a temporary local file per object."""
        t0 = time.monotonic()
        src_store, dst_store = self.store(s_loc), self.store(d_loc)
        run = _Run(progress)
        report = TransferReport()
        if recursive:
            items, _, bad = self._remote_items(run, src_store, s_loc)
            if bad:
                raise TransferError(f"copy of {s_loc.url}: unsafe keys, e.g. {bad[0]!r}",
                                    s_loc.url)
            base = d_loc.as_dir().key
            pairs = [(info, base + (rel or s_loc.name)) for info, rel in items]
            list_prefix = base
        else:
            info = None if s_loc.is_dir else self._retry(
                run, lambda: src_store.stat(s_loc.bucket, s_loc.key), "reading", s_loc.url)
            if info is None:
                raise NotFoundError(f"{s_loc.url}: no such object (copy a prefix "
                                    "recursively)", s_loc.url)
            key = d_loc.as_dir().key + s_loc.name if into or d_loc.is_dir else d_loc.key
            pairs = [(info, key)]
            list_prefix = key
        try:
            existing = self._destination(run, dst_store, d_loc.bucket, list_prefix,
                                         create_bucket=bool(pairs))
            todo = []
            for info, key in pairs:
                have = existing.get(key)
                if have is not None and have.size == info.size and (
                        (info.etag is not None and info.etag == have.etag)
                        or (info.etag is None and have.etag is None and info.mtime is not None
                            and have.mtime is not None
                            and abs(info.mtime - have.mtime) <= _MTIME_TOLERANCE)):
                    report.skipped += 1
                else:
                    todo.append((info, key))
            same = src_store is dst_store
            tmpdir = Path(tempfile.mkdtemp(prefix="modelyard-copy-")) if todo else None

            def one(info: ObjectInfo, key: str) -> None:
                def attempt() -> None:
                    if same and src_store.server_copy(s_loc.bucket, info.key, d_loc.bucket,
                                                      key):
                        run.emit(info.size)
                        return
                    assert tmpdir is not None
                    tmp = tmpdir / f"{threading.get_ident()}-{random.getrandbits(32):08x}"
                    sent = _Counter(run)
                    try:
                        src_store.get(s_loc.bucket, info.key, tmp, None, size=info.size)
                        dst_store.put(tmp, d_loc.bucket, key, sent)
                    except BaseException:
                        sent.rollback()
                        raise
                    finally:
                        tmp.unlink(missing_ok=True)
                self._retry(run, attempt, "copying to", dst_store.url(d_loc.bucket, key))
                with run.lock:
                    report.files += 1
                    report.bytes += info.size

            try:
                self._fail(self._parallel(run, [_bind(one, i, k) for i, k in todo]),
                           f"copy of {s_loc.url} to", d_loc.url, report)
            finally:
                if tmpdir is not None:
                    shutil.rmtree(tmpdir, ignore_errors=True)
            after = existing if not report.files else self._listing(
                run, dst_store, d_loc.bucket, list_prefix)
            problems = [f"{dst_store.url(d_loc.bucket, k)}" for i, k in pairs
                        if k not in after or after[k].size != i.size]
            if problems:
                report.errors.extend(problems[:20])
                raise TransferError(
                    f"copy of {s_loc.url} to {d_loc.url} failed the consistency check: "
                    f"{len(problems)} object(s) missing or of the wrong size, e.g. "
                    f"{problems[0]}", d_loc.url, report)
        finally:
            report.retries, report.seconds = run.retries, time.monotonic() - t0
        return report

    def list(self, url: str | Location) -> list[ObjectInfo]:
        """The object at ``url``, or else every object below it (keys are full keys)."""
        loc = _loc(url)
        store = self.store(loc)
        run = _Run(None)
        if not loc.is_dir:
            info = self._retry(run, lambda: store.stat(loc.bucket, loc.key), "reading",
                               loc.url)
            if info is not None:
                return [info]
        prefix = loc.as_dir().key
        return self._retry(run, lambda: list(store.list(loc.bucket, prefix)), "listing",
                           loc.as_dir().url)

    def check_code_dir_limits(self, url: str | Location) -> builtins.list[str]:
        """Seed S2.3, by listing only (a 5 GB mistake fails in a second, not after an hour
        of copying): at most 1000 files and folders (folders counted from the keys), 5 GB in
        total, depth 32 (``a/b/train.py`` has depth 3). Raises SpecError naming
        ``code_dir``; returns warnings when the directory looks like it holds data."""
        loc = (parse_location(url, "code_dir") if isinstance(url, str) else url).as_dir()
        store = self.store(loc)
        run = _Run(None)

        def scan() -> builtins.list[ObjectInfo]:
            files: builtins.list[ObjectInfo] = []
            folders: set[str] = set()
            total = 0
            for info in store.list(loc.bucket, loc.key):
                rel = info.key[len(loc.key):].rstrip("/")
                if not rel:
                    continue
                parts = rel.split("/")
                folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
                if info.key.endswith("/"):
                    folders.add(rel)
                else:
                    files.append(info)
                    total += info.size
                entries = len(files) + len(folders)
                if entries > CODE_DIR_MAX_ENTRIES:
                    raise SpecError("code_dir", loc.url, (
                        f"the code directory holds more than {CODE_DIR_MAX_ENTRIES} files and "
                        "folders (seed S2.3); keep training data out of it and pass it as "
                        "an input"))
                if len(parts) > CODE_DIR_MAX_DEPTH:
                    raise SpecError("code_dir", loc.url, (
                        f"{rel!r} is {len(parts)} levels deep; a code directory may be at "
                        f"most {CODE_DIR_MAX_DEPTH} levels deep (seed S2.3)"))
                if total > CODE_DIR_MAX_BYTES:
                    raise SpecError("code_dir", loc.url, (
                        "the code directory holds more than 5 GB; at most 5 GB are allowed "
                        "(seed S2.3); pass training data as an input"))
            return files

        files = self._retry(run, scan, "listing", loc.url)
        return _bulk_warnings(loc, files)


def _bulk_warnings(loc: Location, files: list[ObjectInfo]) -> list[str]:
    warnings = []
    data = [f for f in files if Path(f.key).suffix.lower() in DATA_SUFFIXES]
    data_bytes = sum(f.size for f in data)
    if data_bytes > DATA_BULK_BYTES:
        warnings.append(
            f"the code directory {loc.url} holds {len(data)} data-like file(s) "
            f"({_mb(data_bytes)}); training data belongs in an input channel, not in the "
            "code directory (seed S2.3)")
    large = [f for f in files if f.size > LARGE_FILE_BYTES]
    if large:
        names = ", ".join(f.key[len(loc.key):] for f in large[:3])
        warnings.append(
            f"the code directory {loc.url} holds {len(large)} file(s) over "
            f"{_mb(LARGE_FILE_BYTES)} ({names}); large files slow every job start and "
            "belong in an input channel (seed S2.3)")
    return warnings


def _mb(n: int) -> str:
    return f"{n / 1024**2:.0f} MB"


@contextmanager
def _naming(what: str, url: str) -> Iterator[None]:
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


class _Counter:
    """A progress callback for one attempt that can take back what it reported."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.sent = 0

    def __call__(self, n: int) -> None:
        self.sent += n
        self.run.emit(n)

    def rollback(self) -> None:
        if self.sent:
            self.run.emit(-self.sent)
            self.sent = 0


def _in_background(fn: Callable[[], T]) -> Future[T]:
    """``fn`` started on a thread of its own; the future gives its result or its error."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="modelyard-transfer-listing", daemon=True).start()
    return future


def _bind(fn: Callable[..., None], *args: object) -> Callable[[], None]:
    return lambda: fn(*args)


_Placer = Callable[[Path, bool], AbstractContextManager[Path]]


def _placer(dest: Path, root_fd: int | None) -> _Placer:
    """See ``TransferEngine._pull``: without ``root_fd`` paths are used as they are; with
    it, a file below ``dest`` is reached through a descriptor of its folder, opened from
    ``root_fd`` (= ``dest``) without following a symlink (and created when ``create``)."""
    if root_fd is None:
        return lambda path, _create: nullcontext(path)

    @contextmanager
    def place(path: Path, create: bool) -> Iterator[Path]:
        rel = path.parent.relative_to(dest)
        fd = nofollow.make_dirs(root_fd, rel) if create else nofollow.open_dir_at(root_fd, rel)
        try:
            yield nofollow.pinned(fd) / path.name
        finally:
            os.close(fd)
    return place


def _regular_at(io: Path) -> Callable[[str], int]:
    """An opener for ``_unchanged`` that reads ``io`` only as a regular file."""
    return lambda _path: nofollow.open_regular(io)


def _fd_changed(fd: int, before: os.stat_result) -> bool:
    """The file behind ``fd`` was written to while it was being sent."""
    now = os.fstat(fd)
    return (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns)


def _open_subdir(parent_fd: int, name: str, follow: bool) -> int:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    return os.open(name, flags, dir_fd=parent_fd)


def _loc(value: str | Location) -> Location:
    return parse_location(value) if isinstance(value, str) else value


def _is_local(value: str | Path) -> bool:
    return isinstance(value, Path) or "://" not in value


def _as_location(value: str | Path | Location) -> Location:
    """A local path as a file:// location; URLs parsed."""
    if isinstance(value, Location):
        return value
    if _is_local(value):
        path = os.path.abspath(os.path.expanduser(os.fspath(value)))
        loc = Location("file", "", path.lstrip("/"))
        if str(value).endswith("/") and not loc.is_dir:
            loc = loc.as_dir()
        return loc
    return parse_location(str(value))

