"""Data tasks between object storage and a file system, run in a detached worker process.

``python -m modelyard.service.fs_tasks TASK_ID`` runs one task and writes its progress and
outcome into the task's row. It is its own session (``start_new_session``), so it outlives
the CLI command or server request that started it, and any process can follow it through
the database. The bytes themselves always move through the transfer engine, which writes
each file to a temporary name and renames it into place: a job reading the file system
while a preload runs sees every file either complete or not at all.

The three kinds, in the vocabulary of SFS Turbo data tasks:

- ``preload``: names and contents from object storage into the file system. Incremental:
  files already present and unchanged are skipped by the transfer engine.
- ``import``: names and sizes only. Fetching contents on first access (lazy loading) is
  not implemented; instead the listing is written to a manifest
  (``.modelyard-import.jsonl`` in the target directory) and the directory tree is created,
  so code can enumerate the data set and a later ``preload`` fetches it.
- ``export``: new or changed files from a directory of the file system to object storage.

A file system is mounted writable into jobs, so whatever is below its root may have been
made by a job: a folder symlink pointing at the host, a FIFO. Every task works through
descriptors from the root down and follows none of it (``storage.nofollow``): a preload
into a folder a job replaced by a symlink fails that file instead of writing elsewhere, an
export skips symlinks and special files, an import creates its folders and its manifest
only inside the root.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path, PurePosixPath

from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.paths import Location, parse_location
from modelyard.storage import nofollow
from modelyard.store.db import Database
from modelyard.store.fs_models import FileSystemRow, FsTaskRow

MANIFEST = ".modelyard-import.jsonl"
PART_PREFIX = ".modelyard-part-"
PROGRESS_EVERY = 0.5
"""Seconds between progress writes: often enough for a live bar, rare enough for SQLite."""


class TaskKind(StrEnum):
    IMPORT = "import"
    PRELOAD = "preload"
    EXPORT = "export"


class TaskStatus(StrEnum):
    DOING = "DOING"
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"


class TaskFailed(Exception):
    """A task cannot be done; the message is what the user reads in ``fs tasks``."""


def task_log(settings: Settings, task_id: str) -> Path:
    return settings.home / "fs-tasks" / f"{task_id}.log"


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment of a worker: ours plus every setting, so the worker sees the same
    home, database and object store as the process that started it even when those came
    from arguments rather than the environment."""
    env = dict(os.environ)
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        key = f"MODELYARD_{name.upper()}"
        if value is None:
            env.pop(key, None)  # unset here means unset there, whatever the parent's env says
        elif isinstance(value, str | int | float | Path):
            env[key] = str(value)
    return env


def spawn_worker(settings: Settings, task_id: str) -> int:
    """Starts the worker for ``task_id`` in its own session and returns its pid.

    A daemon thread reaps it if this process lives long enough (the server), so no zombie
    stays behind to look alive.
    """
    log = task_log(settings, task_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelyard.service.fs_tasks", task_id],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=worker_env(settings), start_new_session=True, close_fds=True,
        )
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{task_id}").start()
    return proc.pid


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs; a zombie (exited, not yet reaped) counts as ended."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class _Progress:
    """Counts bytes from the transfer engine (possibly from several threads) and writes
    them to the task row at most every PROGRESS_EVERY seconds."""

    def __init__(self, flush: Callable[[int, float], None]) -> None:
        self._flush = flush
        self._lock = threading.Lock()
        self.bytes = 0
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, n: int) -> None:
        with self._lock:
            self.bytes += n
            now = time.monotonic()
            if now - self._last < PROGRESS_EVERY:
                return
            self._last = now
            moved, rate = self.bytes, self.rate
        self._flush(moved, rate)

    @property
    def rate(self) -> float:
        return self.bytes / max(time.monotonic() - self.started, 1e-6)


