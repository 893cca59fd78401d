"""Mounts of file systems into jobs (``spec.volumes``): the rules of seed S5.3 and docs/contract.md.

Pure: this module only looks at what the user wrote. Whether a file system exists and whether
its storage location is a directory needs I/O and is checked by the service
(``modelyard.service.filesystems``), which turns the parsed volumes into bind mounts.

Three kinds of entry are understood, each a map with exactly one key:

- ``{"filesystem": {"name", "storage_location", "local_path", "read_only"}}`` (ours): a
  registered file system (``modelyard fs create``), a directory in it and the mount path.
- ``{"nfs": {"nfs_server_path", "local_path", "read_only"}}`` (ModelArts): an NFS export; the
  service accepts it when the export is mounted on this host.
- ``{"obs": {"obs_url", "local_path"}}`` (ModelArts): refused with a clear message — object
  storage is not a file system; an input channel or a preloaded file system does the job.

Unknown keys are refused rather than ignored: a misspelt ``readonly`` silently giving a
writable mount is the kind of surprise these rules exist to prevent.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from modelyard.spec.errors import SpecError
from modelyard.spec.names import check_name

MAX_VOLUMES = 8
MAX_PATH = 1024
MA_MOUNT_PATH = "/home/ma-user/modelarts"
KERNEL_PATHS = ("/proc", "/sys", "/dev")

COUNT_RULE = f"a job mounts at most {MAX_VOLUMES} file systems (docs/contract.md)"
ENTRY_RULE = (
    "each volume is a map with exactly one of 'filesystem', 'nfs' or 'obs' "
    "(seed S5.2)"
)
ABSOLUTE_RULE = "a mount path is an absolute path starting with '/' (seed S5.2)"
ROOT_RULE = "a mount path must not be '/' (docs/contract.md)"
CACHE_RULE = "a mount path must not be '/cache', the job's scratch space (docs/contract.md)"
MA_RULE = (
    f"a mount path must not be at or under {MA_MOUNT_PATH}, where the platform puts code, "
    "inputs, outputs and logs (docs/contract.md)"
)
ANCESTOR_RULE = (
    f"a mount path must not contain {MA_MOUNT_PATH}: mounting there would hide the job's "
    "code, inputs, outputs and logs (ours)"
)
KERNEL_RULE = (
    "a mount path must not be at or under /proc, /sys or /dev, which the sandbox provides "
    "(ours)"
)
PATH_ONCE_RULE = "each mount path is used once per job (seed S5.3)"
NESTED_RULE = (
    "a mount path must not lie inside another mount path of the same job: which one is "
    "visible would depend on mount order (ours)"
)
FS_ONCE_RULE = "the same file system is mounted at most once per job (seed S5.3)"
LOCATION_RULE = (
    "a storage location is a directory inside the file system, like '/' or '/data/train', "
    "without empty, '.' or '..' components (seed S5.2)"
)
OBS_RULE = (
    "obs volumes are not supported: object storage cannot be mounted as a file system "
    "here. Use an input channel (downloaded before the job starts), or preload the data "
    "into a file system (modelyard fs preload NAME OBS_URL) and mount that with a "
    "'filesystem' volume"
)
READ_ONLY_RULE = "read_only is true or false"


class VolumeKind(StrEnum):
    FILESYSTEM = "filesystem"
    NFS = "nfs"
    OBS = "obs"


_KEYS: dict[VolumeKind, tuple[frozenset[str], frozenset[str]]] = {
    # kind: (required keys, optional keys)
    VolumeKind.FILESYSTEM: (frozenset({"name", "local_path"}),
                            frozenset({"storage_location", "read_only"})),
    VolumeKind.NFS: (frozenset({"nfs_server_path", "local_path"}), frozenset({"read_only"})),
    VolumeKind.OBS: (frozenset({"obs_url", "local_path"}), frozenset({"read_only"})),
}


@dataclass(frozen=True)
class Volume:
    """One checked ``spec.volumes`` entry.

    ``field`` is where it was written (``spec.volumes[2].filesystem``), so the service can
    name the exact field when an I/O check fails later. ``storage_location`` is relative to
    the file system's root ('' is the root itself).
    """

    kind: VolumeKind
    field: str
    local_path: str
    read_only: bool
    name: str | None = None
    storage_location: str = ""
    server_path: str | None = None


def parse_volumes(volumes: Any, field: str = "spec.volumes") -> list[Volume]:
    """Checks every rule that needs no I/O and returns the volumes in the order written.

    Raises SpecError naming the first broken field, its value and the rule.
    """
    if volumes is None:
        return []
    if not isinstance(volumes, list):
        raise SpecError(field, volumes, "a list of volumes (seed S5.2)")
    if len(volumes) > MAX_VOLUMES:
        raise SpecError(field, len(volumes), COUNT_RULE)
    out: list[Volume] = []
    for i, entry in enumerate(volumes):
        vol = parse_volume(entry, f"{field}[{i}]")
        _check_against_earlier(vol, out)
        out.append(vol)
    return out


def parse_volume(entry: Any, field: str) -> Volume:
    if not isinstance(entry, Mapping) or len(entry) != 1:
        raise SpecError(field, entry, ENTRY_RULE)
    (key, body), = entry.items()
    try:
        kind = VolumeKind(key)
    except ValueError:
        raise SpecError(field, entry, ENTRY_RULE) from None
    where = f"{field}.{kind.value}"
    if not isinstance(body, Mapping):
        raise SpecError(where, body, f"a map with {_describe_keys(kind)}")
    required, optional = _KEYS[kind]
    unknown = [k for k in body if k not in required | optional]
    if unknown:
        raise SpecError(f"{where}.{unknown[0]}", body[unknown[0]],
                        f"unknown field; a {kind.value} volume has {_describe_keys(kind)}")
    missing = sorted(required - set(body))
    if missing:
        raise SpecError(f"{where}.{missing[0]}", None, "this field is required")
    if kind == VolumeKind.OBS:
        raise SpecError(where, dict(body), OBS_RULE)
    local_path = check_mount_path(body["local_path"], f"{where}.local_path")
    read_only = _check_bool(body.get("read_only", False), f"{where}.read_only")
    if kind == VolumeKind.NFS:
        server = body["nfs_server_path"]
        if not isinstance(server, str) or not server.strip() or _has_control(server):
            raise SpecError(f"{where}.nfs_server_path", server,
                            "an NFS export like 'server:/export/path'")
        return Volume(kind, where, local_path, read_only, server_path=server.strip())
    name = check_name(body["name"], f"{where}.name")
    location = check_storage_location(body.get("storage_location", "/"),
                                      f"{where}.storage_location")
    return Volume(kind, where, local_path, read_only, name=name, storage_location=location)


def check_mount_path(path: Any, field: str) -> str:
    """A mount path inside the job: absolute, normalised, and clear of the reserved places."""
    if not isinstance(path, str) or not path or _has_control(path) or len(path) > MAX_PATH:
        raise SpecError(field, path, ABSOLUTE_RULE)
    if not path.startswith("/"):
        raise SpecError(field, path, ABSOLUTE_RULE)
    normal = posixpath.normpath(path)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    if normal != path:
        raise SpecError(field, path, f"a mount path is normalised: write {normal!r} (seed S5.2)")
    if path == "/":
        raise SpecError(field, path, ROOT_RULE)
    if path == "/cache":
        raise SpecError(field, path, CACHE_RULE)
    if _at_or_under(path, MA_MOUNT_PATH):
        raise SpecError(field, path, MA_RULE)
    if _at_or_under(MA_MOUNT_PATH, path):
        raise SpecError(field, path, ANCESTOR_RULE)
    if any(_at_or_under(path, k) for k in KERNEL_PATHS):
        raise SpecError(field, path, KERNEL_RULE)
    return path


def check_storage_location(text: Any, field: str) -> str:
    """A directory inside a file system, written '/data/train', 'data/train' or '/'.

    Returns it relative to the root without slashes at either end ('' for the root), which
    is what the service joins to the file system's path. '..' is refused so a mount can
    never reach outside its file system.
    """
    if text is None:
        return ""
    if not isinstance(text, str) or _has_control(text) or len(text) > MAX_PATH or "\\" in text:
        raise SpecError(field, text, LOCATION_RULE)
    rel = text.strip("/")
    if rel and any(p in ("", ".", "..") for p in rel.split("/")):
        raise SpecError(field, text, LOCATION_RULE)
    return rel


def parse_mount_option(text: str, option: str = "--mount") -> dict[str, Any]:
    """``INSTANCE:DIR_IN_FS:MOUNT_PATH[:ro|:rw]`` (the CLI's ``--mount``) as a volume entry.

    Only the shape is checked here; the entry goes through ``parse_volumes`` at submit, like
    any other, so a CLI user and an API user get the same errors for the same mistake.
    """
    rule = "use INSTANCE:DIR_IN_FS:MOUNT_PATH[:ro], e.g. images:/train:/mnt/data:ro"
    if not isinstance(text, str):
        raise SpecError(option, text, rule)
    body, read_only = text, False
    for suffix, flag in ((":ro", True), (":rw", False)):
        if body.endswith(suffix):
            body, read_only = body[: -len(suffix)], flag
            break
    parts = body.split(":")
    if len(parts) != 3 or not all(parts):
        raise SpecError(option, text, rule)
    name, location, mount = parts
    return {"filesystem": {"name": name, "storage_location": location, "local_path": mount,
                           "read_only": read_only}}


def _check_against_earlier(vol: Volume, earlier: list[Volume]) -> None:
    for other in earlier:
        if vol.local_path == other.local_path:
            raise SpecError(f"{vol.field}.local_path", vol.local_path,
                            f"{PATH_ONCE_RULE}; {other.field}.local_path has it already")
        if _at_or_under(vol.local_path, other.local_path) or _at_or_under(
                other.local_path, vol.local_path):
            raise SpecError(f"{vol.field}.local_path", vol.local_path,
                            f"{NESTED_RULE}; {other.field}.local_path is {other.local_path!r}")
        if vol.kind == other.kind == VolumeKind.FILESYSTEM and vol.name == other.name:
            raise SpecError(f"{vol.field}.name", vol.name,
                            f"{FS_ONCE_RULE}; {other.field} mounts it already")
        if vol.kind == other.kind == VolumeKind.NFS and (
                vol.server_path or "").rstrip("/") == (other.server_path or "").rstrip("/"):
            raise SpecError(f"{vol.field}.nfs_server_path", vol.server_path,
                            f"{FS_ONCE_RULE}; {other.field} mounts it already")


def _at_or_under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def _has_control(text: str) -> bool:
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def _check_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise SpecError(field, value, READ_ONLY_RULE)


def _describe_keys(kind: VolumeKind) -> str:
    required, optional = _KEYS[kind]
    keys = [*sorted(required), *sorted(optional)]
    return ", ".join(repr(k) for k in keys)
