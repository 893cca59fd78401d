"""The image store: images pulled without a daemon, kept once per manifest digest.

Layout under ``$MODELYARD_HOME/images``::

    oci/              one OCI image layout (skopeo writes it): blobs shared by every image
    rootfs/<hex>/     each image unpacked once (umoci raw unpack), never written again
    rootfs/<hex>.lock held shared by every job using the image; prune takes it exclusively
    images.json       digest -> references, sizes, the image's own config (Env, User...)
    .lock             serialises changes to all of the above, across processes

An image is keyed by the digest of the manifest the registry serves for this machine's
platform (a manifest list is resolved to its linux/<arch> entry), so two tags of one image
share one unpacked tree, and a tag that moved to a new digest leaves the old tree to
``prune``. Unpacking is rootless (every file belongs to the service's user), setuid and
setgid bits are cleared and device nodes and FIFOs are removed: a job must gain nothing
from an image that it could not have had without one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelyard.file_lock import exclusive
from modelyard.settings import Settings
from modelyard.spec.images import ImageRef, parse_image_ref
from modelyard.storage.images.tools import ImageError, run_tool

LIST_TYPES = ("application/vnd.docker.distribution.manifest.list.v2+json",
              "application/vnd.oci.image.index.v1+json")
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
         "s390x": "s390x"}
_REF_ANNOTATION = "org.opencontainers.image.ref.name"
CONFIG_KEYS = ("Env", "User", "WorkingDir", "Entrypoint", "Cmd")


@dataclass
class ImageRecord:
    digest: str
    """``sha256:...`` of the manifest the registry (or archive) served for this platform."""
    references: list[str] = field(default_factory=list)
    """The image_urls whose last pull resolved to this digest; empty means superseded."""
    size: int = 0
    """Bytes of the image's (compressed) layers."""
    unpacked_size: int = 0
    pulled_at: float = 0.0
    source: str = "registry"
    config: dict[str, Any] = field(default_factory=dict)
    """The image's own Env, User, WorkingDir, Entrypoint, Cmd (only Env is used: see
    docs/contract.md "Images")."""
    cleared: list[str] = field(default_factory=list)
    """Paths whose setuid/setgid bits were cleared or that were removed (device nodes)."""

    @property
    def key(self) -> str:
        return self.digest.split(":", 1)[1]

    @property
    def env(self) -> list[str]:
        return [str(e) for e in self.config.get("Env") or []]


def host_platform() -> tuple[str, str]:
    machine = os.uname().machine
    return "linux", _ARCH.get(machine, machine)


class ImageStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.images_root
        self.layout = self.root / "oci"
        self.rootfs_root = self.root / "rootfs"
        self.index_file = self.root / "images.json"

    # ----------------------------------------------------------------- reading
    def _read_index(self) -> dict[str, ImageRecord]:
        try:
            data = json.loads(self.index_file.read_text())
        except (OSError, ValueError):
            return {}
        return {d: ImageRecord(**r) for d, r in data.get("images", {}).items()}

    def _write_index(self, records: dict[str, ImageRecord]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.index_file.with_name(f".images.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"images": {d: asdict(r) for d, r in records.items()}},
                                  indent=1, sort_keys=True))
        os.replace(tmp, self.index_file)

    def images(self) -> list[ImageRecord]:
        return sorted(self._read_index().values(), key=lambda r: -r.pulled_at)

    def find(self, reference: str) -> ImageRecord | None:
        """The image a reference (image_url, ``sha256:...`` or a unique digest prefix)
        names in the store, or None."""
        records = self._read_index()
        if reference.startswith("sha256:") and reference in records:
            return records[reference]
        for r in records.values():
            if reference in r.references:
                return r
        with contextlib.suppress(ImageError, ValueError):
            ref = parse_image_ref(reference)
            if ref.digest and ref.digest in records:
                return records[ref.digest]
            for r in records.values():
                if str(ref) in r.references:
                    return r
        hits = [r for r in records.values() if r.key.startswith(reference.removeprefix(
            "sha256:")) and len(reference.removeprefix("sha256:")) >= 6]
        return hits[0] if len(hits) == 1 else None

    def imported(self, reference: str) -> ImageRecord | None:
        """The image imported from an archive under this reference: the machine has no
        registry for it, so the local copy is the image (no registry is asked)."""
        record = self.find_here_by_name(reference)
        return record if record is not None and record.source == "archive" else None

    def find_here_by_name(self, reference: str) -> ImageRecord | None:
        """The unpacked image a reference (``host/name:tag``) last resolved to here."""
        for record in self._read_index().values():
            if reference in record.references and self.rootfs(record).is_dir():
                return record
        return None

    def find_here(self, reference: str) -> ImageRecord | None:
        """The unpacked image a digest-pinned reference names, without the registry."""
        try:
            ref = parse_image_ref(reference)
        except ValueError:
            return None
        record = self._read_index().get(ref.digest) if ref.digest else None
        return record if record is not None and self.rootfs(record).is_dir() else None

    def rootfs(self, record: ImageRecord) -> Path:
        return self.rootfs_root / record.key

    def in_use(self, record: ImageRecord) -> bool:
        lock_path = self.rootfs_root / f"{record.key}.lock"
        if not lock_path.exists():
            return False
        with open(lock_path, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
        return False

    @contextlib.contextmanager
    def use(self, record: ImageRecord) -> Iterator[Path]:
        """Holds the image for a job (prune leaves it alone meanwhile); yields its rootfs."""
        self.rootfs_root.mkdir(parents=True, exist_ok=True)
        with open(self.rootfs_root / f"{record.key}.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_SH)
            path = self.rootfs(record)
            if not path.is_dir():
                raise ImageError(f"image {record.digest} was removed from the store")
            yield path

    # ----------------------------------------------------------------- locking
    @contextlib.contextmanager
    def _locked(self, wait_tick: Callable[[], None]) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with exclusive(self.root / ".lock", wait_tick):
            yield

    # -------------------------------------------------------------------- pull
    def _registry_args(self, ref: ImageRef, project: str | None, prefix: str) -> list[str]:
        """TLS and credentials for one registry. Without credentials of the installation an
        empty auth file is passed, so skopeo never falls back to the service user's own
        ``~/.docker/config.json`` (another project's logins)."""
        args = []
        if ref.registry in self.settings.insecure_registry_set:
            args.append(f"--{prefix}tls-verify=false")
        auth = self.settings.registry_auth_path(project)
        if auth is None:
            auth = self.root / "no-auth.json"
            if not auth.is_file():
                self.root.mkdir(parents=True, exist_ok=True)
                auth.write_text("{}")
        args.append(f"--{prefix}authfile={auth}")
        return args

    def resolve(self, ref: ImageRef, project: str | None = None,
                timeout: float = 120.0) -> str:
        """The digest of ``ref``'s manifest for this platform, asked of the registry."""
        argv = [self.settings.skopeo, "inspect", "--raw",
                *self._registry_args(ref, project, ""), ref.transport]
        raw = run_tool(argv, f"Resolving image {ref} at {ref.registry}", timeout=timeout)
        return self._platform_digest(raw.encode(), str(ref))

    def _platform_digest(self, raw: bytes, what: str) -> str:
        try:
            manifest = json.loads(raw)
        except ValueError:
            raise ImageError(f"Image {what}: the registry's manifest is not JSON") from None
        if manifest.get("mediaType") in LIST_TYPES or "manifests" in manifest:
            os_, arch = host_platform()
            for m in manifest.get("manifests", []):
                p = m.get("platform") or {}
                if p.get("os") == os_ and p.get("architecture") == arch:
                    return str(m["digest"])
            have = ", ".join(f"{(m.get('platform') or {}).get('os')}/"
                             f"{(m.get('platform') or {}).get('architecture')}"
                             for m in manifest.get("manifests", []))
            raise ImageError(f"Image {what} has no {os_}/{arch} variant (it has: {have})")
        return "sha256:" + hashlib.sha256(raw).hexdigest()

    def pull(self, image_url: str, project: str | None = None,
             wait_tick: Callable[[], None] = lambda: None,
             notes: list[str] | None = None) -> tuple[ImageRecord, bool]:
        """Pulls and unpacks ``image_url`` unless its digest is already here; returns the
        record and whether it was already here. A pinned digest that is here needs no
        registry at all, and one that is not is copied without resolving it first (the
        service pins platform digests; a pinned manifest list is copied for this platform
        by skopeo and kept under the list's digest)."""
        ref = parse_image_ref(image_url)
        if ref.digest:
            here = self._read_index().get(ref.digest)
            if here is not None and self.rootfs(here).is_dir():
                return here, True
            digest = ref.digest
        else:
            imported = self.imported(str(ref))
            if imported is not None:
                return imported, True
            try:
                digest = self.resolve(ref, project)
            except ImageError as exc:
                known = self.find_here_by_name(str(ref))
                if not exc.transient or known is None:
                    raise
                if notes is not None:
                    notes.append(f"the registry did not answer ({exc}); using the copy of "
                                 f"{ref} pulled earlier, {known.digest}")
                return known, True
        source = f"docker://{ref.name}@{digest}"
        with self._locked(wait_tick):
            records = self._read_index()
            record = records.get(digest)
            cached = record is not None and self.rootfs(record).is_dir()
            if record is None or not cached:
                record = self._fetch(source, digest, str(ref),
                                     self._registry_args(ref, project, "src-"))
            name = ImageRef(ref.registry, ref.repository, ref.tag) if ref.tag else ref
            self._reference(records, record, str(name))
            self._write_index(records)
        return record, cached

    def import_archive(self, archive: Path, reference: str | None = None,
                       wait_tick: Callable[[], None] = lambda: None) -> ImageRecord:
        """Imports a ``docker save`` or OCI archive (for machines without a registry);
        ``reference`` is the image_url jobs will name it by."""
        if not archive.is_file():
            raise ImageError(f"Importing {archive}: no such file")
        transport = f"{_archive_kind(archive)}:{archive}"
        ref = parse_image_ref(reference, "reference") if reference else None
        raw = run_tool([self.settings.skopeo, "inspect", "--raw", transport],
                       f"Reading the archive {archive}", timeout=600)
        digest = self._platform_digest(raw.encode(), str(archive))
        with self._locked(wait_tick):
            records = self._read_index()
            record = records.get(digest)
            if record is None or not self.rootfs(record).is_dir():
                record = self._fetch(transport, digest, str(archive), [], source="archive")
            if ref is not None:
                self._reference(records, record, str(ref))
            else:
                records[digest] = record
            self._write_index(records)
        return record

    def _reference(self, records: dict[str, ImageRecord], record: ImageRecord,
                   reference: str) -> None:
        """``reference`` now means ``record``: a moved tag leaves its old image unnamed."""
        for other in records.values():
            if other.digest != record.digest and reference in other.references:
                other.references.remove(reference)
        if reference not in record.references:
            record.references.append(reference)
        records[record.digest] = record

    def _fetch(self, transport: str, digest: str, what: str, src_args: list[str],
               source: str = "registry") -> ImageRecord:
        """Copies one image into the shared layout and unpacks it (called under the lock).
        The unpacked tree appears complete or not at all: it is built beside its final
        name and renamed into place."""
        key = digest.split(":", 1)[1]
        self.layout.mkdir(parents=True, exist_ok=True)
        run_tool([self.settings.skopeo, "copy", "--quiet", *src_args, transport,
                  f"oci:{self.layout}:{key}"], f"Pulling image {what}")
        manifest, config = self._read_layout(key)
        dest = self.rootfs_root / key
        cleared: list[str] = []
        unpacked = -1
        if not dest.is_dir():
            self.rootfs_root.mkdir(parents=True, exist_ok=True)
            for stale in self.rootfs_root.glob(f".{key}.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            tmp = self.rootfs_root / f".{key}.tmp-{os.getpid()}"
            try:
                run_tool([self.settings.umoci, "raw", "unpack", "--rootless", "--image",
                          f"{self.layout}:{key}", str(tmp)], f"Unpacking image {what}")
                cleared, unpacked = sanitize(tmp)
                os.rename(tmp, dest)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return ImageRecord(
            digest=digest, size=sum(int(layer.get("size", 0))
                                    for layer in manifest.get("layers", [])),
            unpacked_size=unpacked if unpacked >= 0 else tree_size(dest),
            pulled_at=time.time(), source=source,
            config={k: config[k] for k in CONFIG_KEYS if config.get(k) is not None},
            cleared=cleared)

    def _blob(self, digest: str) -> dict[str, Any]:
        algo, _, hexdigest = digest.partition(":")
        data: dict[str, Any] = json.loads((self.layout / "blobs" / algo / hexdigest).read_text())
        return data

    def _read_layout(self, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(manifest, the config's ``config`` section) of the layout's image ``key``."""
        try:
            index = json.loads((self.layout / "index.json").read_text())
            desc = next(m for m in index.get("manifests", [])
                        if (m.get("annotations") or {}).get(_REF_ANNOTATION) == key)
            manifest = self._blob(desc["digest"])
            config = self._blob(manifest["config"]["digest"]).get("config") or {}
        except (OSError, ValueError, KeyError, StopIteration) as exc:
            raise ImageError(f"the image layout has no readable image {key}: {exc}") from None
        return manifest, config

    # ------------------------------------------------------------------- prune
    def remove(self, record: ImageRecord) -> bool:
        """Removes one image unless a job uses it; False when in use."""
        with self._locked(lambda: None):
            return self._remove_locked(self._read_index(), record)

    def _remove_locked(self, records: dict[str, ImageRecord], record: ImageRecord) -> bool:
        self.rootfs_root.mkdir(parents=True, exist_ok=True)
        lock_path = self.rootfs_root / f"{record.key}.lock"
        with open(lock_path, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            path = self.rootfs(record)
            if path.is_dir():
                gone = path.with_name(f".{record.key}.gone-{os.getpid()}")
                os.rename(path, gone)  # never half a tree under the image's name
                _make_removable(gone)
                shutil.rmtree(gone, ignore_errors=True)
            records.pop(record.digest, None)
            self._write_index(records)
            self._drop_layout_ref(record.key)
        lock_path.unlink(missing_ok=True)
        return True

    def prune(self, everything: bool = False) -> tuple[list[ImageRecord], list[ImageRecord]]:
        """Removes superseded images (no reference names them any more), or with
        ``everything`` all images, except those in use; then the blobs no image needs.
        Returns (removed, kept because in use)."""
        removed: list[ImageRecord] = []
        busy: list[ImageRecord] = []
        with self._locked(lambda: None):
            records = self._read_index()
            for record in list(records.values()):
                if record.references and not everything:
                    continue
                (removed if self._remove_locked(records, record) else busy).append(record)
            if removed and (self.layout / "index.json").is_file():
                run_tool([self.settings.umoci, "gc", "--layout", str(self.layout)],
                         "Removing unused image blobs")
        return removed, busy

    def _drop_layout_ref(self, key: str) -> None:
        path = self.layout / "index.json"
        try:
            index = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        index["manifests"] = [m for m in index.get("manifests", [])
                              if (m.get("annotations") or {}).get(_REF_ANNOTATION) != key]
        tmp = path.with_name(f".index.json.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(index))
        os.replace(tmp, path)


def _archive_kind(archive: Path) -> str:
    """``oci-archive`` when the tar holds an ``oci-layout`` file, else ``docker-archive``
    (what ``docker save`` writes)."""
    import tarfile

    try:
        with tarfile.open(archive) as tar:
            names = {n.lstrip("./") for n in tar.getnames()}
    except (OSError, tarfile.TarError) as exc:
        raise ImageError(f"Importing {archive}: not a tar archive ({exc})") from None
    if "oci-layout" in names:
        return "oci-archive"
    if "manifest.json" in names:
        return "docker-archive"
    raise ImageError(f"Importing {archive}: neither an OCI archive (no oci-layout) nor a "
                     "docker save archive (no manifest.json)")


def sanitize(root: Path) -> tuple[list[str], int]:
    """Clears setuid/setgid bits and removes device nodes, FIFOs and sockets; returns what
    it changed (paths inside the image) and the bytes of the tree's files (one walk for
    both). Nothing in a job may run with more rights than the job, and nothing may reach
    the host's devices through an image."""
    changed = []
    size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            inside = "/" + os.path.relpath(path, root)
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or \
                    stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):
                os.unlink(path)
                changed.append(f"{inside} (removed: not a file or folder)")
            elif not stat.S_ISLNK(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                os.chmod(path, stat.S_IMODE(st.st_mode) & ~(stat.S_ISUID | stat.S_ISGID))
                changed.append(f"{inside} (setuid/setgid cleared)")
            if stat.S_ISREG(st.st_mode):
                size += st.st_size
    return changed, size


def tree_size(root: Path) -> int:
    total = 0
    for dirpath, _dirs, filenames in os.walk(root):
        for name in filenames:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(dirpath, name))
                if stat.S_ISREG(st.st_mode):
                    total += st.st_size
    return total


def _make_removable(root: Path) -> None:
    """Images may hold read-only folders; rmtree needs to write into them."""
    for dirpath, dirnames, _files in os.walk(root):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            with contextlib.suppress(OSError):
                if not os.path.islink(path):
                    os.chmod(path, 0o755)
