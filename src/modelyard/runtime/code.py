"""Staging the code directory (seed S2.2, S2.3).

The limits are checked by listing the remote code directory, before a single byte is
downloaded: a 5 GB mistake should fail in a second, not after an hour of copying. The limits
are module constants so tests can lower them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.paths import Location, parse_location
from modelyard.storage import ObjectInfo, TransferEngine, store_for

MAX_ENTRIES = 1000
"""S2.3: files and folders in total."""
MAX_BYTES = 5 * 1024**3
"""S2.3: total size."""
MAX_DEPTH = 32
"""S2.3: path components below the code directory (``a/b/train.py`` has depth 3)."""

BULK_FILE_BYTES = 100 * 1024**2
BULK_DATA_FILES = 200
DATA_SUFFIXES = frozenset({
    ".bin", ".npy", ".npz", ".pt", ".pth", ".ckpt", ".h5", ".hdf5", ".pkl", ".pickle",
    ".tfrecord", ".parquet", ".arrow", ".csv", ".tsv", ".zip", ".tar", ".gz", ".tgz",
    ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".wav", ".mp3", ".mp4", ".safetensors",
})


@dataclass(frozen=True)
class CodeListing:
    location: Location
    objects: list[ObjectInfo]
    entries: int
    total_bytes: int
    depth: int
    warnings: list[str]


def check_code_dir_limits(url: str, settings: Settings) -> CodeListing:
    """Lists ``url`` and enforces S2.3. Raises SpecError naming ``code_dir`` when a limit is
    broken or nothing is there; returns the listing and warnings about data-like bulk."""
    loc = parse_location(url, "code_dir").as_dir()
    store = store_for(loc, settings)
    objects: list[ObjectInfo] = []
    folders: set[str] = set()
    total = depth = 0
    for info in store.list(loc.bucket, loc.key):
        rel = info.key[len(loc.key):]
        if not rel:
            continue  # a "folder marker" object
        parts = rel.split("/")
        depth = max(depth, len(parts))
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
        objects.append(info)
        total += info.size
        if len(objects) + len(folders) > MAX_ENTRIES:
            raise SpecError("code_dir", loc.url, (
                f"the code directory holds more than {MAX_ENTRIES} files and folders "
                "(seed S2.3); keep data out of it and pass it as an input"))
        if depth > MAX_DEPTH:
            raise SpecError("code_dir", loc.url, (
                f"the code directory is nested {depth} levels deep ({rel}); at most "
                f"{MAX_DEPTH} are allowed (seed S2.3)"))
        if total > MAX_BYTES:
            raise SpecError("code_dir", loc.url, (
                f"the code directory holds more than {_size(MAX_BYTES)}; at most "
                f"{_size(MAX_BYTES)} are allowed (seed S2.3); pass data as an input"))
    if not objects:
        raise SpecError("code_dir", loc.url, "there are no files at this location")
    return CodeListing(loc, objects, len(objects) + len(folders), total, depth,
                       _bulk_warnings(loc, objects))


def _bulk_warnings(loc: Location, objects: list[ObjectInfo]) -> list[str]:
    """S2.3: "do not put training data in the code directory" — say so when it looks like
    someone did."""
    warnings = []
    big = [o for o in objects if o.size >= BULK_FILE_BYTES]
    if big:
        names = ", ".join(o.key[len(loc.key):] for o in big[:3])
        warnings.append(
            f"The code directory {loc.url} holds {len(big)} large file(s) ({names}); training "
            "data belongs in an input channel, not in the code directory (seed S2.3)")
    data = [o for o in objects if Path(o.key).suffix.lower() in DATA_SUFFIXES]
    if len(data) >= BULK_DATA_FILES:
        warnings.append(
            f"The code directory {loc.url} holds {len(data)} data-like files; training data "
            "belongs in an input channel, not in the code directory (seed S2.3)")
    return warnings


def download_code(listing: CodeListing, dest: Path, engine: TransferEngine,
                  progress: Callable[[int], None] | None = None) -> int:
    """Downloads the checked code directory into ``dest``; returns the bytes moved."""
    dest.mkdir(parents=True, exist_ok=True)
    return engine.download(listing.location, dest, progress).bytes


def _size(n: int) -> str:
    gib = n / 1024**3
    return f"{gib:g} GB" if gib >= 1 else f"{n} bytes"
