"""Output channels during and after the run (CONTRACT.md "Outputs", issue 3 item 3).

Every ``period`` seconds while the job runs, and once more when it ends however it ends,
each output folder is compared with what was already uploaded and only new or changed
files travel.

The rule for files still being written: during the run a file is uploaded only when no
process of the job holds it open for writing and it has not been modified for
``SETTLE_SECONDS``. The final upload, after every process of the job is gone, takes
everything. A checkpoint written in place is therefore never uploaded half-written while
its writer has it open; a writer that closes and reopens a file within the settle time is
also covered; the upload itself is atomic on the store side (readers see the old object or
the new one).

Symbolic links are not followed: a job must not be able to export host files by linking
to them from its output folder.

The transfer engine does the moving (in parallel, skipping what the store already has,
retrying); a failure is reported and the next period tries again. Locally, a signature
(size, mtime) of what was handed to the engine avoids even listing the store while nothing
changes.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modelyard.runtime.report import Reporter, human_size, plural
from modelyard.settings import Settings
from modelyard.spec.paths import Location, parse_location
from modelyard.storage import TransferEngine

SETTLE_SECONDS = 1.0

Signature = tuple[int, int]
"""(size, mtime in ns) of a file as last uploaded."""


@dataclass(frozen=True)
class OutputChannel:
    name: str
    url: str
    local: Path
    """Host path of ``/home/ma-user/modelarts/outputs/<name>_0``."""


@dataclass
class SyncResult:
    files: int = 0
    bytes: int = 0
    pending: int = 0
    errors: list[str] | None = None


class OutputUploader:
    def __init__(self, channels: list[OutputChannel], settings: Settings, reporter: Reporter,
                 period: float, writers: Callable[[], set[tuple[int, int]]] = set) -> None:
        self.channels = channels
        self.engine = TransferEngine(settings)
        self.reporter = reporter
        self.period = max(0.2, period)
        self.writers = writers
        self._seen: dict[Path, Signature] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_warning = ""

    def mark_present(self) -> None:
        """Records what is in the output folders now (prefetched files) as uploaded."""
        for ch in self.channels:
            for path, st in _files(ch.local):
                self._seen[path] = (st.st_size, st.st_mtime_ns)

    def start(self) -> None:
        if not self.channels:
            return
        self._thread = threading.Thread(target=self._loop, name="output-uploader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            errors = self.sync(final=False).errors
            if errors and errors[0] != self._last_warning:
                self._last_warning = errors[0]
                self.reporter.warning(f"Periodic upload failed, retrying: {errors[0]}")

    def sync(self, final: bool) -> SyncResult:
        """Uploads what changed; ``final`` also takes files that are open or fresh."""
        with self._lock:
            total = SyncResult(errors=[])
            open_files = set() if final else self.writers()
            for ch in self.channels:
                try:
                    files, nbytes, pending = self._sync_channel(ch, final, open_files)
                except Exception as exc:
                    assert total.errors is not None
                    total.errors.append(f"output {ch.name!r} to {ch.url}: {_reason(exc)}")
                    continue
                if files:
                    self.reporter.info(f"Uploaded {plural(files, 'file')} "
                                       f"({human_size(nbytes)}) to {ch.url}")
                total.files += files
                total.bytes += nbytes
                total.pending += pending
            return total

    def _sync_channel(self, ch: OutputChannel, final: bool,
                      open_files: set[tuple[int, int]]) -> tuple[int, int, int]:
        """(files, bytes uploaded, files left for later). The engine does the moving
        (parallel, incremental against what the store has, retried); this decides what it
        may see. When some file is held open for writing, only the ready files go, one by
        one, since the engine cannot be told to leave one out."""
        if final:
            report = self.engine.upload(ch.local, ch.url)
            return report.files, report.bytes, 0
        now = time.time()
        changed = [(p, st) for p, st in _files(ch.local)
                   if self._seen.get(p) != (st.st_size, st.st_mtime_ns)]
        held = {p for p, st in changed if (st.st_dev, st.st_ino) in open_files}
        ready = [(p, st) for p, st in changed
                 if p not in held and now - st.st_mtime >= SETTLE_SECONDS]
        if not ready:
            return 0, 0, len(changed)
        files = nbytes = 0
        if not held:
            report = self.engine.upload(ch.local, ch.url, settle_seconds=SETTLE_SECONDS)
            files, nbytes = report.files, report.bytes
        else:
            for path, _st in ready:
                report = self.engine.upload(path, _dest(ch, path),
                                            settle_seconds=SETTLE_SECONDS)
                files, nbytes = files + report.files, nbytes + report.bytes
        for path, st in ready:
            self._seen[path] = (st.st_size, st.st_mtime_ns)
        return files, nbytes, len(changed) - len(ready)


def _files(root: Path) -> list[tuple[Path, os.stat_result]]:
    """Regular files below ``root`` (symlinks neither followed nor listed)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISREG(st.st_mode):
                out.append((path, st))
    return out


def _dest(ch: OutputChannel, path: Path) -> Location:
    """The folder location a single file is uploaded into."""
    base = parse_location(ch.url).as_dir()
    rel_dir = path.parent.relative_to(ch.local).as_posix()
    return base if rel_dir == "." else base.child(rel_dir).as_dir()


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
