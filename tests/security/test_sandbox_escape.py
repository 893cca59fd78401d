"""A job tries to become root again, change the host, or reach the host's services.

Each attack runs as a real job in the real sandbox, with the service as root; the job
prints what each attempt got, and the test checks the host too."""

from __future__ import annotations

import os
import pwd
import socket
import threading
from pathlib import Path

import pytest

from modelyard.executors import launcher
from modelyard.settings import Settings

from .hostile import as_root_in_sandbox, hostile_run, report

pytestmark = [pytest.mark.slow, as_root_in_sandbox]

ESCAPES = r'''
import ctypes, os, socket, subprocess

def attempt(name, fn):
    try:
        print(f"ATTACK {name}: SUCCEEDED {fn()!r}", flush=True)
    except Exception as exc:
        print(f"ATTACK {name}: failed {type(exc).__name__}", flush=True)

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return line.split()[1]

print("ID", os.getuid(), os.getgid(), os.getgroups(), flush=True)
print("CAPEFF", status("CapEff"), "CAPBND", status("CapBnd"), "NNP", status("NoNewPrivs"))

def remount_etc():
    r = subprocess.run(["mount", "-o", "remount,rw", "/etc"], capture_output=True)
    if r.returncode: raise OSError(r.stderr.decode())
    open("/etc/modelyard-pwned", "w").write("x")
attempt("remount-etc", remount_etc)
attempt("write-etc", lambda: open("/etc/modelyard-pwned", "w").write("x"))
attempt("hostname", lambda: open("/proc/sys/kernel/hostname", "w").write("pwned"))
attempt("sethostname-syscall", lambda: socket.sethostname("pwned"))
attempt("mknod", lambda: os.mknod("/tmp/mem", 0o600 | 0o020000, os.makedev(1, 1)))
attempt("setuid-0", lambda: os.setuid(0))
def new_userns():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000) != 0: raise OSError(ctypes.get_errno(), "unshare")
attempt("user-namespace", new_userns)
attempt("read-dev-mem", lambda: open("/dev/mem", "rb").read(1))
attempt("home-of-service", lambda: os.listdir(HOME))
attempt("launcher-socket", lambda: os.stat(SOCK))
for port in PORTS:
    def connect(port=port):
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            return s.recv(16)
    attempt(f"loopback-{port}", connect)
def abstract():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(ABSTRACT)
    return s.recv(16)
attempt("abstract-socket", abstract)
open(os.environ["MA_MOUNT_PATH"] + "/outputs/train_url_0/mine.txt", "w").write("x")
'''


class _Listener:
    """A TCP server on the host's loopback and an abstract unix socket, each answering
    'HOST-SECRET' to whoever connects."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.abstract = f"\0modelyard-test-{os.getpid()}"
        self.unix.bind(self.abstract)
        self.unix.listen()
        self.hits = 0
        for server in (self.tcp, self.unix):
            threading.Thread(target=self._serve, args=(server,), daemon=True).start()

    def _serve(self, server: socket.socket) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            self.hits += 1
            with conn:
                conn.sendall(b"HOST-SECRET")

    def close(self) -> None:
        self.tcp.close()
        self.unix.close()


def test_a_job_cannot_regain_root_change_the_host_or_reach_its_loopback(
        settings: Settings) -> None:
    listener = _Listener()
    hostname = socket.gethostname()
    try:
        launcher.token(settings.home)
        script = (f"HOME = {str(settings.home)!r}\n"
                  f"SOCK = {launcher.address(settings.home)!r}\n"
                  f"PORTS = [{listener.tcp.getsockname()[1]}]\n"
                  f"ABSTRACT = {listener.abstract!r}\n" + ESCAPES)
        from runtime.jobkit import output

        out = output(settings)
        job, state = hostile_run(settings, script, outputs=[out])
    finally:
        listener.close()
    assert state.phase == "Completed", job.log
    got = report(job)
    assert got, job.log
    for name, result in got.items():
        assert result.startswith("failed"), f"{name}: {result}\n{job.log}"
    assert listener.hits == 0
    assert "ID 1000 100 [100]" in job.log or "ID 1000 100 []" in job.log, job.log
    assert "CAPEFF 0000000000000000 CAPBND 0000000000000000 NNP 1" in job.log, job.log
    assert not Path("/etc/modelyard-pwned").exists()
    assert socket.gethostname() == hostname
    # Host side: what the job wrote belongs to the unprivileged job user, not root.
    job_user = pwd.getpwnam(settings.job_user)
    written = job.folder.home / "modelarts" / "outputs" / "train_url_0" / "mine.txt"
    assert written.stat().st_uid == job_user.pw_uid != 0


OUTBOUND = r'''
import socket
try:
    print("RESOLVED", socket.getaddrinfo(HOST, 443)[0][4][0], flush=True)
except Exception as exc:
    print("NOT-RESOLVED", type(exc).__name__, exc, flush=True)
'''


def test_a_job_keeps_outbound_network_access(settings: Settings) -> None:
    """ModelArts jobs reach the outside (pip, object storage): name resolution through the
    host's resolver works from the job's own network namespace."""
    host = "pypi.org"
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        pytest.skip("this machine cannot resolve names itself")
    job, state = hostile_run(settings, f"HOST = {host!r}\n" + OUTBOUND)
    assert state.phase == "Completed", job.log
    assert "RESOLVED" in job.log and "NOT-RESOLVED" not in job.log, job.log


def test_outbound_access_can_be_turned_off(settings: Settings) -> None:
    closed = settings.model_copy(update={"job_network": "none"})
    job, state = hostile_run(closed, "HOST = 'pypi.org'\n" + OUTBOUND)
    assert state.phase == "Completed", job.log
    assert "NOT-RESOLVED" in job.log, job.log
