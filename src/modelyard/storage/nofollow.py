"""File access that never follows a path a job could have changed (issue 13, item 3).

A job writes into folders the host later reads (outputs, checkpoints, file systems) and
into folders the host later writes (file systems a preload fills). Between the host's
check and its use the job may swap any component for a symlink, a FIFO or a device. So
host-side code here does not use paths below a trusted root at all: it opens the root,
then every component *relative to the folder it already holds open*
(``openat(dir_fd, name, O_NOFOLLOW)``), and checks with ``fstat`` what it got. A symlink
anywhere below the root makes the open fail (``ELOOP``/``ENOTDIR``) instead of leading
elsewhere; a FIFO is opened with ``O_NONBLOCK`` (so the open cannot hang) and then refused
because it is not a regular file.

Other code that must hand a *path* to a library (boto3, ``open``) gets one that names the
opened file itself: ``/proc/self/fd/<fd>`` (``pinned``). Opening that path reaches the
same inode whatever has happened to the directory entry since.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class UnsafePath(OSError):
    """A path below a trusted root is a symlink, or not the kind of file expected."""

    def __str__(self) -> str:
        return str(self.strerror or super().__str__())


@dataclass(frozen=True)
class Skipped:
    """Something a walk did not take, and why (for a warning event)."""

    rel: str
    kind: str
    """'symlink', 'fifo', 'socket', 'device', or 'other'."""


def kind_of(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


def _parts(rel: str | PurePath) -> list[str]:
    parts = [p for p in Path(rel).parts if p not in ("", ".", "/")]
    if ".." in parts:
        raise UnsafePath(errno.EINVAL, f"'..' in a path below a trusted root: {rel}")
    return parts


def open_dir(path: Path, beneath: Path | None = None) -> int:
    """A descriptor of folder ``path``. Below ``beneath`` (a root the job cannot change,
    e.g. the job folder's ``home``) no component may be a symlink; ``beneath`` itself and
    what leads to it are opened normally. Without ``beneath`` only ``path`` itself is opened
    normally (a path a person typed may well contain symlinks)."""
    if beneath is None:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    path, beneath = Path(os.path.abspath(path)), Path(os.path.abspath(beneath))
    if path != beneath and beneath not in path.parents:
        raise UnsafePath(errno.EINVAL, f"{path} is not inside {beneath}")
    fd = os.open(beneath, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return _descend(fd, _parts(path.relative_to(beneath)), create=False)
    finally:
        os.close(fd)


def open_dir_at(root_fd: int, rel: str | PurePath) -> int:
    """A descriptor of folder ``rel`` below ``root_fd``, no component followed."""
    return _descend(root_fd, _parts(rel), create=False)


def make_dirs(root_fd: int, rel: str | PurePath) -> int:
    """``mkdir -p rel`` below ``root_fd`` without following a symlink; returns a descriptor
    of the last folder (the caller closes it)."""
    return _descend(root_fd, _parts(rel), create=True)


def _descend(fd: int, parts: list[str], create: bool) -> int:
    """Opens ``parts`` one by one below ``fd`` (not closed); a new descriptor."""
    current = os.dup(fd)
    try:
        for name in parts:
            if create:
                # Made meanwhile, or planted: the no-follow open below decides.
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=current)
            try:
                nxt = os.open(name, _DIR_FLAGS, dir_fd=current)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafePath(exc.errno, f"{name!r} is a symlink or not a folder") \
                        from None
                raise
            os.close(current)
            current = nxt
        return current
    except BaseException:
        os.close(current)
        raise


def open_file(dir_fd: int, rel: str | PurePath) -> int:
    """A read-only descriptor of the regular file ``rel`` below ``dir_fd``: no component
    followed, never blocks (``O_NONBLOCK`` is cleared once it is known to be a file)."""
    parts = _parts(rel)
    if not parts:
        raise UnsafePath(errno.EINVAL, "an empty path is not a file")
    parent = _descend(dir_fd, parts[:-1], create=False)
    try:
        return _open_regular_at(parts[-1], parent, _FILE_FLAGS)
    finally:
        os.close(parent)


def _open_regular_at(name: str | Path, dir_fd: int | None, flags: int,
                     mode: int = 0o644) -> int:
    try:
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode,
                     dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(exc.errno, f"{name} is a symlink") from None
        if exc.errno == errno.ENXIO:  # a FIFO with no reader (for writing), a socket
            raise UnsafePath(exc.errno, f"{name} is not a regular file") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath(errno.EINVAL,
                             f"{name} is not a regular file ({kind_of(st.st_mode)})")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular(path: Path, flags: int = os.O_RDONLY, mode: int = 0o644) -> int:
    """Opens ``path`` only if it is a regular file, never through a symlink as its last
    component, and without blocking on a FIFO: the way host-side code opens a job's log
    (``flags`` may add ``O_WRONLY|O_APPEND|O_CREAT``). Raises ``UnsafePath`` otherwise."""
    return _open_regular_at(path, None, flags, mode)


def pinned(fd: int) -> Path:
    """A path that opens exactly the file (or folder) ``fd`` refers to, for as long as
    ``fd`` stays open: for libraries that want a path."""
    return Path(f"/proc/self/fd/{fd}")


@contextmanager
def opened_dir(path: Path, beneath: Path | None = None) -> Iterator[int]:
    fd = open_dir(path, beneath)
    try:
        yield fd
    finally:
        os.close(fd)


def walk_files(dir_fd: int, skip_prefix: str = "",
               skipped: list[Skipped] | None = None
               ) -> Iterator[tuple[str, os.stat_result]]:
    """Regular files below ``dir_fd`` as ('/'-separated relative path, lstat), sorted by
    path, depth first. Folders are entered through descriptors (``O_NOFOLLOW``), so a
    folder swapped for a symlink while we walk is not entered. Symlinks, FIFOs, sockets and
    devices are never opened; they are appended to ``skipped`` when given. Names starting
    with ``skip_prefix`` (our own temporary files) are left out silently."""
    yield from _walk_at(dir_fd, "", skip_prefix, skipped)


def _walk_at(fd: int, rel: str, skip_prefix: str,
             skipped: list[Skipped] | None) -> Iterator[tuple[str, os.stat_result]]:
    try:
        with os.scandir(fd) as it:
            entries = sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if skip_prefix and entry.name.startswith(skip_prefix):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        path = rel + entry.name
        if stat.S_ISREG(st.st_mode):
            yield path, st
        elif stat.S_ISDIR(st.st_mode):
            try:
                sub = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                continue
            except OSError as exc:  # swapped for a symlink or a file since the listing
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and skipped is not None:
                    skipped.append(Skipped(path, "symlink"))
                continue
            try:
                yield from _walk_at(sub, path + "/", skip_prefix, skipped)
            finally:
                os.close(sub)
        elif skipped is not None:
            skipped.append(Skipped(path, kind_of(st.st_mode)))
