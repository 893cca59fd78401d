"""A job in an image (seed S1.3/S1.4, docs/contract.md "Images"): pull, hold, and lay out.

The runtime pulls the image into the installation's image store (a cached digest needs no
download), holds it for the job's lifetime (``prune`` leaves it alone), and gives the
sandbox the unpacked tree as its root. ``/home/ma-user`` is the job's own folder as always;
what the image keeps there (ModelArts images: ``anaconda``) shows through:

- as root, an overlay: the image's ``/home/ma-user`` below, the job's home folder above, so
  the job can ``pip install`` into the image's conda and every write lands in its folder;
- otherwise (the documented fallback), each entry of the image's ``/home/ma-user`` is bound
  read-only into the job's home: everything runs, installs go to ``pip install --user``.

``/etc/hosts`` and ``/etc/resolv.conf`` are generated (an image's copies are stale).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelyard.runtime import overlay
from modelyard.runtime.identity import HostIdentity, hand_over
from modelyard.runtime.layout import MA_HOME
from modelyard.runtime.report import Reporter, StagingError, human_size
from modelyard.runtime.sandbox import Bind
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.images import ImageRef, parse_image_ref
from modelyard.storage.images import ImageError, ImageRecord, ImageStore

RESERVED_HOME_ENTRIES = frozenset({"modelarts"})
"""The job's own folder in its home: an image's copy never covers it."""


@dataclass
class JobImage:
    url: str
    record: ImageRecord
    rootfs: Path
    overlay_home: Path | None = None
    """The overlay mounted over the job's home (bound at /home/ma-user instead of it)."""
    home_binds: list[Bind] = field(default_factory=list)
    """Fallback: the image's home entries, read-only, inside the job's home."""


def pull(settings: Settings, url: str, digest: str | None, project: str, reporter: Reporter,
         check: Callable[[], None], holds: contextlib.ExitStack) -> JobImage:
    """Pulls ``url`` (or finds its digest here) and holds it until ``holds`` closes.
    ``digest``: the one the service resolved the tag to at create; pinned, an image that
    is here needs no registry at all."""
    store = ImageStore(settings)
    t0 = time.monotonic()
    for attempt in (1, 2):
        try:
            target = pinned(url, digest)
            if store.find_here(target) is None and store.imported(target) is None:
                reporter.info(f"Pulling image {url}")
            notes: list[str] = []
            record, cached = store.pull(target, project, wait_tick=check, notes=notes)
            for note in notes:
                reporter.warning(f"Image {url}: {note}")
            rootfs = holds.enter_context(store.use(record))
            break
        except ImageError as exc:
            if attempt == 2 or "removed from the store" not in str(exc):  # pruned meanwhile
                raise StagingError(str(exc), exc.transient) from None
        except SpecError as exc:
            raise StagingError(f"image_url: {exc.message}") from None
    if cached:
        reporter.info(f"Image {url}: {record.digest}, already here")
    else:
        reporter.info(f"Pulled image {url}: {record.digest} ({human_size(record.size)}, "
                      f"unpacked {human_size(record.unpacked_size)}) in "
                      f"{time.monotonic() - t0:.1f} s")
        if record.cleared:
            reporter.warning(f"Image {url}: {len(record.cleared)} setuid/setgid files or "
                             "device nodes were made harmless (jobs get no extra rights)")
    return JobImage(url, record, rootfs)


def pinned(url: str, digest: str | None) -> str:
    """``url`` with the digest it had at create (``host/name:tag@sha256:...``)."""
    if digest is None:
        return url
    ref = parse_image_ref(url)
    return str(ImageRef(ref.registry, ref.repository, ref.tag, digest))


def lay_out_home(image: JobImage, home: Path, scratch: Path, reporter: Reporter,
                 overlay_ok: bool, identity: HostIdentity | None) -> None:
    """Makes the image's ``/home/ma-user`` show through the job's home (see the module
    docstring); ``scratch`` is the job's private folder (overlayfs's work and mount
    folders). ``overlay_ok``: this process is in a private mount namespace. ``identity``:
    the host user jobs run as (the service is root)."""
    lower = image.rootfs / str(MA_HOME).lstrip("/")
    if not lower.is_dir() or lower.is_symlink():
        return
    entries = sorted(e for e in lower.iterdir() if e.name not in RESERVED_HOME_ENTRIES)
    if not entries:
        return
    if overlay_ok:
        _own_home(lower, identity)
        merged = scratch / "image-home"
        try:
            overlay.mount_overlay(lower, home, scratch / "overlay-work", merged)
            image.overlay_home = merged
            return
        except OSError as exc:
            reporter.warning(f"No writable layer over the image's {MA_HOME} ({exc}); its "
                             "files are read-only for this job")
    image.home_binds = [Bind(e, MA_HOME / e.name) for e in entries
                        if e.is_dir() or e.is_file()]
    for b in image.home_binds:  # bind targets must exist in the (writable) job home
        target = home / b.source.name
        if b.source.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.touch(exist_ok=True)


def _own_home(lower: Path, identity: HostIdentity | None) -> None:
    """The image's ``/home/ma-user`` belongs to ma-user, as in ModelArts images, so that the
    job may write over it (the overlay checks the lower files' owner). Unpacked images
    belong to the service's user; under root that is changed once per image to the host
    user jobs run as. The job only ever sees this tree through the overlay or read-only."""
    if identity is None:
        return
    st = lower.stat()
    if (st.st_uid, st.st_gid) != (identity.uid, identity.gid):
        hand_over(identity, lower)


def enter_private_mounts(reporter: Reporter) -> bool:
    """Moves the runtime into a mount namespace of its own, when it may mount overlays
    (root); False otherwise (the read-only fallback). Must run before the runtime starts
    any thread (the kernel refuses it to a multi-threaded process)."""
    if not overlay.can_overlay():
        return False
    try:
        overlay.private_mount_namespace()
        return True
    except OSError as exc:
        reporter.warning(f"No private mount namespace ({exc}): the image's {MA_HOME} is "
                         "read-only for this job")
        return False


def generated_files(folder: Path, hostname: str) -> dict[str, Path]:
    """``/etc/hosts`` naming the job, and the host's resolver configuration."""
    folder.mkdir(parents=True, exist_ok=True)
    hosts = folder / "hosts"
    hosts.write_text(f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                     f"127.0.1.1\t{hostname}\n")
    resolv = folder / "resolv.conf"
    try:
        resolv.write_text(Path("/etc/resolv.conf").read_text())
    except OSError:
        resolv.write_text("")
    return {"/etc/hosts": hosts, "/etc/resolv.conf": resolv}
