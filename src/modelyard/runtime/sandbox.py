"""The bubblewrap sandbox, a security boundary: real ``/home/ma-user`` paths, the host
read-only, the job's own folders writable, the job ``ma-user`` (uid 1000, gid 100) with no
capabilities, its own PID, IPC, UTS and network namespaces, and size-limited ``/tmp`` and
``/dev/shm``.

Not ``--ro-bind / /``: then ``/home/ma-user`` and ``/cache`` could not be created (a mount
point inside a read-only bind must already exist). Instead the new root is bubblewrap's
empty tmpfs, selected top-level host folders are bound read-only, symlinked ones (``/bin ->
usr/bin``) are recreated as symlinks, and everything else (other users' homes, /root,
/tmp, /work, /var...) is simply absent. The engine's Python installation is bound at its
own path, read-only, because venvs refer to their base interpreter by absolute path.

Two shapes, by who runs the service:

- **root**: an outer, privileged bubblewrap builds the tree (it can read every source,
  such as an interpreter under ``/root``), then ``setpriv`` drops to the unprivileged job
  user and an inner bubblewrap makes the user namespace (host job user = 1000 inside, no
  other id mapped), PID/IPC/UTS namespaces, drops every capability and forbids further
  user namespaces. ``bwrap --unshare-user --uid 1000`` run as root alone would map the
  job to host root.
- **an ordinary user**: one bubblewrap, whose user namespace maps that user to 1000.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from modelyard.runtime.identity import MA_GID, MA_UID
from modelyard.runtime.layout import CACHE, MA_HOME
from modelyard.runtime.report import StagingError

SYSTEM_DIRS = ("usr", "etc", "opt", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
"""Top-level host folders the job sees (read-only)."""
_PROBE_TIMEOUT = 20.0
PROBE_USER = (65534, 65534)
"""Under root the probe drops to nobody: it checks the user namespace, not the job user."""
PROBE_CACHE = "sandbox-probe.json"
PROBE_CACHE_SECONDS = 3600.0
"""How long a probe's answer, recorded in the home's ``run`` folder, is trusted (it is also
keyed by everything that usually changes it: the bubblewrap binary, the boot, the kernel
and its user-namespace switches)."""
_USERNS_SWITCHES = ("/proc/sys/kernel/unprivileged_userns_clone",
                    "/proc/sys/user/max_user_namespaces",
                    "/proc/sys/kernel/apparmor_restrict_unprivileged_userns")


@dataclass(frozen=True)
class Bind:
    source: Path
    target: Path
    read_only: bool = True


@dataclass
class SandboxSpec:
    """What one sandboxed process sees beyond the read-only host system."""

    home: Path
    cache: Path
    cwd: str = str(MA_HOME)
    binds: list[Bind] = field(default_factory=list)
    hide: list[Path] = field(default_factory=list)
    """Host folders that would be visible through a system folder and must not be."""
    job_user: tuple[int, int] | None = None
    """Host (uid, gid) to drop to before the user namespace; set when the service is root."""
    hostname: str = "modelarts-job"
    own_network: bool = False
    """True: the caller puts the sandbox into a network namespace of its own (``setns``
    before exec); False: bubblewrap makes one with only loopback."""
    tmp_bytes: int | None = None
    shm_bytes: int | None = None
    files: dict[str, Path] = field(default_factory=dict)
    """Generated files bound read-only over host ones (``/etc/passwd`` -> its source)."""
    gpus: bool = False
    """Only a job whose flavor has GPUs sees ``/dev/nvidia*``."""
    opt_ml: Path | None = None
    """The job folder's ``opt-ml``, seen as ``/opt/ml`` (SageMaker contract, issue 16)."""
    rootfs: Path | None = None
    """An unpacked image: its top-level folders replace the host's system folders (issue
    15); everything else (job folders, binds, files, namespaces) is as without it."""


