"""Object stores on the local file system: the embedded ``obs://`` store and ``file://``."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from modelyard.storage.base import ObjectInfo, ObjectStore, Progress

_CHUNK = 1 << 20
PART_PREFIX = ".modelyard-part-"
"""Temporary files being written start with this; listings and uploads ignore them."""


class FolderStore(ObjectStore):
    """Buckets are folders under ``root`` (``root/<bucket>/<key>``). With ``root=/`` and an
    empty bucket this is ``file://``.

    There is no content etag: a copy keeps the source's modification time, so "same size and
    same mtime" is how the transfer engine recognises an unchanged file here."""

    def __init__(self, root: Path, scheme: str = "obs") -> None:
        self.root = Path(root)
        self.scheme = scheme

    def __repr__(self) -> str:
        return f"FolderStore(root={str(self.root)!r}, scheme={self.scheme!r})"

    def _path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key if bucket else self.root / key

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        base = self._path(bucket, "")
        start = self._path(bucket, prefix)
        if start.is_file():
            yield self._info(start, base)
            if not prefix.endswith("/"):
                # "data/a" also matches "data/a.csv" and "data/ab/x", as in S3.
                yield from self._walk(start.parent, base, prefix, skip=start)
            return
        # A prefix may end mid-name ("data/tr" matches "data/train.csv"), as in S3.
        folder = start if prefix.endswith("/") or not prefix else start.parent
        yield from self._walk(folder, base, prefix)

    def _walk(self, folder: Path, base: Path, prefix: str,
              skip: Path | None = None) -> Iterator[ObjectInfo]:
        if not folder.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                if name.startswith(PART_PREFIX):
                    continue
                path = Path(dirpath) / name
                if path == skip:
                    continue
                rel = path.relative_to(base).as_posix()
                if rel.startswith(prefix):
                    try:
                        yield self._info(path, base)
                    except FileNotFoundError:  # deleted while we walked
                        continue

    def _info(self, path: Path, base: Path) -> ObjectInfo:
        st = path.stat()
        return ObjectInfo(key=path.relative_to(base).as_posix(), size=st.st_size,
                          etag=None, mtime=st.st_mtime)

    def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        path = self._path(bucket, key)
        if not path.is_file():
            return None
        return self._info(path, self._path(bucket, ""))

    def get(self, bucket: str, key: str, dest: Path, progress: Progress | None = None,
            *, size: int | None = None) -> None:
        _copy_atomic(self._path(bucket, key), dest, progress)

    def put(self, src: Path, bucket: str, key: str, progress: Progress | None = None) -> ObjectInfo:
        dest = self._path(bucket, key)
        _copy_atomic(src, dest, progress)
        return self._info(dest, self._path(bucket, ""))

    def delete(self, bucket: str, key: str) -> None:
        self._path(bucket, key).unlink(missing_ok=True)

    def ensure_bucket(self, bucket: str) -> None:
        if bucket:
            self._path(bucket, "").mkdir(parents=True, exist_ok=True)

    def server_copy(self, src_bucket: str, src_key: str, bucket: str, key: str) -> bool:
        _copy_atomic(self._path(src_bucket, src_key), self._path(bucket, key), None)
        return True


@contextmanager
def atomic_file(dest: Path) -> Iterator[BinaryIO]:
    """A file that appears at ``dest`` complete or not at all: written as a hidden temporary
    next to it (``PART_PREFIX``), renamed into place when the block ends without error and
    removed when it fails. Every store writes local files this way.

    The parent folder is created only when the temporary cannot be (each mkdir takes the
    grandparent's lock; with 32 files in flight into the same few folders, one per file
    was a measurable share of a 1000-file download)."""
    tmp = dest.with_name(f"{PART_PREFIX}{dest.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        fh = _create(tmp)
    except FileNotFoundError:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fh = _create(tmp)
    try:
        with fh:
            yield fh
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _create(tmp: Path) -> BinaryIO:
    """A new file, never an existing one: ``O_EXCL`` does not follow a symlink, so a
    temporary name planted in a folder a job can write (a file system) is not written
    through. A leftover of ours with this name (same pid and thread) is replaced."""
    try:
        return tmp.open("xb")
    except FileExistsError:
        tmp.unlink()
        return tmp.open("xb")


def _copy_atomic(src: Path, dest: Path, progress: Progress | None) -> None:
    """Streams ``src`` to ``dest`` (see ``atomic_file``): a reader sees the old file or the
    new one, never half of it.

    The copy gets the mtime ``src`` had *before* reading: if ``src`` changes while we copy,
    its mtime moves past the copy's and the next incremental round sends it again."""
    st = src.stat()
    with src.open("rb") as fin, atomic_file(dest) as fout:
        while chunk := fin.read(_CHUNK):
            fout.write(chunk)
            if progress:
                progress(len(chunk))
        fout.flush()
        os.fchmod(fout.fileno(), st.st_mode & 0o7777)
        os.utime(fout.fileno(), ns=(st.st_atime_ns, st.st_mtime_ns))


def file_md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
