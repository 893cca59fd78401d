"""``modelyard fs ...``: file systems, their data tasks, and the ``--mount`` option's parser.

Talks to the server when MODELYARD_URL is set, else drives the embedded service. Data tasks
run in a detached worker, so every task command returns at once unless ``--wait`` asks to
follow it with a progress bar.
"""

from __future__ import annotations

import builtins
import json
import time
from functools import cache
from typing import Any, Protocol

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from modelyard.cli.base import App
from modelyard.cli.context import backend, console, settings
from modelyard.cli.errors import UserFacingError
from modelyard.spec import volumes

app = App(no_args_is_help=True)

IMPORT_NOTE = (
    "Import is metadata only: it records names and sizes in a manifest "
    "(.modelyard-import.jsonl) and creates the directory tree; contents are NOT fetched on "
    "first access (lazy loading is not implemented). Use 'preload' for the data itself."
)
POLL = 0.3


def parse_mount_option(text: str) -> dict[str, Any]:
    """``--mount INSTANCE:DIR_IN_FS:MOUNT_PATH[:ro]`` as one ``spec.volumes`` entry.

    For ``modelyard job run``: append the result to ``spec.volumes``. Only the shape is
    checked here; the mount rules are checked once, at submit, for CLI and API alike.
    """
    return volumes.parse_mount_option(text, "--mount")


# ------------------------------------------------------------------ backends
class FsBackend(Protocol):
    def create(self, name: str, path: str | None, description: str | None
               ) -> dict[str, Any]: ...
    def list(self) -> list[dict[str, Any]]: ...
    def get(self, name: str) -> dict[str, Any]: ...
    def delete(self, name: str) -> dict[str, Any]: ...
    def start(self, name: str, kind: str, src: str, dest: str) -> dict[str, Any]: ...
    def tasks(self, name: str) -> builtins.list[dict[str, Any]]: ...
    def task(self, name: str, task_id: str) -> dict[str, Any]: ...


class EmbeddedFs:
    """The file-system service in this process (the CLI's default)."""

    def __init__(self, service: Any, project: str) -> None:
        self.fs = service.filesystems
        self.project = project

    def create(self, name: str, path: str | None, description: str | None
               ) -> dict[str, Any]:
        return dict(self.fs.create(self.project, name, path, description))

    def list(self) -> list[dict[str, Any]]:
        return list(self.fs.list(self.project))

    def get(self, name: str) -> dict[str, Any]:
        return dict(self.fs.get(self.project, name))

    def delete(self, name: str) -> dict[str, Any]:
        return dict(self.fs.delete(self.project, name))

    def start(self, name: str, kind: str, src: str, dest: str) -> dict[str, Any]:
        if kind == "preload":
            return dict(self.fs.preload(self.project, name, src, dest))
        if kind == "import":
            return dict(self.fs.import_(self.project, name, src, dest))
        return dict(self.fs.export(self.project, name, src, dest))

    def tasks(self, name: str) -> builtins.list[dict[str, Any]]:
        return list(self.fs.tasks(self.project, name))

    def task(self, name: str, task_id: str) -> dict[str, Any]:
        return dict(self.fs.task(self.project, task_id))