def find_bwrap() -> str | None:
    return shutil.which("bwrap") or (
        "/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None)


def system_binds() -> list[str]:
    """The bubblewrap arguments that show the host's system folders (computed once per
    process: a runtime, or the launcher it was forked from, sees the same host)."""
    return list(_system_binds())


@cache
def _system_binds() -> tuple[str, ...]:
    args: list[str] = []
    for name in SYSTEM_DIRS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    resolv = Path("/etc/resolv.conf")
    if resolv.is_symlink():  # e.g. into /run/systemd/resolve, which is not bound
        real = resolv.resolve()
        if real.is_file() and not is_visible(real):
            args += ["--ro-bind", str(real), str(real)]
    return tuple(args)


@cache
def _visible_roots() -> tuple[Path, ...]:
    return tuple(Path("/") / d for d in SYSTEM_DIRS
                 if (Path("/") / d).is_dir() and not (Path("/") / d).is_symlink())


def is_visible(path: Path) -> bool:
    """True if ``path`` lies inside a system folder the sandbox binds."""
    real = path.resolve()
    return any(real == root or root in real.parents for root in _visible_roots())


def _nvidia_devices() -> list[str]:
    """``/dev/nvidia*``, sorted (a listing: ``glob`` would compile its pattern again in every
    forked runtime)."""
    try:
        names = os.listdir("/dev")
    except OSError:
        return []
    return sorted(f"/dev/{n}" for n in names if n.startswith("nvidia"))


def build_command(bwrap: str, spec: SandboxSpec, argv: list[str],
                  block_fd: int | None = None) -> list[str]:
    """The bubblewrap command line; with ``block_fd`` bubblewrap builds the sandbox and then
    waits for a byte on that descriptor before it starts ``argv`` (see
    ``JobProcess(hold=True)``)."""
    confine = [bwrap, "--unshare-user", "--uid", str(MA_UID), "--gid", str(MA_GID),
               "--disable-userns", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
               "--hostname", spec.hostname, "--unshare-cgroup-try", "--cap-drop", "ALL",
               "--new-session", "--die-with-parent"]
    net = [] if spec.own_network else ["--unshare-net"]
    start = (["--block-fd", str(block_fd)] if block_fd is not None else []) + [
        "--chdir", spec.cwd, "--", *argv]
    if spec.job_user is None:
        return [*confine, *net, *_tree(spec, outer=False), *start]
    uid, gid = spec.job_user
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    outer = [bwrap, "--die-with-parent", *net, *_tree(spec, outer=True)]
    drop, hide = [setpriv], []
    if spec.rootfs is not None:  # the image has neither: the host's, run by the host's loader
        tools = host_tools(setpriv, bwrap)
        outer += list(tools.binds)
        drop, confine = tools.run(setpriv), [*tools.run(bwrap), *confine[1:]]
        hide = ["--tmpfs", str(HOST_TOOLS)]
    return [*outer, "--", *drop, f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
            *confine, "--dev-bind", "/", "/", *hide, "--proc", "/proc", *start]


HOST_TOOLS = Path("/.modelyard-host")
"""Where, in an image's sandbox, the host's setpriv and bwrap (with their libraries and
loader) are bound for the privilege drop; the inner sandbox covers it again."""


@dataclass(frozen=True)
class HostTools:
    binds: tuple[str, ...]
    loader: str
    library_path: str

    def run(self, binary: str) -> list[str]:
        """The argv prefix that runs the host's ``binary`` inside an image, through the
        host's own dynamic loader (the image's libc may be another)."""
        return [self.loader, "--library-path", self.library_path,
                str(HOST_TOOLS) + os.path.realpath(binary)]


@cache
def host_tools(*binaries: str) -> HostTools:
    """The host's system folders under HOST_TOOLS (as the sandbox shows them to jobs
    without an image), its loader, and its library folders. No ``ldd``: a runtime pays for
    this before every image job."""
    binds = ["--perms", "0755", "--dir", str(HOST_TOOLS)]  # the default 0700: not for ma-user
    for name in SYSTEM_DIRS:
        path = Path("/") / name
        if path.is_symlink():
            binds += ["--symlink", os.readlink(path), f"{HOST_TOOLS}/{name}"]
        elif path.is_dir():
            binds += ["--ro-bind", str(path), f"{HOST_TOOLS}/{name}"]
    loader = os.path.realpath(elf_interpreter(binaries[0]))
    triplet = f"{os.uname().machine}-linux-gnu"
    dirs = [f"/usr/lib/{triplet}", f"/lib/{triplet}", "/usr/lib64", "/lib64", "/usr/lib",
            "/lib"]
    lib_dirs = [f"{HOST_TOOLS}{d}" for d in dirs if os.path.isdir(d)]
    return HostTools(tuple(binds), str(HOST_TOOLS) + loader, ":".join(lib_dirs))


def elf_interpreter(binary: str) -> str:
    """The dynamic loader an ELF executable names (its PT_INTERP segment)."""
    import struct

    with open(binary, "rb") as fh:
        head = fh.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            raise StagingError(f"{binary} is not a 64-bit little-endian ELF executable")
        phoff, = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        for i in range(phnum):
            fh.seek(phoff + i * phentsize)
            ptype, _flags, offset, _vaddr, _paddr, filesz = struct.unpack(
                "<IIQQQQ", fh.read(40))
            if ptype == 3:  # PT_INTERP
                fh.seek(offset)
                return fh.read(filesz).rstrip(b"\0").decode()
    raise StagingError(f"{binary} names no dynamic loader")


def _tree(spec: SandboxSpec, outer: bool) -> list[str]:
    """The job's file tree: system folders, /proc, /dev, tmpfs, the job's folders, binds.

    Under root, the outer bubblewrap binds the host's /proc (its inner partner mounts the
    job's own /proc over it: a new proc needs a fully visible one in its mount namespace),
    and every folder it creates on the way to a mount point is made 0755 (the default 0700
    would lock ma-user out)."""
    proc = ["--bind", "/proc", "/proc"] if outer else ["--proc", "/proc"]
    if spec.rootfs is not None:  # /opt/ml in an image: not yet (docs/engines.md)
        root_args, visible = image_root(spec.rootfs,
                                        nvidia_driver_files() if spec.gpus else None)
    else:
        root_args = (system_binds() if spec.opt_ml is None
                     else with_opt_ml(system_binds(), spec.opt_ml))
        visible = is_visible
    args = [*root_args, *proc, "--dev", "/dev"]
    for size, target in ((spec.shm_bytes, "/dev/shm"), (spec.tmp_bytes, "/tmp")):
        if size is not None:
            args += ["--size", str(size)]
        args += ["--perms", "1777", "--tmpfs", target]
    for dev in _nvidia_devices() if spec.gpus else []:
        args += ["--dev-bind", dev, dev]
    made: set[Path] = set()
    for hidden in spec.hide if spec.rootfs is None else []:  # an image shows no host folder
        if hidden.is_dir() and is_visible(hidden):
            args += ["--tmpfs", str(hidden)]
    mounts = [Bind(spec.home, MA_HOME, False), Bind(spec.cache, CACHE, False)]
    for b in spec.binds:
        masked = any(h == b.target or h in b.target.parents for h in spec.hide)
        if (spec.rootfs is None and b.read_only and b.source == b.target
                and is_visible(b.source) and not masked):
            continue
        mounts.append(b)
    for target, source in spec.files.items():
        if spec.rootfs is None or _can_bind_file(spec.rootfs, target):
            mounts.append(Bind(source, Path(target)))
    for b in mounts:
        args += _parents(b.target, made, visible)
        args += ["--ro-bind" if b.read_only else "--bind", str(b.source), str(b.target)]
    return args


IMAGE_SKIPPED = frozenset({"proc", "dev", "sys", "tmp", "home", "run"})
"""Top-level folders of an image the sandbox makes itself (or leaves out: ``/home`` holds
only ``ma-user``, which is the job's own; ``/run`` is runtime state, stale in an image)."""


NVIDIA_HOME = "/usr/local/nvidia"
"""Where a GPU job in an image finds the host driver's libraries (``lib64``) and
``nvidia-smi`` (``bin``), as on ModelArts (CUDA images put ``/usr/local/nvidia/lib64`` on
``LD_LIBRARY_PATH``)."""
_DRIVER_PREFIXES = ("libcuda.so", "libnvidia-", "libnvcuvid.so", "libnvoptix.so")


def nvidia_driver_files() -> list[Path]:
    """The host driver's user-space libraries and ``nvidia-smi`` (names as the loader
    asks for them; symlinks are bound as the files they point to)."""
    triplet = f"{os.uname().machine}-linux-gnu"
    found: dict[str, Path] = {}
    for folder in (f"/usr/lib/{triplet}", "/usr/lib64", "/lib64"):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if name.startswith(_DRIVER_PREFIXES) and name not in found:
                found[name] = Path(folder) / name
    smi = shutil.which("nvidia-smi")
    if smi:
        found["nvidia-smi"] = Path(smi)
    return list(found.values())


def _spliced(source: Path, target: str, skip: set[str]) -> list[str]:
    """``target`` as a tmpfs holding read-only binds of ``source``'s entries (symlinks
    recreated) but ``skip``: a read-only image folder in which new mount points can be
    made."""
    args = ["--perms", "0755", "--tmpfs", target]
    for name in sorted(os.listdir(source)):
        path = source / name
        if name in skip:
            continue
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"{target}/{name}"]
        elif path.is_dir() or path.is_file():
            args += ["--ro-bind", str(path), f"{target}/{name}"]
    return args


