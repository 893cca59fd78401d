"""Who a job's processes are: ``ma-user`` (uid 1000, gid 100) inside, never root outside.

Inside the sandbox every job is ``ma-user`` as in ModelArts images. Outside, when the
service runs as root, the job runs as a dedicated unprivileged host user (``job_user``,
created on first use): bubblewrap started as root with ``--uid 1000`` would map the job to
host root. When the service runs as an ordinary user, the job's user namespace maps that
user to 1000, and nothing needs changing hands.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from modelyard.runtime.report import StagingError

MA_UID = 1000
MA_GID = 100
MA_USER = "ma-user"


@dataclass(frozen=True)
class HostIdentity:
    """The host uid/gid a job's processes run as when the service is root."""

    uid: int
    gid: int


def job_identity(user: str) -> HostIdentity | None:
    """None when the service is not root (the job runs as the service's user, mapped to
    1000); else the job user, created as a system user when missing."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        entry = _create_user(user)
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise StagingError(f"job_user {user!r} is root (uid {entry.pw_uid}, gid "
                           f"{entry.pw_gid}); jobs must run as an unprivileged user "
                           "(setting MODELYARD_JOB_USER)")
    return HostIdentity(entry.pw_uid, entry.pw_gid)


def _create_user(user: str) -> pwd.struct_passwd:
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    res = subprocess.run([useradd, "--system", "--no-create-home", "--home-dir", "/nonexistent",
                          "--shell", "/usr/sbin/nologin", "--user-group", user],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    try:  # exit code 9: created meanwhile by a concurrent runtime
        return pwd.getpwnam(user)
    except KeyError:
        raise StagingError(f"The job user {user!r} does not exist and could not be created "
                           f"({res.stderr.strip() or res.returncode}); create it with "
                           f"'useradd --system {user}' or set MODELYARD_JOB_USER") from None


def hand_over(identity: HostIdentity | None, *roots: Path) -> None:
    """Gives the job's folders to the job user, without following any symbolic link (the
    runtime staged them as root; the job must be able to write there)."""
    if identity is None:
        return
    for root in roots:
        _chown_tree(root, identity)


def _chown_tree(root: Path, who: HostIdentity) -> None:
    stack = [str(root)]
    while stack:
        path = stack.pop()
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if st.st_uid != who.uid or st.st_gid != who.gid:
            os.chown(path, who.uid, who.gid, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            with os.scandir(path) as entries:
                stack.extend(e.path for e in entries)


def passwd_files(folder: Path) -> dict[str, Path]:
    """``/etc/passwd`` and ``/etc/group`` for the sandbox, naming ``ma-user`` (tools such as
    ``whoami``, ``getpass.getuser()`` and pip look the uid up)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\n"
                       f"{MA_USER}:x:{MA_UID}:{MA_GID}:{MA_USER}:/home/ma-user:/bin/bash\n"
                       "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        "/etc/group": f"root:x:0:\nusers:x:{MA_GID}:{MA_USER}\nnogroup:x:65534:\n",
    }
    out: dict[str, Path] = {}
    for target, text in files.items():
        path = folder / Path(target).name
        path.write_text(text)
        out[target] = path
    return out
