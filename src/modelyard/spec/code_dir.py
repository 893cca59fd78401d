"""Seed S2.3: what a code directory may hold, judged from a listing of it.

The rule lives here with the other seed rules; the transfer engine feeds it the listing
(``TransferEngine.check_code_dir_limits``), one entry at a time, so that a 5 GB mistake
fails at the first object past a limit, in a second, and not after an hour of copying.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from modelyard.spec.errors import SpecError

CODE_DIR_MAX_ENTRIES = 1000
"""Files and folders (folders counted from the keys: ``a/b/x.py`` implies ``a`` and
``a/b``)."""
CODE_DIR_MAX_BYTES = 5 * 1024**3
CODE_DIR_MAX_DEPTH = 32
"""Components of a path: ``a/b/train.py`` has depth 3."""
# "Do not put training data in the code directory": when to warn.
DATA_SUFFIXES = frozenset({
    ".npy", ".npz", ".csv", ".tsv", ".tfrecord", ".tfrecords", ".parquet", ".arrow", ".h5",
    ".hdf5", ".zip", ".tar", ".gz", ".tgz", ".jpg", ".jpeg", ".png", ".bmp", ".wav", ".mp4",
    ".pkl", ".pt", ".pth", ".ckpt", ".safetensors", ".bin",
})
DATA_BULK_BYTES = 100 * 1024**2
LARGE_FILE_BYTES = 50 * 1024**2


def check_code_dir_listing(url: str, entries: Iterable[tuple[str, int]]) -> list[str]:
    """Checks the code directory at ``url`` from its listing: ``entries`` are (key relative
    to the directory, size), a key ending in '/' being a folder marker. Raises SpecError
    naming ``code_dir`` at the first entry past a limit; returns warnings when the
    directory looks like it holds training data."""
    files: list[tuple[str, int]] = []
    folders: set[str] = set()
    total = 0
    for key, size in entries:
        rel = key.rstrip("/")
        if not rel:
            continue
        parts = rel.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
        if key.endswith("/"):
            folders.add(rel)
        else:
            files.append((rel, size))
            total += size
        if len(files) + len(folders) > CODE_DIR_MAX_ENTRIES:
            raise SpecError("code_dir", url, (
                f"the code directory holds more than {CODE_DIR_MAX_ENTRIES} files and "
                "folders (seed S2.3); keep training data out of it and pass it as an input"))
        if len(parts) > CODE_DIR_MAX_DEPTH:
            raise SpecError("code_dir", url, (
                f"{rel!r} is {len(parts)} levels deep; a code directory may be at most "
                f"{CODE_DIR_MAX_DEPTH} levels deep (seed S2.3)"))
        if total > CODE_DIR_MAX_BYTES:
            raise SpecError("code_dir", url, (
                "the code directory holds more than 5 GB; at most 5 GB are allowed "
                "(seed S2.3); pass training data as an input"))
    return _bulk_warnings(url, files)


def _bulk_warnings(url: str, files: list[tuple[str, int]]) -> list[str]:
    warnings = []
    data = [(rel, size) for rel, size in files
            if PurePosixPath(rel).suffix.lower() in DATA_SUFFIXES]
    data_bytes = sum(size for _, size in data)
    if data_bytes > DATA_BULK_BYTES:
        warnings.append(
            f"the code directory {url} holds {len(data)} data-like file(s) "
            f"({_mb(data_bytes)}); training data belongs in an input channel, not in the "
            "code directory (seed S2.3)")
    large = [rel for rel, size in files if size > LARGE_FILE_BYTES]
    if large:
        names = ", ".join(large[:3])
        warnings.append(
            f"the code directory {url} holds {len(large)} file(s) over "
            f"{_mb(LARGE_FILE_BYTES)} ({names}); large files slow every job start and "
            "belong in an input channel (seed S2.3)")
    return warnings


def _mb(n: int) -> str:
    return f"{n / 1024**2:.0f} MB"
