"""A writable layer over an image's ``/home/ma-user``: kernel overlayfs, privately mounted.

ModelArts images keep their conda under ``/home/ma-user/anaconda`` and users ``pip install``
into it, so the job's home must show the image's files *and* be writable, without a job ever
changing the unpacked image other jobs share. With the service running as root the runtime
moves itself into a private mount namespace (nothing it mounts is seen by the host or other
jobs) and mounts ``overlay`` with the image's folder as the lower layer and the job's own
home folder as the upper one, so whatever the job writes lands in its job folder, as without
an image. bubblewrap 0.8 has no ``--overlay``, hence the mount here, before bubblewrap
starts (it inherits the namespace). Without root (or without overlayfs) the caller falls back
to binding the image's folders read-only inside the job's home (see docs/engines.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_NOSUID = 0x2
MS_NODEV = 0x4


class OverlayError(OSError):
    pass


@cache
def _libc() -> ctypes.CDLL:
    """glibc by its soname; ``find_library`` only when that fails (it runs ``ldconfig``,
    a subprocess every forked runtime would pay for)."""
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OverlayError(err, f"{what}: {os.strerror(err)}")


def private_mount_namespace() -> None:
    """Moves this process into a mount namespace of its own, with no propagation back to
    the host (once per process; repeating it is harmless)."""
    libc = _libc()
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None),
           "making / private")


def can_overlay() -> bool:
    """Overlay mounts need root (CAP_SYS_ADMIN) and the overlay filesystem."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/filesystems") as fh:
            return any(line.split()[-1] == "overlay" for line in fh if line.strip())
    except OSError:
        return False


def _escape(path: Path) -> str:
    """overlayfs options separate with ',' and ':'; escape them in paths."""
    return str(path).replace("\\", "\\\\").replace(",", "\\,").replace(":", "\\:")


def mount_overlay(lower: Path, upper: Path, work: Path, merged: Path) -> None:
    """Mounts ``lower`` (read-only) + ``upper`` (writable) at ``merged``; ``work`` is
    overlayfs's scratch folder on the same filesystem as ``upper``. Call after
    ``private_mount_namespace``."""
    for d in (upper, work, merged):
        d.mkdir(parents=True, exist_ok=True)
    opts = (f"lowerdir={_escape(lower)},upperdir={_escape(upper)},workdir={_escape(work)}")
    _check(_libc().mount(b"overlay", str(merged).encode(), b"overlay",
                         MS_NOSUID | MS_NODEV, opts.encode()),
           f"mounting an overlay of {lower} at {merged}")
