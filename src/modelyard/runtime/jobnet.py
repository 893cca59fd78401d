"""A job's own network namespace: outbound access as ModelArts jobs have (pip, object
storage), nothing bound to the host's loopback, no abstract unix socket of the host.

The namespace is made by the runtime (root) in a short-lived thread, so it belongs to the
host's user namespace: the job, in a user namespace of its own without capabilities, cannot
reconfigure it. ``pasta`` (package ``passt``) attaches to it and forwards outbound TCP/UDP
through the host's sockets; with ``-T none -U none`` it forwards no host port into it and
``--no-map-gw`` keeps the gateway address from reaching the host. Without ``pasta``, or with
outbound access turned off (setting ``job_network = none``), the namespace has only its own
loopback.

A task of a multi-node job (issue 17) also takes inbound TCP from its peers: its namespace
gets the node's own address (``pasta -a``), and ``pasta -t <address>/<first>-<last>``
listens on that address only, for a fixed range of ports, forwarding each connection into
the namespace. The host's loopback stays out of reach (still ``-T none``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from modelyard.runtime.report import StagingError

CLONE_NEWNET = 0x40000000
PASTA_PID = "pasta.pid"
"""In the job folder's private ``sandbox`` folder."""
_PASTA_TIMEOUT = 20.0
_LIBC = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Inbound:
    """Inbound TCP for a task of a multi-node job: ``address`` (the node's) is the
    namespace's own address too, and ports ``first``..``last`` on it lead into the job."""

    address: str
    first: int
    last: int

    def pasta_options(self) -> list[str]:
        return ["-a", self.address, "-t", f"{self.address}/{self.first}-{self.last}"]

    def check_free(self) -> None:
        """``pasta`` skips a port of the range that something on the node already listens
        on, without an error (checked), and the peers would then reach that listener (say,
        another job's task): refuse instead, naming the port."""
        import socket

        for port in range(self.first, self.last + 1):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                # As a listener would: connections of a previous attempt in TIME_WAIT do
                # not count, a socket listening there does.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((self.address, port))
                except OSError as exc:
                    raise StagingError(
                        f"cluster.master_port={self.first}: TCP port {port} on {self.address} "
                        f"is not free on this node ({exc.strerror}); the job needs ports "
                        f"{self.first}-{self.last} there") from None


class JobNetwork:
    """The namespace's descriptor (for ``setns`` in the sandbox's first process) and the
    ``pasta`` that serves it. ``ready()`` before the job's code runs; ``close()`` at the
    end, however the job ends."""

    def __init__(self, fd: int, pid_file: Path | None, inbound: Inbound | None = None) -> None:
        self.fd = fd
        self._pid_file = pid_file
        self._inbound = inbound
        self._pasta: subprocess.Popen[bytes] | None = None

    @property
    def outbound(self) -> bool:
        return self._pid_file is not None

    def start(self) -> None:
        """Starts ``pasta`` on the namespace (it configures the interface, then forks into
        the background: its exit is the sign that the network is up)."""
        if self._pid_file is None or self._pasta is not None:
            return
        pasta = shutil.which("pasta") or "/usr/bin/pasta"
        inbound = self._inbound.pasta_options() if self._inbound else ["-t", "none"]
        self._pasta = subprocess.Popen(
            [pasta, "--runas", "0", "--config-net", "-T", "none", "-U", "none", *inbound,
             "-u", "none", "--no-map-gw", "-q", "-4", "--no-dhcp", "--pid",
             str(self._pid_file), "--netns", f"/proc/self/fd/{self.fd}", "--netns-only"],
            pass_fds=(self.fd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True)

    def ready(self) -> None:
        if self._pasta is None:
            return
        try:
            _, err = self._pasta.communicate(timeout=_PASTA_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._pasta.kill()
            raise StagingError("The job's network (pasta) did not come up within "
                               f"{_PASTA_TIMEOUT:g} s") from None
        if self._pasta.returncode != 0:
            text = err.decode("utf-8", "replace").strip().splitlines()
            raise StagingError("The job's network (pasta) failed: "
                               + (text[-1] if text else f"exit code {self._pasta.returncode}"))

    def close(self) -> None:
        if self._pasta is not None and self._pasta.poll() is None:
            self._pasta.kill()
            self._pasta.wait()
        if self._pid_file is not None:
            stop_pasta(self._pid_file)
        with contextlib.suppress(OSError):
            os.close(self.fd)


def stop_pasta(pid_file: Path) -> None:
    """Ends the ``pasta`` recorded in ``pid_file`` (also used after a lost runtime). The pid
    is checked against its command line first, so a reused pid is never signalled."""
    try:
        pid = int(pid_file.read_text().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if b"pasta" not in fh.read().split(b"\0")[0]:
                return
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass
    with contextlib.suppress(OSError):
        pid_file.unlink()


def pasta_available() -> bool:
    return shutil.which("pasta") is not None or os.access("/usr/bin/pasta", os.X_OK)


def new_network(outbound: bool, pid_file: Path, inbound: Inbound | None = None) -> JobNetwork:
    """A fresh network namespace (root only), with ``pasta`` started on it when
    ``outbound`` (and forwarding ``inbound`` into it when given)."""
    box: dict[str, int] = {}

    def make() -> None:  # unshare affects only this thread, which then ends
        if _LIBC.unshare(CLONE_NEWNET) != 0:
            box["errno"] = ctypes.get_errno()
            return
        box["fd"] = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        _loopback_up()

    if inbound is not None and outbound:
        inbound.check_free()
    thread = threading.Thread(target=make, name="netns")
    thread.start()
    thread.join()
    if "fd" not in box:
        raise StagingError("Could not create the job's network namespace: "
                           f"{os.strerror(box.get('errno', 0))}")
    net = JobNetwork(box["fd"], pid_file if outbound else None, inbound if outbound else None)
    net.start()
    return net


@contextlib.contextmanager
def entered(fd: int) -> Iterator[None]:
    """The calling thread in the job's network namespace for the moment of a spawn (the
    child is born in it), then back in its own."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(fd)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(own)


def _setns(fd: int) -> None:
    if _LIBC.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns(network namespace)")


def _loopback_up() -> None:
    """``ip link set lo up`` without ``ip``: SIOCSIFFLAGS on ``lo`` (pasta does it too, but
    the namespace must work without pasta)."""
    import fcntl
    import socket
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s.fileno(), siocgifflags, req))[1]
        fcntl.ioctl(s.fileno(), siocsifflags, struct.pack("16sh", b"lo", flags | iff_up))
