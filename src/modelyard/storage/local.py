"""Object stores on the local file system: the embedded ``obs://`` store and ``file://``."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from modelyard.storage.base import ObjectInfo, ObjectStore, Progress

_CHUNK = 1 << 20


class FolderStore(ObjectStore):
    """Buckets are folders under ``root`` (``root/<bucket>/<key>``). With ``root=/`` and an
    empty bucket this is ``file://``."""

    def __init__(self, root: Path, scheme: str = "obs") -> None:
        self.root = Path(root)
        self.scheme = scheme

    def _path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key if bucket else self.root / key

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        base = self._path(bucket, "")
        start = self._path(bucket, prefix)
        if start.is_file():
            yield self._info(start, base)
            return
        # A prefix may end mid-name ("data/tr" matches "data/train.csv"), as in S3.
        folder = start if prefix.endswith("/") or not prefix else start.parent
        if not folder.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if name.startswith(".modelyard-part-"):
                    continue
                rel = path.relative_to(base).as_posix()
                if rel.startswith(prefix):
                    yield self._info(path, base)

    def _info(self, path: Path, base: Path) -> ObjectInfo:
        st = path.stat()
        return ObjectInfo(key=path.relative_to(base).as_posix(), size=st.st_size,
                          etag=None, mtime=st.st_mtime)

    def stat(self, bucket: str, key: str) -> ObjectInfo | None:
        path = self._path(bucket, key)
        if not path.is_file():
            return None
        return self._info(path, self._path(bucket, ""))

    def get(self, bucket: str, key: str, dest: Path, progress: Progress | None = None) -> None:
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

    def local_etag(self, path: Path) -> str | None:
        return None


def _copy_atomic(src: Path, dest: Path, progress: Progress | None) -> None:
    """Streams ``src`` to a hidden temporary next to ``dest`` and renames it into place, so a
    reader sees the old file or the new one, never half of it."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".modelyard-part-{dest.name}.{os.getpid()}")
    try:
        with src.open("rb") as fin, tmp.open("wb") as fout:
            while chunk := fin.read(_CHUNK):
                fout.write(chunk)
                if progress:
                    progress(len(chunk))
        shutil.copystat(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def file_md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
