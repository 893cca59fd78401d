"""Uploads: a local file or folder to a prefix, incremental, retried, checked; walked and
read through folder descriptors so that a job cannot export host files by linking to
them; files still being written are left for the next round."""

from __future__ import annotations

import builtins
import errno
import os
import stat as statmod
import time
from collections.abc import Callable
from pathlib import Path

from modelyard.spec.paths import Location
from modelyard.storage import nofollow
from modelyard.storage.base import NotFoundError
from modelyard.storage.local import PART_PREFIX
from modelyard.storage.nofollow import Skipped
from modelyard.storage.transfer.workers import (
    Counter,
    EngineCore,
    LocalFile,
    ProgressCallback,
    Run,
    TransferReport,
    as_loc,
    bind,
    in_background,
    naming,
)


class _Changed(Exception):
    """The local file changed (or vanished) while it was being uploaded."""


class Uploads(EngineCore):
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
        loc = as_loc(dest)
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

    def _upload_pairs(self, src: Path, loc: Location, local_files: Callable[[], list[LocalFile]],
                      list_prefix: str, progress: ProgressCallback | None,
                      settle_seconds: float, open_local: Callable[[str], int]
                      ) -> TransferReport:
        with naming(f"upload of {src} to", loc.url):
            return self._upload(src, loc, local_files, list_prefix, progress, settle_seconds,
                                open_local)

    def _upload(self, src: Path, loc: Location, local_files: Callable[[], list[LocalFile]],
                list_prefix: str, progress: ProgressCallback | None,
                settle_seconds: float, open_local: Callable[[str], int]) -> TransferReport:
        """``local_files`` (the walk) runs while the store is opened and listed on another
        thread: an unchanged re-sync is little more than these two, so it takes the longer
        of them rather than their sum."""
        t0 = time.monotonic()
        run = Run(progress)
        report = TransferReport()
        cache = self._cache()

        try:
            listing = in_background(
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
                        sent = Counter(run)
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

            self._fail(self._parallel(run, [bind(one, p, k) for p, k in todo]),
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
            self._inconsistent(problems, f"upload of {src} to {loc.url}", loc.url,
                               f"{len(problems)} of {len(expected)} object(s) do not match",
                               report)
        finally:
            cache.close()
            report.retries, report.seconds = run.retries, time.monotonic() - t0
        return report


def _fd_changed(fd: int, before: os.stat_result) -> bool:
    """The file behind ``fd`` was written to while it was being sent."""
    now = os.fstat(fd)
    return (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns)


def _open_subdir(parent_fd: int, name: str, follow: bool) -> int:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    return os.open(name, flags, dir_fd=parent_fd)
