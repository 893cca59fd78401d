"""A real two-node Ray cluster on this machine, for the inner suite (run in a network
namespace by ../test_on_a_cluster.py): a head on 10.77.0.1 and a second node on 10.77.0.2,
each ``ray start --block`` in its own session, with its own resources and temp dir, stopped
by PID (never ``ray stop``, which kills every Ray process on the machine by name)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

FLAG = "MODELYARD_RAY_TESTS"
"""Set (to a scratch folder) by the outer test; without it the inner tests skip."""
HEAD_IP, NODE2_IP, GCS_PORT = "10.77.0.1", "10.77.0.2", 6390
ADDRESS = f"{HEAD_IP}:{GCS_PORT}"
NODE_CPUS, NODE_MEMORY = 2, 2 * 2**30
NETWORK = ("ip link set lo up && ip link add my0 type veth peer name my1 && "
           "ip addr add 10.77.0.1/24 dev my0 && ip addr add 10.77.0.2/24 dev my1 && "
           "ip link set my0 up && ip link set my1 up && "
           "ip route add default via 10.77.0.254 dev my0")
"""Run in a fresh ``unshare -n``: the two "machines" (a veth pair) and a default route, so
that pasta (the job network) finds a routable interface."""
AUTH_TOKEN = secrets.token_hex(24)
AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": AUTH_TOKEN}
"""Ray's token authentication (Ray >= 2.52), on as docs/deploy.md asks: Ray itself has no
other access control, and a job's network reaches the nodes' addresses, so without it a
job could join the cluster and run code as Ray's user on every node
(inner/test_security.py plays that job)."""


def enable_auth() -> None:
    """Before Ray is first imported (it reads RAY_AUTH_MODE then): this process's driver,
    and every server or client it starts, use the cluster's token."""
    os.environ.update(AUTH)
FAST_FAILURE_DETECTION = {  # the head notices a dead node in ~3 s instead of ~30 s
    "RAY_health_check_initial_delay_ms": "1000", "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000", "RAY_health_check_failure_threshold": "3",
}


def processes_under(root: Path) -> list[int]:
    """Processes whose command line or working directory lies under ``root`` (what a test
    run there started), this process excluded."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if str(root) in cmdline or cwd.startswith(str(root)):
            found.append(int(entry.name))
    return found


def session_members(sid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == sid:
                    members.append(int(entry.name))
            except OSError:
                continue
    return members


class Cluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, dashboard: bool = False) -> None:
        """``dashboard``: the head serves the Jobs API (``ray job submit``) on port 8265."""
        import ray

        from modelyard.executors.ray.record import NAMESPACE

        head = ["--head", f"--port={GCS_PORT}"]
        head += ([f"--dashboard-host={HEAD_IP}"] if dashboard else ["--include-dashboard=false"])
        self._start_node("head", HEAD_IP, head)
        self._wait_port(HEAD_IP, GCS_PORT)
        self._start_node("node2", NODE2_IP, [f"--address={ADDRESS}"])
        ray.init(address=ADDRESS, namespace=NAMESPACE, log_to_driver=False)
        self.wait_alive(2)

    def _start_node(self, name: str, ip: str, extra: list[str]) -> None:
        ray_bin = str(Path(sys.executable).with_name("ray"))
        args = [ray_bin, "start", "--block", f"--node-ip-address={ip}",
                f"--num-cpus={NODE_CPUS}", f"--memory={NODE_MEMORY}",
                f"--temp-dir={self.root / name}", "--disable-usage-stats", *extra]
        log = (self.root / f"{name}.log").open("ab")
        self.nodes[name] = subprocess.Popen(
            args, stdout=log, stderr=log, start_new_session=True,
            env={**os.environ, **AUTH, **FAST_FAILURE_DETECTION})

    @staticmethod
    def _wait_port(host: str, port: int, timeout: float = 60) -> None:
        import socket

        end = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection((host, port), 1).close()
                return
            except OSError:
                assert time.monotonic() < end, f"nothing listens on {host}:{port}"
                time.sleep(0.2)

    def wait_alive(self, count: int, timeout: float = 90) -> None:
        import ray

        end = time.monotonic() + timeout
        while sum(1 for n in ray.nodes() if n["Alive"]) != count:
            assert time.monotonic() < end, f"the cluster never had {count} alive nodes"
            time.sleep(0.3)

    def kill_node2(self) -> None:
        """Like a machine that dies: SIGKILL to every process of the node at once."""
        node = self.nodes.pop("node2")
        for pid in session_members(node.pid):
            os.kill(pid, signal.SIGKILL)
        node.wait(10)

    def restart_node2(self) -> None:
        self._start_node("node2", NODE2_IP, [f"--address={ADDRESS}"])
        self.wait_alive(2)

    def stop(self) -> None:
        import ray

        ray.shutdown()
        for node in self.nodes.values():
            node.send_signal(signal.SIGTERM)
        for node in self.nodes.values():
            try:
                node.wait(30)
            except subprocess.TimeoutExpired:
                node.kill()
        for pid in processes_under(self.root):  # daemons that outlived their node
            os.kill(pid, signal.SIGKILL)