def image_root(rootfs: Path, gpu_files: list[Path] | None = None
               ) -> tuple[list[str], Callable[[Path], bool]]:
    """The bubblewrap arguments that make an unpacked image the sandbox's root (each
    top-level entry read-only, symlinks as symlinks), and the test of whether a path in
    the sandbox lies inside one of those read-only entries. ``gpu_files``: the host
    driver's files, bound under ``/usr/local/nvidia`` (``/usr`` and ``/usr/local`` are then
    spliced so that folder can be made)."""
    args: list[str] = []
    bound: set[str] = set()
    for name in sorted(os.listdir(rootfs)):
        if name in IMAGE_SKIPPED:
            continue
        path = rootfs / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.is_dir() and name == "usr" and gpu_files:
            args += _spliced(path, "/usr", {"local"})
            local = path / "local"
            if local.is_dir() and not local.is_symlink():
                args += _spliced(local, "/usr/local", {"nvidia"})
            bound.add(name)
        elif path.is_dir():
            args += ["--ro-bind", str(path), f"/{name}"]
            bound.add(name)
        elif path.is_file():
            args += ["--ro-bind", str(path), f"/{name}"]
    if gpu_files and "usr" in bound:
        args += ["--perms", "0755", "--dir", f"{NVIDIA_HOME}/lib64",
                 "--perms", "0755", "--dir", f"{NVIDIA_HOME}/bin"]
        for f in gpu_files:
            where = "bin" if f.name == "nvidia-smi" else "lib64"
            args += ["--ro-bind", str(f.resolve()), f"{NVIDIA_HOME}/{where}/{f.name}"]

    def visible(p: Path) -> bool:
        parts = p.parts
        return len(parts) > 1 and parts[1] in bound

    return args, visible