class TaskRunner:
    """Runs one task to its end and records the outcome; never leaves it DOING."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def run(self, task_id: str) -> str:
        with self.db.session() as s:
            task = s.get(FsTaskRow, task_id)
            if task is None:
                raise TaskFailed(f"no file-system task {task_id!r}")
            if task.status != TaskStatus.DOING:
                return task.status  # already finished (or run twice): nothing to do
            fs = s.get(FileSystemRow, task.filesystem_id)
            task.pid, task.host = os.getpid(), socket.gethostname()
            task.started_at = task.updated_at = time.time()
        try:
            if fs is None:
                raise TaskFailed("the file system was deleted")
            root = Path(fs.path)
            if not root.is_dir():
                raise TaskFailed(f"the file system's directory {root} does not exist")
            kind = TaskKind(task.kind)
            if kind == TaskKind.EXPORT:
                self._export(task, root)
            elif kind == TaskKind.PRELOAD:
                self._preload(task, root)
            else:
                self._import(task, root)
        except Exception as exc:
            # Our own errors (storage, spec) already read as a sentence; others get a name.
            ours = isinstance(exc, TaskFailed | SpecError) or type(exc).__module__.startswith(
                "modelyard.")
            message = str(exc) if ours else f"{type(exc).__name__}: {exc}"
            self._finish(task_id, TaskStatus.FAIL, message)
            return TaskStatus.FAIL
        return TaskStatus.SUCCESS

    # ----------------------------------------------------------------- kinds
    def _preload(self, task: FsTaskRow, root: Path) -> None:
        from modelyard.storage.transfer import TransferEngine

        loc = parse_location(task.source, "source")
        files, size = self._source_totals(loc)
        self._update(task.id, total_files=files, total_bytes=size)
        dest = inside(root, task.destination)
        progress = _Progress(lambda moved, rate: self._update(task.id, bytes=moved, rate=rate))
        report = TransferEngine(self.settings).download(loc, dest, progress,
                                                        beneath=root.resolve())
        self._done(task.id, report.files, report.bytes, report.skipped, report.errors,
                   progress.started)

    def _export(self, task: FsTaskRow, root: Path) -> None:
        from modelyard.storage.transfer import TransferEngine

        src = inside(root, task.source)
        base = root.resolve()
        if not src.exists():
            raise TaskFailed(f"{task.source} does not exist in the file system")
        sizes = _file_sizes(src, base)
        self._update(task.id, total_files=len(sizes), total_bytes=sum(sizes))
        progress = _Progress(lambda moved, rate: self._update(task.id, bytes=moved, rate=rate))
        report = TransferEngine(self.settings).upload(src, task.destination, progress,
                                                      beneath=base)
        self._done(task.id, report.files, report.bytes, report.skipped, report.errors,
                   progress.started)

    def _import(self, task: FsTaskRow, root: Path) -> None:
        """Metadata only: the listing goes to a manifest, the directory tree is created."""
        from modelyard.storage.registry import store_for

        started = time.monotonic()
        loc = parse_location(task.source, "source")
        store = store_for(loc, self.settings)
        dest = inside(root, task.destination)
        single = None if loc.is_dir else store.stat(loc.bucket, loc.key)
        entries = []
        if single is not None:
            entries.append((loc.name, single))
        else:
            prefix = loc.as_dir()
            for info in store.list(loc.bucket, prefix.key):
                entries.append((info.key[len(prefix.key):], info))
        if not entries:
            raise TaskFailed(_nothing_at(loc))
        tmp = f"{PART_PREFIX}{MANIFEST}.{os.getpid()}"
        total = 0
        with nofollow.opened_dir(root.resolve()) as top:
            dest_fd = nofollow.make_dirs(top, dest.relative_to(root.resolve()))
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dest_fd)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644,
                         dir_fd=dest_fd)
            with os.fdopen(fd, "w") as fh:
                for rel, info in entries:
                    os.close(nofollow.make_dirs(dest_fd, PurePosixPath(rel).parent))
                    url = Location(loc.scheme, loc.bucket, info.key).url
                    fh.write(json.dumps({"path": rel, "size": info.size, "etag": info.etag,
                                         "mtime": info.mtime, "url": url}) + "\n")
                    total += info.size
            os.replace(tmp, MANIFEST, src_dir_fd=dest_fd, dst_dir_fd=dest_fd)
        finally:
            os.close(dest_fd)
        elapsed = max(time.monotonic() - started, 1e-6)
        self._finish(task.id, TaskStatus.SUCCESS, None, total_files=len(entries),
                     total_bytes=total, files=len(entries), bytes=0, skipped=0,
                     rate=len(entries) / elapsed)

    # --------------------------------------------------------------- helpers
    def _source_totals(self, loc: Location) -> tuple[int, int]:
        """What a download of ``loc`` will see, for the progress bar; fails the task early
        and clearly when there is nothing there."""
        from modelyard.storage.registry import store_for

        store = store_for(loc, self.settings)
        single = None if loc.is_dir else store.stat(loc.bucket, loc.key)
        if single is not None:
            return 1, single.size
        files = size = 0
        for info in store.list(loc.bucket, loc.as_dir().key):
            files += 1
            size += info.size
        if not files:
            raise TaskFailed(_nothing_at(loc))
        return files, size

    def _done(self, task_id: str, files: int, size: int, skipped: int, errors: list[str],
              started: float) -> None:
        rate = size / max(time.monotonic() - started, 1e-6)
        if errors:
            shown = "; ".join(errors[:3]) + (f" (and {len(errors) - 3} more)"
                                             if len(errors) > 3 else "")
            self._finish(task_id, TaskStatus.FAIL, f"{len(errors)} files failed: {shown}",
                         files=files, bytes=size, skipped=skipped, rate=rate)
        else:
            self._finish(task_id, TaskStatus.SUCCESS, None, files=files, bytes=size,
                         skipped=skipped, rate=rate)

    def _update(self, task_id: str, **values: object) -> None:
        with self.db.session() as s:
            task = s.get(FsTaskRow, task_id)
            if task is None or task.status != TaskStatus.DOING:
                return
            for key, value in values.items():
                setattr(task, key, value)
            task.updated_at = time.time()

    def _finish(self, task_id: str, status: TaskStatus, message: str | None,
                **values: object) -> None:
        with self.db.session() as s:
            task = s.get(FsTaskRow, task_id)
            if task is None:
                return
            for key, value in values.items():
                setattr(task, key, value)
            task.status, task.message = status.value, message
            task.ended_at = task.updated_at = time.time()


def inside(root: Path, rel: str) -> Path:
    """``root/rel``, refusing anything that resolves outside ``root`` (a symlink in the
    file system must not let a task write elsewhere)."""
    base = root.resolve()
    path = (base / rel.strip("/")).resolve() if rel.strip("/") else base
    if path != base and base not in path.parents:
        raise TaskFailed(f"{rel!r} leads outside the file system")
    return path


def _file_sizes(src: Path, base: Path) -> list[int]:
    """Sizes of the regular files an export of ``src`` sends (symlinks and special files
    are neither followed nor counted)."""
    if src == base:  # the whole file system
        with nofollow.opened_dir(base) as fd:
            return [st.st_size for _rel, st in nofollow.walk_files(fd, PART_PREFIX)]
    with nofollow.opened_dir(src.parent, base) as parent:
        st = os.stat(src.name, dir_fd=parent, follow_symlinks=False)
        if stat.S_ISREG(st.st_mode):
            return [st.st_size]
        if not stat.S_ISDIR(st.st_mode):
            raise TaskFailed(f"{src.name} is a {nofollow.kind_of(st.st_mode)}, not a file or "
                             "folder; symbolic links are not exported")
        fd = os.open(src.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
    try:
        return [st.st_size for _rel, st in nofollow.walk_files(fd, PART_PREFIX)]
    finally:
        os.close(fd)


def _nothing_at(loc: Location) -> str:
    return (f"source {loc.url} does not exist: no object has that key or starts with that "
            "prefix")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m modelyard.service.fs_tasks TASK_ID", file=sys.stderr)
        return 2
    settings = Settings()
    db = Database(settings.database_url)
    try:
        status = TaskRunner(settings, db).run(args[0])
    finally:
        with contextlib.suppress(Exception):
            db.dispose()
    return 0 if status == TaskStatus.SUCCESS else 1


if __name__ == "__main__":
    sys.exit(main())
