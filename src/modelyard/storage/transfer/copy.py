"""Copies in any direction (``cp`` semantics): local to store (an upload), store to local
(a download), and store to store, server-side when both ends are the same store."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path

from modelyard.spec.paths import Location, parse_location
from modelyard.storage.base import NotFoundError, ObjectInfo, StorageError, TransferError
from modelyard.storage.transfer.download import Downloads
from modelyard.storage.transfer.upload import Uploads
from modelyard.storage.transfer.workers import (
    MTIME_TOLERANCE,
    Counter,
    ProgressCallback,
    Run,
    TransferReport,
    bind,
    naming,
)


class Copies(Downloads, Uploads):
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
        with naming("download of", loc.url):
            return self._download_object(loc, dest, into, progress)

    def _copy_remote(self, s_loc: Location, d_loc: Location, recursive: bool, into: bool,
                     progress: ProgressCallback | None) -> TransferReport:
        with naming(f"copy of {s_loc.url} to", d_loc.url):
            return self._copy_objects(s_loc, d_loc, recursive, into, progress)

    def _copy_objects(self, s_loc: Location, d_loc: Location, recursive: bool, into: bool,
                      progress: ProgressCallback | None) -> TransferReport:
        """Store to store (also file:// to file://): server-side when both are the same
        store, else through a temporary local file per object."""
        t0 = time.monotonic()
        src_store, dst_store = self.store(s_loc), self.store(d_loc)
        run = Run(progress)
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
                            and abs(info.mtime - have.mtime) <= MTIME_TOLERANCE)):
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
                    sent = Counter(run)
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
                self._fail(self._parallel(run, [bind(one, i, k) for i, k in todo]),
                           f"copy of {s_loc.url} to", d_loc.url, report)
            finally:
                if tmpdir is not None:
                    shutil.rmtree(tmpdir, ignore_errors=True)
            after = existing if not report.files else self._listing(
                run, dst_store, d_loc.bucket, list_prefix)
            problems = [f"{dst_store.url(d_loc.bucket, k)}" for i, k in pairs
                        if k not in after or after[k].size != i.size]
            self._inconsistent(problems, f"copy of {s_loc.url} to {d_loc.url}", d_loc.url,
                               f"{len(problems)} object(s) missing or of the wrong size",
                               report)
        finally:
            report.retries, report.seconds = run.retries, time.monotonic() - t0
        return report


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