def _can_bind_file(rootfs: Path, target: str) -> bool:
    """A generated file can go over the image's own, or where its folder is not the
    image's (bubblewrap then creates it); not into an image folder that lacks it."""
    inside = rootfs / target.lstrip("/")
    top = Path(target).parts[1]
    if top in IMAGE_SKIPPED or not (rootfs / top).is_dir() or (rootfs / top).is_symlink():
        return True
    return os.path.isfile(inside) and not os.path.islink(inside)


def _parents(target: Path, made: set[Path],
             visible: Callable[[Path], bool] = is_visible) -> list[str]:
    """``--perms 0755 --dir`` for each folder bubblewrap would create on the way to
    ``target`` (outside the system folders, which exist)."""
    out: list[str] = []
    for parent in reversed(target.parents):
        if parent == Path("/") or parent in made or visible(parent):
            continue
        made.add(parent)
        out += ["--perms", "0755", "--dir", str(parent)]
    return out


OPT_ML = Path("/opt/ml")


def with_opt_ml(system: list[str], host_opt_ml: Path) -> list[str]:
    """``system`` with ``host_opt_ml`` bound writable at ``/opt/ml``.

    ``/opt`` is a read-only bind of the host's ``/opt``, where ``/opt/ml`` cannot be created
    as a mount point. So ``/opt`` becomes a tmpfs holding read-only binds of the host's
    ``/opt/*`` entries (symlinks recreated), and then ``/opt/ml`` (a host ``/opt/ml``, if
    any, is replaced by the job's)."""
    out: list[str] = []
    replaced = False
    i = 0
    while i < len(system):
        if system[i:i + 3] == ["--ro-bind", "/opt", "/opt"]:
            out += _opt_entries()
            replaced = True
            i += 3
        else:
            out.append(system[i])
            i += 1
    if not replaced:  # the host has no /opt folder (or a symlink: not followed)
        out += ["--tmpfs", "/opt"]
    return [*out, "--bind", str(host_opt_ml), str(OPT_ML)]