class HttpFs:
    """The same calls against a server's ``/v2/{project_id}/filesystems`` API, signed with
    the client's keys when it has them."""

    def __init__(self, url: str, project: str, access_key: str | None = None,
                 secret_key: str | None = None) -> None:
        self.base = url.rstrip("/") + f"/v2/{project}/filesystems"
        self.keys = (access_key, secret_key) if access_key and secret_key else None

    def _call(self, method: str, path: str = "", body: dict[str, Any] | None = None) -> Any:
        import httpx

        from modelyard.auth import sign_request

        url = self.base + path
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.keys:
            headers = sign_request(self.keys[0], self.keys[1], method, url, headers, data)
        try:
            resp = httpx.request(method, url, content=data or None, headers=headers,
                                 timeout=60)
        except httpx.HTTPError as exc:
            raise UserFacingError(f"cannot reach the server at {self.base}: {exc}", 1) from None
        if resp.status_code >= 400:
            try:
                message = resp.json().get("error_msg") or resp.text
            except ValueError:
                message = resp.text
            raise UserFacingError(str(message), 2 if resp.status_code < 500 else 1)
        return resp.json()

    def create(self, name: str, path: str | None, description: str | None
               ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name}
        if path is not None:
            body["path"] = path
        if description is not None:
            body["description"] = description
        return dict(self._call("POST", "", body))

    def list(self) -> list[dict[str, Any]]:
        return list(self._call("GET")["items"])

    def get(self, name: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/{name}"))

    def delete(self, name: str) -> dict[str, Any]:
        return dict(self._call("DELETE", f"/{name}"))

    def start(self, name: str, kind: str, src: str, dest: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/{name}/tasks",
                               {"type": kind, "src": src, "dest": dest}))

    def tasks(self, name: str) -> builtins.list[dict[str, Any]]:
        return list(self._call("GET", f"/{name}/tasks")["items"])

    def task(self, name: str, task_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/{name}/tasks/{task_id}"))


@cache
def fs_backend() -> FsBackend:
    s = settings()
    if s.url:
        secret = s.secret_key.get_secret_value() if s.secret_key else None
        return HttpFs(s.url, s.project, s.access_key, secret)
    service = getattr(backend(), "service", None)
    if service is None:  # pragma: no cover - the embedded backend always has one
        from modelyard.service.app import Service

        service = Service(s)
    return EmbeddedFs(service, getattr(backend(), "project", s.project))


# ------------------------------------------------------------------ commands
@app.command("create")
def create(
    name: str,
    path: str | None = typer.Option(
        None, "--path",
        help="Directory on fast storage: a local disk, or a shared mount present at the same "
             "path on every node. Default: $MODELYARD_HOME/fs/NAME"),
    description: str | None = typer.Option(None, "--description", help="Free text"),
) -> None:
    """Create a file system (a directory that jobs can mount)."""
    rec = fs_backend().create(name, path, description)
    console().print(f"Created file system {rec['name']} at {rec['path']}", markup=False)


@app.command("list")
def list_() -> None:
    """List file systems."""
    table = Table("NAME", "STATUS", "PATH", "CREATED")
    for rec in fs_backend().list():
        table.add_row(rec["name"], rec["status"], rec["path"], _when(rec.get("create_time")))
    console().print(table)


@app.command("show")
def show(name: str, as_json: bool = typer.Option(False, "--json", help="Print raw JSON")
         ) -> None:
    """Show a file system and the unfinished jobs that mount it."""
    rec = fs_backend().get(name)
    if as_json:
        console().print_json(json.dumps(rec))
        return
    console().print(f"[bold]{rec['name']}[/] ({rec['id']})")
    console().print(f"  status:     {rec['status']}", markup=False)
    console().print(f"  path:       {rec['path']}" + ("" if rec.get("managed") else
                                                     "  (yours: delete keeps the data)"),
                  markup=False)
    console().print(f"  created:    {_when(rec.get('create_time'))}")
    cap = rec.get("capacity")
    if cap:
        console().print(f"  free:       {_size(cap['free'])} of {_size(cap['total'])}")
    for job in rec.get("mounted_by", []):
        console().print(f"  mounted by  {job['id']} ({job['name']}, {job['phase']})", markup=False)


@app.command("delete")
def delete(name: str) -> None:
    """Delete a file system; refused while an unfinished job mounts it. Deletes the data of
    a file system created without --path; a --path directory is only unregistered."""
    rec = fs_backend().delete(name)
    kept = "" if rec.get("data_deleted") else f" (its data stays in {rec['path']})"
    console().print(f"Deleted file system {name}{kept}", markup=False)


@app.command("preload")
def preload(
    name: str,
    src_url: str = typer.Argument(..., metavar="SRC_URL", help="obs://, s3:// or file:// URL"),
    to: str = typer.Option("/", "--to", help="Directory in the file system"),
    wait: bool = typer.Option(False, "--wait", help="Follow the task with a progress bar"),
) -> None:
    """Copy names and contents from object storage into the file system ("预热").
    Incremental: unchanged files are not copied again. Files appear complete or not at all,
    so jobs may read while it runs."""
    _run_task(name, "preload", src_url, to, wait)


@app.command("import", help=f"Record names and sizes from object storage. {IMPORT_NOTE}")
def import_(
    name: str,
    src_url: str = typer.Argument(..., metavar="SRC_URL", help="obs://, s3:// or file:// URL"),
    to: str = typer.Option("/", "--to", help="Directory in the file system"),
    wait: bool = typer.Option(False, "--wait", help="Follow the task with a progress bar"),
) -> None:
    _run_task(name, "import", src_url, to, wait)


@app.command("export")
def export(
    name: str,
    dir_in_fs: str = typer.Argument(..., metavar="DIR_IN_FS", help="Directory in the file system"),
    dst_url: str = typer.Argument(..., metavar="DST_URL", help="obs://, s3:// or file:// URL"),
    wait: bool = typer.Option(False, "--wait", help="Follow the task with a progress bar"),
) -> None:
    """Copy new or changed files from the file system to object storage."""
    _run_task(name, "export", dir_in_fs, dst_url, wait)


@app.command("tasks")
def tasks(name: str) -> None:
    """List a file system's data tasks, newest first (failed ones with their error)."""
    table = Table()
    for column in ("TASK", "TYPE", "STATUS"):
        table.add_column(column, no_wrap=True)
    table.add_column("FROM → TO", overflow="fold")
    for column in ("FILES", "SIZE", "SKIPPED", "RATE"):
        table.add_column(column, no_wrap=True, justify="right")
    failures = []
    for t in fs_backend().tasks(name):
        p = t["progress"]
        table.add_row(t["id"][:8], t["type"], t["status"], f"{t['src']} → {t['dest']}",
                      str(p["files"]), _size(p["bytes"]), str(p["skipped"]), _rate(t))
        if t.get("message"):
            failures.append(f"{t['id']}: {t['message']}")
    console().print(table)
    for line in failures:
        console().print(line, markup=False)


def _run_task(name: str, kind: str, src: str, dest: str, wait: bool) -> None:
    fsb = fs_backend()
    task = fsb.start(name, kind, src, dest)
    console().print(f"Started {kind} task {task['id']}: {task['src']} → {task['dest']}",
                  markup=False)
    if kind == "import":
        console().print(IMPORT_NOTE, markup=False)
    if not wait:
        console().print(f"Follow it with: modelyard fs tasks {name}", markup=False)
        return
    task = follow(fsb, name, task)
    p = task["progress"]
    if task["status"] == "SUCCESS":
        if kind == "import":
            console().print(f"Recorded {p['files']} entries ({_size(p['total_bytes'] or 0)}) in "
                          "the manifest")
        else:
            took = ((task["end_time"] or 0) - (task["start_time"] or 0)) / 1000
            speed = f" at {_rate(task)}" if p["bytes"] else ""
            console().print(f"Copied {p['files']} files ({_size(p['bytes'])}), skipped "
                          f"{p['skipped']} unchanged, in {max(took, 0):.1f} s{speed}")
        return
    raise UserFacingError(f"{kind} task {task['id']} failed: {task.get('message')}", 1)


def follow(fsb: FsBackend, name: str, task: dict[str, Any]) -> dict[str, Any]:
    """Polls the task until it ends, drawing a bar of bytes (entries for import)."""
    unit = "entries" if task["type"] == "import" else "bytes"
    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                  console=console(), transient=True) as bar:
        bar_id = bar.add_task(f"{task['type']} {name}", total=None, detail="")
        while True:
            p = task["progress"]
            total = p["total_files"] if unit == "entries" else p["total_bytes"]
            done = p["files"] if unit == "entries" else p["bytes"]
            detail = (f"{_size(done)} / {_size(total)} {_rate(task)}" if unit == "bytes"
                      else f"{done} / {total or '?'}")
            bar.update(bar_id, total=total or None, completed=done, detail=detail)
            if task["status"] != "DOING":
                return task
            time.sleep(POLL)
            task = fsb.task(name, task["id"])


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _rate(task: dict[str, Any]) -> str:
    rate = task["progress"].get("rate") or 0
    if task["type"] == "import":
        return f"{rate:.0f} entries/s"
    return f"{_size(int(rate))}/s"


def _when(ms: int | None) -> str:
    return "" if ms is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))
