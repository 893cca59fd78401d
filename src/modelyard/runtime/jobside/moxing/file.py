"""``mox.file``: files and folders on local paths and on the job's ``obs://`` / ``s3://`` locations.

A job holds no storage credentials (ModelYard keeps them out of every job). What a job can
reach is what it was given: each input location is a local copy made before the code
started, each output location a local folder the platform uploads while the job runs and
when it ends. This module maps a URL under one of those locations to its local path
(the runtime lists them in ``MA_MOX_LOCATIONS``) and then works on local files:

- ``obs://bkt/data/train.csv`` under input ``obs://bkt/data/`` reads the staged copy;
  writing there is refused (an input is read-only, the write would be lost);
- ``obs://bkt/out/model.pt`` under output ``obs://bkt/out/`` is written to the output
  folder and uploaded by the platform;
- any other ``obs://`` / ``s3://`` location is refused with an error naming it and the
  bound locations (bind it to the job as an input or output instead).

Removing or renaming a file that was already uploaded does not delete the uploaded object.
"""

from __future__ import annotations

import builtins
import glob as _glob
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

LOCATIONS_VAR = "MA_MOX_LOCATIONS"
_SCHEMES = ("obs://", "s3://")
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class _Location:
    url: str
    """Without a trailing '/'."""
    path: str
    kind: str
    """'input' or 'output'."""
    file: bool = False
    """An input bound to one object: ``path`` is that file."""


def _locations() -> list[_Location]:
    raw = os.environ.get(LOCATIONS_VAR, "")
    try:
        items = json.loads(raw) if raw else []
    except ValueError:
        items = []
    out = [_Location(str(i["url"]).rstrip("/"), str(i["path"]), str(i["kind"]),
                     bool(i.get("file", False))) for i in items]
    return sorted(out, key=lambda loc: len(loc.url), reverse=True)


def _is_remote(url: str) -> bool:
    return isinstance(url, str) and url[:6].lower().startswith(_SCHEMES)


def _normalize(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme.lower()}://{rest}".rstrip("/")


def _bound_summary() -> str:
    locs = _locations()
    if not locs:
        return "this job has no inputs or outputs"
    return "; ".join(f"{loc.kind} {loc.url}/" if not loc.file else f"{loc.kind} {loc.url}"
                     for loc in locs)


def _resolve(url: str, write: bool = False) -> str:
    """The local path behind ``url``."""
    if isinstance(url, os.PathLike):
        url = os.fspath(url)
    if not _is_remote(url):
        return url
    target = _normalize(url)
    for loc in _locations():
        if target != loc.url and not target.startswith(loc.url + "/"):
            continue
        rel = target[len(loc.url):].lstrip("/")
        if any(part in (".", "..") for part in rel.split("/")):
            raise PermissionError(f"{url}: '.' and '..' are not allowed in a location")
        if write and loc.kind == "input":
            raise PermissionError(
                f"{url}: is under input {loc.url}, which is read-only in the job (a write "
                "there would never reach the store); write to an output location")
        if loc.file:
            if rel:
                raise NotADirectoryError(f"{url}: input {loc.url} is one object, not a folder")
            return loc.path
        return os.path.join(loc.path, rel) if rel else loc.path
    raise PermissionError(
        f"{url}: not a location bound to this job. A job reaches only its own inputs and "
        f"outputs ({_bound_summary()}) and local paths; no storage credentials are given to "
        "jobs, so bind this location to the job as an input or output")


def _to_url(base_url: str, base_path: str, path: str) -> str:
    """A local path below ``base_path`` in the URL form of ``base_url``."""
    rel = os.path.relpath(path, base_path)
    if rel == ".":
        return base_url
    return base_url.rstrip("/") + "/" + rel.replace(os.sep, "/")


# --- queries ---------------------------------------------------------------------------

def exists(url: str) -> bool:
    return os.path.exists(_resolve(url))


def is_directory(url: str) -> bool:
    return os.path.isdir(_resolve(url))


