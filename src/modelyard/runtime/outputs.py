"""Output channels during and after the run (docs/contract.md "Outputs", issue 3 item 3).

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

Nothing a job leaves in an output folder is followed (issue 13): the folders are walked
through descriptors from the job folder's ``home`` down (``storage.nofollow``), each file is
read through a descriptor opened ``O_NOFOLLOW``, and a symlink (to a file or a folder), a
FIFO, a socket or a device is skipped with a warning event, once per name. An output folder
that the job replaced by a symlink uploads nothing (also with a warning). A job therefore
cannot export host files by linking to them from its outputs.

The transfer engine does the moving (in parallel, skipping what the store already has,
retrying); a failure is reported and the next period tries again. Locally, a signature
(size, mtime) of what was handed to the engine avoids even listing the store while nothing
changes.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modelyard.runtime.report import Reporter, human_size, plural
from modelyard.settings import Settings
from modelyard.spec.paths import Location, parse_location
from modelyard.storage import TransferEngine
from modelyard.storage.local import PART_PREFIX
from modelyard.storage.nofollow import Skipped, UnsafePath, open_dir, walk_files

SETTLE_SECONDS = 1.0

Signature = tuple[int, int]
"""(size, mtime in ns) of a file as last uploaded."""


@dataclass(frozen=True)
class OutputChannel:
    name: str
    url: str
    local: Path
    """Host path of ``/home/ma-user/modelarts/outputs/<name>_0``."""
    beneath: Path | None = None
    """The folder above ``local`` that the job cannot change (its job folder's ``home``):
    no component between the two is followed."""


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
        self._warned: set[tuple[str, str]] = set()

    def mark_present(self) -> None:
        """Records what is in the output folders now (prefetched files) as uploaded."""
        for ch in self.channels:
            for path, st in self._files(ch):
                self._seen[path] = (st.st_size, st.st_mtime_ns)

    def _files(self, ch: OutputChannel) -> list[tuple[Path, os.stat_result]]:
        """Regular files of the channel; warns about what is skipped."""
        skipped: list[Skipped] = []
        try:
            fd = open_dir(ch.local, ch.beneath)
        except FileNotFoundError:
            return []
        except (UnsafePath, NotADirectoryError):
            self._warn_folder(ch)
            return []
        try:
            files = [(ch.local / rel, st) for rel, st in walk_files(fd, PART_PREFIX, skipped)]
        finally:
            os.close(fd)
        self._warn_skipped(ch, skipped)
        return files

    def _warn_skipped(self, ch: OutputChannel, skipped: list[Skipped]) -> None:
        for item in skipped:
            if (ch.name, item.rel) in self._warned:
                continue
            self._warned.add((ch.name, item.rel))
            what = "a symbolic link" if item.kind == "symlink" else f"a {item.kind}"
            self.reporter.warning(f"Output {ch.name}: {item.rel} is {what}, not uploaded "
                                  "(outputs take regular files and folders only)")

    def _warn_folder(self, ch: OutputChannel) -> None:
        if (ch.name, "") not in self._warned:
            self._warned.add((ch.name, ""))
            self.reporter.warning(f"Output {ch.name}: the output folder (or a folder above "
                                  "it) was replaced by a symbolic link or a file; nothing "
                                  "is uploaded from it")

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
            skipped: list[Skipped] = []
            try:
                report = self.engine.upload(ch.local, ch.url, beneath=ch.beneath,
                                            skipped=skipped)
            except (UnsafePath, NotADirectoryError):
                self._warn_folder(ch)
                return 0, 0, 0
            self._warn_skipped(ch, skipped)
            return report.files, report.bytes, 0
        now = time.time()
        changed = [(p, st) for p, st in self._files(ch)
                   if self._seen.get(p) != (st.st_size, st.st_mtime_ns)]
        held = {p for p, st in changed if (st.st_dev, st.st_ino) in open_files}
        ready = [(p, st) for p, st in changed
                 if p not in held and now - st.st_mtime >= SETTLE_SECONDS]
        if not ready:
            return 0, 0, len(changed)
        files = nbytes = 0
        try:
            if not held:
                report = self.engine.upload(ch.local, ch.url, settle_seconds=SETTLE_SECONDS,
                                            beneath=ch.beneath)
                files, nbytes = report.files, report.bytes
            else:
                for path, _st in ready:
                    report = self.engine.upload(path, _dest(ch, path),
                                                settle_seconds=SETTLE_SECONDS,
                                                beneath=ch.beneath)
                    files, nbytes = files + report.files, nbytes + report.bytes
        except (UnsafePath, NotADirectoryError):  # swapped since the walk: next round
            return files, nbytes, len(changed)
        for path, st in ready:
            self._seen[path] = (st.st_size, st.st_mtime_ns)
        return files, nbytes, len(changed) - len(ready)


def _dest(ch: OutputChannel, path: Path) -> Location:
    """The folder location a single file is uploaded into."""
    base = parse_location(ch.url).as_dir()
    rel_dir = path.parent.relative_to(ch.local).as_posix()
    return base if rel_dir == "." else base.child(rel_dir).as_dir()


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
