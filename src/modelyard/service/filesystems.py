"""File systems (seed S5): a registry of directories on fast storage, their data tasks, and
the mount resolver that turns a job's ``spec.volumes`` into bind mounts.

A file system is just a directory — a fast local disk on one machine, or a shared mount
(NFS, Lustre, JuiceFS...) present at the same path on every node of a cluster. Keeping it
that plain is what lets a job read it at local-disk speed through a bind mount, with
read-only enforced by the kernel in the sandbox.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from modelyard.service.errors import Conflict, NotFound
from modelyard.service.filesystem_records import (
    AVAILABLE,
    FileSystemRecord,
    FsTaskRecord,
    MountingJob,
    filesystem_record,
    task_record,
)
from modelyard.service.fs_tasks import (
    TaskKind,
    TaskStatus,
    inside,
    pid_alive,
    spawn_worker,
    task_log,
)
from modelyard.service.host_paths import check_host_path, check_location
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.names import check_name
from modelyard.spec.paths import parse_location
from modelyard.spec.plan import MountPlan
from modelyard.spec.status import FINAL_PHASES, Phase
from modelyard.spec.volumes import (
    FS_ONCE_RULE,
    Volume,
    VolumeKind,
    check_storage_location,
    parse_volumes,
)
from modelyard.store.db import Database
from modelyard.store.fs_models import FileSystemRow, FsTaskRow
from modelyard.store.models import JobRow

DEFAULT_PROJECT = "default"  # service.app.DEFAULT_PROJECT; not imported: app imports us
UNFINISHED = [p.value for p in Phase if p not in FINAL_PHASES]
STARTUP_GRACE = 60.0
"""Seconds a task may wait for its worker to report in before it counts as lost."""

Spawner = Callable[[Settings, str], int | None]


class FileSystemService:
    """File systems of every project, their tasks, and mounts into jobs."""

    def __init__(self, settings: Settings, db: Database, spawn: Spawner = spawn_worker,
                 refresh_job: Callable[[str], None] | None = None,
                 mount_table: Path = Path("/proc/self/mounts")) -> None:
        self.settings = settings
        self.db = db
        self.spawn = spawn
        self.refresh_job = refresh_job
        self.mount_table = mount_table

    @property
    def root(self) -> Path:
        """Where file systems live when no ``--path`` is given."""
        return self.settings.home / "fs"

    def default_path(self, project: str, name: str) -> Path:
        """``fs/<name>`` for the default project; ``fs/@<project>/<name>`` for others, so
        two projects may use the same name ('@' is never part of a name)."""
        if project == DEFAULT_PROJECT:
            return self.root / name
        return self.root / f"@{project}" / name

    # --------------------------------------------------------------- registry
    def create(self, project: str, name: str, path: str | Path | None = None,
               description: str | None = None) -> FileSystemRecord:
        check_name(name, "name")
        managed = path is None
        directory = self.default_path(project, name) if path is None else self._check_path(path)
        if path is not None:
            check_host_path(self.settings, "path", path)
        with self.db.session() as s:
            if s.scalar(select(FileSystemRow).where(FileSystemRow.project_id == project,
                                                    FileSystemRow.name == name)):
                raise Conflict(f"file system {name!r} already exists in project {project}")
            for other in s.scalars(select(FileSystemRow)):
                mine, theirs = directory.resolve(), Path(other.path)
                if mine == theirs or theirs in mine.parents or mine in theirs.parents:
                    raise SpecError(
                        "path", str(directory),
                        f"overlaps file system {other.name!r} ({other.path}) of project "
                        f"{other.project_id}; one directory belongs to one file system, so "
                        "the mount rules (each file system once per job) hold",
                    )
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SpecError("path", str(directory),
                                f"cannot create the directory: {exc.strerror}") from None
            if not os.access(directory, os.R_OK | os.W_OK | os.X_OK):
                raise SpecError("path", str(directory), "the directory must be readable and "
                                "writable by ModelYard")
            now = time.time()
            row = FileSystemRow(id=str(uuid.uuid4()), project_id=project, name=name,
                                path=str(directory.resolve()), managed=managed,
                                status=AVAILABLE, description=description,
                                created_at=now, updated_at=now)
            s.add(row)
            try:
                s.flush()
            except IntegrityError:  # another process created the same name just now
                raise Conflict(f"file system {name!r} already exists in project "
                               f"{project}") from None
        return filesystem_record(row)

    def _check_path(self, path: str | Path) -> Path:
        raw = Path(path).expanduser()
        if not raw.is_absolute():
            raise SpecError("path", str(path), "an absolute path, e.g. /mnt/fast/images")
        directory = raw.resolve()
        if directory == Path("/"):
            raise SpecError("path", str(path), "a file system cannot be '/'")
        if directory.exists() and not directory.is_dir():
            raise SpecError("path", str(path), "exists and is not a directory")
        home = self.settings.home.resolve()
        if directory == home or directory in home.parents:
            raise SpecError("path", str(path), f"must not contain ModelYard's home ({home})")
        if home in directory.parents and self.root.resolve() not in directory.parents:
            raise SpecError("path", str(path),
                            f"inside ModelYard's home only under {self.root.resolve()}")
        return directory

    def row(self, project: str, name: str) -> FileSystemRow:
        with self.db.session() as s:
            row = s.scalar(select(FileSystemRow).where(FileSystemRow.project_id == project,
                                                       FileSystemRow.name == name))
        if row is None:
            raise NotFound("file system", name)
        return row

    def get(self, project: str, name: str) -> FileSystemRecord:
        row = self.row(project, name)
        record = filesystem_record(row)
        record["mounted_by"] = self.mounted_by(row)
        if Path(row.path).is_dir():
            usage = shutil.disk_usage(row.path)
            record["capacity"] = {"total": usage.total, "free": usage.free}
        return record

    def list(self, project: str) -> builtins.list[FileSystemRecord]:
        with self.db.session() as s:
            rows = list(s.scalars(select(FileSystemRow).where(
                FileSystemRow.project_id == project).order_by(FileSystemRow.name)))
        return [filesystem_record(r) for r in rows]

    def delete(self, project: str, name: str) -> FileSystemRecord:
        """Refused while an unfinished job mounts it or a task writes to it. Deletes the
        data only of a file system ModelYard created; a ``--path`` of the user's own is
        just unregistered (its files are the user's)."""
        row = self.row(project, name)
        jobs = self.mounted_by(row)
        if jobs:
            shown = ", ".join(f"{j['id']} ({j['name']}, {j['phase']})" for j in jobs[:5])
            raise Conflict(f"file system {name!r} is mounted by unfinished training jobs: "
                           f"{shown}; stop them or wait until they end")
        busy = [t for t in self.tasks(project, name) if t["status"] == TaskStatus.DOING]
        if busy:
            raise Conflict(f"file system {name!r} has a running {busy[0]['type']} task "
                           f"{busy[0]['id']}; wait until it ends")
        with self.db.session() as s:
            for task in s.scalars(select(FsTaskRow).where(FsTaskRow.filesystem_id == row.id)):
                s.delete(task)
            fresh = s.get(FileSystemRow, row.id)
            if fresh is not None:
                s.delete(fresh)
        if row.managed:
            shutil.rmtree(row.path, ignore_errors=True)
        record = filesystem_record(row)
        record["data_deleted"] = row.managed
        return record

    def mounted_by(self, row: FileSystemRow) -> builtins.list[MountingJob]:
        """Unfinished jobs whose run plan binds a directory of this file system."""
        root = Path(row.path)
        with self.db.session() as s:
            candidates = list(s.scalars(select(JobRow).where(JobRow.phase.in_(UNFINISHED))))
        users: builtins.list[MountingJob] = []
        for job in candidates:
            sources = [Path(m.get("source", "")) for m in (job.plan or {}).get("mounts", [])]
            if not any(src == root or root in src.parents for src in sources):
                continue
            if self.refresh_job is not None:
                with contextlib.suppress(Exception):  # a stale row still counts as a user
                    self.refresh_job(job.id)  # the runtime may have ended since we looked
                with self.db.session() as s:
                    fresh = s.get(JobRow, job.id)
                if fresh is None or Phase(fresh.phase).is_final:
                    continue
                job = fresh
            users.append({"id": job.id, "name": job.name, "phase": job.phase})
        return users

    # ----------------------------------------------------------------- mounts
    def resolve_mounts(self, project: str, volumes: builtins.list[dict[str, Any]]
                       ) -> builtins.list[MountPlan]:
        """The job service's mount resolver: checks every rule (S5.3, docs/contract.md), then
        the ones that need I/O — the file system exists in this project and the storage
        location is a directory in it — and returns one bind mount per volume."""
        plans: list[MountPlan] = []
        fields: list[str] = []
        parsed = parse_volumes(volumes)
        if parsed and self.settings.sandbox == "none":
            # The runtime binds mounts only inside the sandbox; say so now, not at start.
            raise SpecError("spec.volumes", volumes,
                            "file-system mounts need the bubblewrap sandbox, and this "
                            "installation runs jobs without it (sandbox=none)")
        for vol in parsed:
            if vol.kind == VolumeKind.FILESYSTEM:
                source = self._filesystem_source(project, vol)
            else:
                source = self._nfs_source(vol)
            for plan, where in zip(plans, fields, strict=True):
                other = Path(plan.source)
                if source == other or other in source.parents or source in other.parents:
                    raise SpecError(f"{vol.field}", str(source),
                                    f"{FS_ONCE_RULE}; {where} mounts {plan.source} already")
            plans.append(MountPlan(source=str(source), target=vol.local_path,
                                   read_only=vol.read_only))
            fields.append(vol.field)
        return plans

    def _filesystem_source(self, project: str, vol: Volume) -> Path:
        assert vol.name is not None
        try:
            row = self.row(project, vol.name)
        except NotFound:
            raise SpecError(f"{vol.field}.name", vol.name,
                            f"no such file system in project {project} (create it with "
                            "'modelyard fs create')") from None
        root = Path(row.path)
        if not root.is_dir():
            raise SpecError(f"{vol.field}.name", vol.name,
                            f"the file system's directory {root} is missing (unavailable)")
        shown = "/" + vol.storage_location
        try:
            source = inside(root, vol.storage_location)
        except Exception:
            raise SpecError(f"{vol.field}.storage_location", shown,
                            "leads outside the file system") from None
        if not source.is_dir():
            raise SpecError(
                f"{vol.field}.storage_location", shown,
                f"the storage location must already exist as a directory in file system "
                f"{vol.name!r} (seed S5.3); preload data into it with 'modelyard fs preload "
                f"{vol.name} URL --to {shown}'")
        return source

    def _nfs_source(self, vol: Volume) -> Path:
        """An NFS export is accepted when it is mounted on this host: its mount point is
        bound into the job. ModelYard does not mount NFS itself (that needs root)."""
        wanted = (vol.server_path or "").rstrip("/") or "/"
        try:
            lines = self.mount_table.read_text().splitlines()
        except OSError:
            lines = []
        for line in lines:
            parts = line.split()
            if len(parts) < 3 or not parts[2].startswith("nfs"):
                continue
            source = _unescape(parts[0]).rstrip("/") or "/"
            if source == wanted or source.rstrip(":/") == wanted.rstrip(":/"):
                return Path(_unescape(parts[1]))
        raise SpecError(
            f"{vol.field}.nfs_server_path", vol.server_path,
            "this NFS export is not mounted on this host; mount it (mount -t nfs "
            "SERVER:/export /mnt/x) and use the nfs volume again, or register the mount "
            "point as a file system (modelyard fs create NAME --path /mnt/x) and use a "
            "'filesystem' volume",
        )

    # ------------------------------------------------------------------ tasks
    def preload(self, project: str, name: str, source: str, to: str = "/") -> FsTaskRecord:
        """Names and contents from ``source`` into directory ``to`` of the file system."""
        return self._start(project, name, TaskKind.PRELOAD, source, to)

    def import_(self, project: str, name: str, source: str, to: str = "/") -> FsTaskRecord:
        """Names and sizes only, into a manifest; contents are not fetched (see fs_tasks)."""
        return self._start(project, name, TaskKind.IMPORT, source, to)

    def export(self, project: str, name: str, directory: str, destination: str
               ) -> FsTaskRecord:
        """New or changed files of ``directory`` (in the file system) to ``destination``."""
        return self._start(project, name, TaskKind.EXPORT, directory, destination)

    def _start(self, project: str, name: str, kind: TaskKind, source: str,
               destination: str) -> FsTaskRecord:
        row = self.row(project, name)
        root = Path(row.path)
        if not root.is_dir():
            raise Conflict(f"file system {name!r} is unavailable: {root} does not exist")
        if kind == TaskKind.EXPORT:
            rel = check_storage_location(source, "directory")
            try:
                path = inside(root, rel)
            except Exception:
                raise SpecError("directory", source, "leads outside the file system") from None
            if not path.exists():
                raise SpecError("directory", source,
                                f"does not exist in file system {name!r}")
            source = "/" + rel
            destination = parse_location(destination, "destination").url
            check_location(self.settings, "destination", destination)
        else:
            source = parse_location(source, "source").url
            check_location(self.settings, "source", source)
            destination = "/" + check_storage_location(destination, "to")
        now = time.time()
        task = FsTaskRow(id=str(uuid.uuid4()), project_id=project, filesystem_id=row.id,
                         kind=kind.value, source=source, destination=destination,
                         status=TaskStatus.DOING.value, files=0, bytes=0, skipped=0,
                         rate=0.0, created_at=now, updated_at=now)
        with self.db.session() as s:
            s.add(task)
        try:
            pid = self.spawn(self.settings, task.id)
        except Exception as exc:
            self._fail(task.id, f"could not start the worker: {exc}")
        else:
            if pid is not None:
                with self.db.session() as s:
                    fresh = s.get(FsTaskRow, task.id)
                    if fresh is not None and fresh.pid is None:
                        fresh.pid = pid
                        fresh.host = _host()
        return self.task(project, task.id)

    def tasks(self, project: str, name: str) -> builtins.list[FsTaskRecord]:
        row = self.row(project, name)
        with self.db.session() as s:
            rows = list(s.scalars(select(FsTaskRow).where(FsTaskRow.filesystem_id == row.id)
                                  .order_by(FsTaskRow.created_at.desc())))
        return [task_record(self._reconcile(t), row.name) for t in rows]

    def task(self, project: str, task_id: str) -> FsTaskRecord:
        with self.db.session() as s:
            row = s.get(FsTaskRow, task_id)
            fs = s.get(FileSystemRow, row.filesystem_id) if row is not None else None
        if row is None or row.project_id != project:
            raise NotFound("file-system task", task_id)
        return task_record(self._reconcile(row), fs.name if fs else "")

    def _reconcile(self, row: FsTaskRow) -> FsTaskRow:
        """A task whose worker died without reporting becomes FAIL instead of DOING forever.
        Judged only on the host that ran the worker (pids mean nothing elsewhere)."""
        if row.status != TaskStatus.DOING or (row.host and row.host != _host()):
            return row
        if row.pid is not None:
            if pid_alive(row.pid):
                return row
            # The worker may have written its outcome just before exiting.
            with self.db.session() as s:
                fresh = s.get(FsTaskRow, row.id)
            if fresh is None or fresh.status != TaskStatus.DOING:
                return fresh or row
            why = (f"the worker process {row.pid} ended without reporting; see "
                   f"{task_log(self.settings, row.id)}")
        elif time.time() - row.created_at > STARTUP_GRACE:
            why = "the worker process never started"
        else:
            return row
        self._fail(row.id, why)
        with self.db.session() as s:
            return s.get(FsTaskRow, row.id) or row

    def _fail(self, task_id: str, message: str) -> None:
        with self.db.session() as s:
            task = s.get(FsTaskRow, task_id)
            if task is not None and task.status == TaskStatus.DOING:
                task.status, task.message = TaskStatus.FAIL.value, message
                task.ended_at = task.updated_at = time.time()


def _host() -> str:
    import socket

    return socket.gethostname()


def _unescape(text: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes."""
    for code, ch in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(code, ch)
    return text