def list_directory(url: str, recursive: bool = False) -> list[str]:
    """Names in the folder (sorted); with ``recursive`` every file and folder below it, as
    paths relative to it."""
    path = _resolve(url)
    if not os.path.isdir(path):
        if os.path.exists(path):
            raise NotADirectoryError(f"{url}: not a folder")
        raise FileNotFoundError(f"{url}: no such folder")
    if not recursive:
        return sorted(os.listdir(path))
    out: list[str] = []
    for root, dirs, files in os.walk(path):
        rel = os.path.relpath(root, path)
        for name in dirs + files:
            out.append(name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}")
    return sorted(out)


def glob(pattern: str) -> list[str]:
    """Paths (or URLs, for a URL pattern) matching ``pattern`` (``*``, ``?``, ``[...]``)."""
    if not _is_remote(pattern):
        return sorted(_glob.glob(pattern))
    cut = min((i for i, ch in enumerate(pattern) if ch in _GLOB_CHARS), default=len(pattern))
    head = pattern[:cut].rsplit("/", 1)[0] if "/" in pattern[:cut] else pattern[:cut]
    base = _resolve(head)
    local_pattern = base + pattern[len(head):]
    return sorted(_to_url(head, base, p) for p in _glob.glob(local_pattern))


def get_size(url: str, recursive: bool = False) -> int:
    """Bytes of a file; of every file below a folder with ``recursive``."""
    path = _resolve(url)
    if os.path.isdir(path):
        if not recursive:
            raise IsADirectoryError(f"{url}: a folder (pass recursive=True for its size)")
        return sum(os.path.getsize(os.path.join(root, f))
                   for root, _, files in os.walk(path) for f in files)
    return os.path.getsize(path)


@dataclass(frozen=True)
class StatResult:
    """``mox.file.stat``: MoXing's ``length``, ``mtime_nsec`` and ``is_directory``, with
    ``os.stat``'s ``st_size`` and ``st_mtime`` as well."""

    length: int
    mtime_nsec: int
    is_directory: bool

    @property
    def st_size(self) -> int:
        return self.length

    @property
    def st_mtime(self) -> float:
        return self.mtime_nsec / 1e9


def stat(url: str) -> StatResult:
    st = os.stat(_resolve(url))
    is_dir = os.path.isdir(_resolve(url))
    return StatResult(0 if is_dir else st.st_size, st.st_mtime_ns, is_dir)


def walk(url: str, topdown: bool = True,
         onerror: Callable[[OSError], Any] | None = None) -> Iterator[tuple[str, list[str],
                                                                           list[str]]]:
    """``os.walk`` in the form of ``url`` (folders below an ``obs://`` URL are URLs)."""
    base = _resolve(url)
    for root, dirs, files in os.walk(base, topdown=topdown, onerror=onerror):
        yield (_to_url(url, base, root) if _is_remote(url) else root), dirs, files


# --- reading and writing ---------------------------------------------------------------

def _writing(mode: str) -> bool:
    return any(ch in mode for ch in "wax+")


def File(url: str, mode: str = "r", *args: Any, **kwargs: Any) -> IO[Any]:
    """A file object (and context manager) for ``url``, like ``open``; folders are made for
    a file opened for writing."""
    path = _resolve(url, write=_writing(mode))
    if _writing(mode) and _is_remote(url):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    return builtins.open(path, mode, *args, **kwargs)


def read(url: str, binary: bool = False) -> str | bytes:
    with File(url, "rb" if binary else "r") as fh:
        data: str | bytes = fh.read()
    return data


def write(url: str, content: str | bytes, binary: bool = False) -> None:
    with File(url, "wb" if binary or isinstance(content, bytes) else "w") as fh:
        fh.write(content)


def append(url: str, content: str | bytes, binary: bool = False) -> None:
    with File(url, "ab" if binary or isinstance(content, bytes) else "a") as fh:
        fh.write(content)


# --- changing ---------------------------------------------------------------------------

def make_dirs(url: str) -> None:
    os.makedirs(_resolve(url, write=True), exist_ok=True)


def mk_dir(url: str) -> None:
    make_dirs(url)