def _opt_entries() -> list[str]:
    args = ["--tmpfs", "/opt"]
    try:
        names = sorted(os.listdir("/opt"))
    except OSError:
        return args
    for name in names:
        path = Path("/opt") / name
        if name == OPT_ML.name:
            continue
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.exists():
            args += ["--ro-bind", str(path), str(path)]
    return args


@cache
def probe(bwrap: str) -> str | None:
    """None if bubblewrap can build our kind of sandbox here, else why not. Once per
    process: the answer does not change while a runtime runs."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="modelyard-probe-") as scratch:
        os.chmod(scratch, 0o755)
        spec = SandboxSpec(home=Path(scratch), cache=Path(scratch),
                           job_user=PROBE_USER if os.geteuid() == 0 else None)
        return _run_probe(build_command(bwrap, spec, ["/bin/sh", "-c", "true"]))


def _run_probe(cmd: list[str]) -> str | None:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=_PROBE_TIMEOUT,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if res.returncode != 0:
        return (res.stderr.strip() or f"exit code {res.returncode}").splitlines()[-1]
    return None


def _probe_key(bwrap: str) -> str:
    st = os.stat(bwrap)
    parts = [bwrap, str(st.st_size), str(st.st_mtime_ns), str(st.st_ino), str(os.getuid()),
             os.uname().release]
    for path in ("/proc/sys/kernel/random/boot_id", *_USERNS_SWITCHES):
        try:
            with open(path) as fh:
                parts.append(fh.read().strip())
        except OSError:
            parts.append("-")
    return "|".join(parts)


def probe_cached(bwrap: str, cache_dir: Path | None) -> str | None:
    """``probe`` with its answer kept in ``cache_dir`` (the home's ``run`` folder), so that
    a runtime started as a new interpreter does not start bubblewrap just to see whether
    it works (tens of milliseconds before every job). Within a process, ``probe``'s own
    cache answers first."""
    if cache_dir is None or probe.cache_info().currsize:
        return probe(bwrap)
    path = cache_dir / PROBE_CACHE
    try:
        key = _probe_key(bwrap)
    except OSError:
        return probe(bwrap)
    try:
        record = json.loads(path.read_text())
        if (record.get("key") == key
                and 0 <= time.time() - float(record["time"]) < PROBE_CACHE_SECONDS):
            reason = record.get("reason")
            return None if reason is None else str(reason)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    reason = probe(bwrap)
    with contextlib.suppress(OSError):
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "reason": reason, "time": time.time()}))
        os.replace(tmp, path)
    return reason


def choose(mode: str, cache_dir: Path | None = None) -> tuple[str | None, str | None]:
    """Resolves the ``sandbox`` setting to (bwrap path or None, warning or None).

    ``auto`` falls back to no sandbox with a warning; ``bwrap`` insists (the job fails
    when bubblewrap does not work); ``none`` never sandboxes. ``cache_dir`` keeps the
    probe's answer between processes (see ``probe_cached``).
    """
    if mode == "none":
        return None, "sandbox is off (sandbox=none)"
    bwrap = find_bwrap()
    reason = ("bubblewrap (bwrap) is not installed" if bwrap is None
              else probe_cached(bwrap, cache_dir))
    if bwrap is not None and reason is None:
        return bwrap, None
    if mode == "bwrap":
        raise StagingError(f"The sandbox was required (sandbox=bwrap) but does not work "
                           f"here: {reason}")
    return None, f"bubblewrap does not work here ({reason})"


@cache
def python_roots(python: str) -> tuple[Path, ...]:
    """The folders an interpreter needs: its prefix and, for a venv, its base install."""
    code = ("import sys, os, json; print(json.dumps([sys.prefix, sys.base_prefix, "
            "sys.exec_prefix, sys.base_exec_prefix, os.path.realpath(sys.executable)]))")
    try:
        res = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL)
        found = json.loads(res.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise StagingError(f"The engine's Python {python} does not run: {exc}") from None
    candidates = {Path(p) for p in found[:4]} | {Path(found[4]).parent.parent}
    candidates.add(Path(python).parent.parent)
    roots = sorted(p for p in candidates if p.is_dir() and p != Path("/"))
    return tuple(r for r in roots if not any(o in r.parents for o in roots))


def clear_caches() -> None:
    """Forgets every per-process answer about the host (for a long-lived launcher, which
    re-learns them now and then)."""
    for fn in (probe, python_roots, _system_binds, _visible_roots, host_tools):
        fn.cache_clear()
