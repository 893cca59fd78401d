"""Downloads: an object or a prefix into a local folder, incremental, retried, checked,
and (with ``beneath``) written without following a symlink a job planted."""

from __future__ import annotations

import os
import stat as statmod
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from modelyard.spec.errors import SpecError
from modelyard.spec.paths import Location, safe_relative_path
from modelyard.storage import nofollow
from modelyard.storage.base import NotFoundError, ObjectInfo, ObjectStore, TransferError
from modelyard.storage.transfer.workers import (
    Counter,
    EngineCore,
    ProgressCallback,
    Run,
    TransferReport,
    as_loc,
    bind,
    naming,
)


class Downloads(EngineCore):
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
        loc = as_loc(src)
        with naming("download of", loc.url):
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
        run = Run(progress)
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

    def _remote_items(self, run: Run, store: ObjectStore, loc: Location
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

    def _pull(self, run: Run, store: ObjectStore, loc: Location,
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
                    sent = Counter(run)
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

            self._fail(self._parallel(run, [bind(one, i, p) for i, p in todo]),
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

    def _download_object(self, loc: Location, dest: Path, into: bool,
                         progress: ProgressCallback | None) -> TransferReport:
        t0 = time.monotonic()
        store = self.store(loc)
        run = Run(progress)
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


_Placer = Callable[[Path, bool], AbstractContextManager[Path]]


def _placer(dest: Path, root_fd: int | None) -> _Placer:
    """See ``Downloads._pull``: without ``root_fd`` paths are used as they are; with
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
