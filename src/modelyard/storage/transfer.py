"""The transfer engine: every path that moves bytes goes through here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelyard.settings import Settings
from modelyard.spec.paths import Location, parse_location
from modelyard.storage.registry import store_for

ProgressCallback = Callable[[int], None]


@dataclass
class TransferReport:
    files: int = 0
    bytes: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


class TransferEngine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def download(self, src: str | Location, dest: Path,
                 progress: ProgressCallback | None = None) -> TransferReport:
        """Copies the object or prefix at ``src`` into folder ``dest`` (a single object lands
        as ``dest/<name>``)."""
        loc = parse_location(src) if isinstance(src, str) else src
        store = store_for(loc, self.settings)
        report = TransferReport()
        single = None if loc.is_dir else store.stat(loc.bucket, loc.key)
        if single is not None:
            store.get(loc.bucket, loc.key, dest / loc.name, progress)
            report.files, report.bytes = 1, single.size
            return report
        prefix = loc.as_dir().key
        for info in store.list(loc.bucket, prefix):
            rel = info.key[len(prefix):]
            store.get(loc.bucket, info.key, dest / rel, progress)
            report.files += 1
            report.bytes += info.size
        return report

    def upload(self, src: Path, dest: str | Location,
               progress: ProgressCallback | None = None) -> TransferReport:
        """Copies folder (or file) ``src`` to the prefix ``dest``."""
        loc = parse_location(dest) if isinstance(dest, str) else dest
        store = store_for(loc, self.settings)
        store.ensure_bucket(loc.bucket)
        report = TransferReport()
        files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        base = loc.as_dir()
        for path in files:
            rel = path.name if path == src else path.relative_to(src).as_posix()
            key = base.child(rel).key
            store.put(path, loc.bucket, key, progress)
            report.files += 1
            report.bytes += path.stat().st_size
        return report