def remove(url: str, recursive: bool = False) -> None:
    """Deletes a file; a folder only with ``recursive``."""
    path = _resolve(url, write=True)
    if os.path.isdir(path) and not os.path.islink(path):
        if not recursive:
            raise IsADirectoryError(f"{url}: a folder (pass recursive=True to remove it)")
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)
    else:
        raise FileNotFoundError(f"{url}: no such file or folder")


def rename(src_url: str, dst_url: str) -> None:
    src = _resolve(src_url, write=True)
    dst = _resolve(dst_url, write=True)
    if not os.path.lexists(src):
        raise FileNotFoundError(f"{src_url}: no such file or folder")
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    shutil.move(src, dst)


def copy(src_url: str, dst_url: str, client_id: Any = None) -> None:
    """Copies one file to ``dst_url`` (the file's new path; folders are made)."""
    src = _resolve(src_url)
    dst = _resolve(dst_url, write=True)
    if os.path.isdir(src):
        raise IsADirectoryError(f"{src_url}: a folder (use copy_parallel)")
    if not os.path.exists(src):
        raise FileNotFoundError(f"{src_url}: no such file")
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    shutil.copyfile(src, dst)


def copy_parallel(src_url: str, dst_url: str, file_list: list[str] | None = None,
                  threads: int = 16, is_processing: bool = True, use_queue: bool = True,
                  **kwargs: Any) -> None:
    """Copies the contents of folder ``src_url`` into folder ``dst_url`` (merged, files
    overwritten); only the relative paths in ``file_list`` when given. A file is copied
    like ``copy``. ``threads`` and the other tuning arguments are accepted and not needed:
    both sides are local here."""
    src = _resolve(src_url)
    dst = _resolve(dst_url, write=True)
    if not os.path.exists(src):
        raise FileNotFoundError(f"{src_url}: no such file or folder")
    if not os.path.isdir(src):
        copy(src_url, dst_url)
        return
    if file_list is None:
        shutil.copytree(src, dst, dirs_exist_ok=True)
        return
    for rel in file_list:
        if rel.startswith("/") or ".." in rel.split("/"):
            raise PermissionError(f"{rel}: file_list holds paths relative to {src_url}")
        target = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(src, rel), target)


# --- shift('os', 'mox') -----------------------------------------------------------------

_ORIGINAL: dict[str, Any] = {}
_PATCHED = (
    (builtins, "open", True), (os, "listdir", False), (os, "makedirs", True),
    (os, "mkdir", True), (os, "remove", True), (os, "unlink", True), (os, "rename", True),
    (os, "walk", False), (os, "stat", False), (os.path, "exists", False),
    (os.path, "isdir", False), (os.path, "isfile", False), (os.path, "getsize", False),
)


def _wrap(fn: Callable[..., Any], name: str, writes: bool) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args and _is_remote(args[0]):
            write = writes if name != "open" else _writing(
                args[1] if len(args) > 1 else kwargs.get("mode", "r"))
            args = (_resolve(args[0], write=write), *args[1:])
            if name == "rename" and len(args) > 1 and _is_remote(args[1]):
                args = (args[0], _resolve(args[1], write=True), *args[2:])
        return fn(*args, **kwargs)

    wrapper.__name__ = getattr(fn, "__name__", name)
    wrapper.__doc__ = getattr(fn, "__doc__", None)
    return wrapper


def shift(src: str, dst: str) -> None:
    """``shift('os', 'mox')``: ``open``, ``os`` and ``os.path`` functions accept ``obs://``
    and ``s3://`` URLs of the job's locations from now on; ``shift('mox', 'os')`` undoes
    it."""
    if (src, dst) == ("os", "mox"):
        for module, name, writes in _PATCHED:
            key = f"{module.__name__}.{name}"
            if key not in _ORIGINAL:
                _ORIGINAL[key] = getattr(module, name)
                setattr(module, name, _wrap(_ORIGINAL[key], name, writes))
    elif (src, dst) == ("mox", "os"):
        for module, name, _ in _PATCHED:
            key = f"{module.__name__}.{name}"
            if key in _ORIGINAL:
                setattr(module, name, _ORIGINAL.pop(key))
    else:
        raise ValueError(f"shift({src!r}, {dst!r}): use shift('os', 'mox') or "
                         "shift('mox', 'os')")
