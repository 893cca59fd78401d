"""The body of the multi-node tests, run by test_cluster.py as ``unshare -n python
cluster_netns.py <request.json>``: inside a fresh network namespace it builds two node
addresses on a veth pair, a service on the namespace's loopback (the "host's" loopback the
jobs must not reach), runs the runtimes of the given job folders at once, and prints one
JSON line with what happened. pytest itself never enters the namespace.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

from modelyard.executors.local import LocalExecutor
from modelyard.settings import Settings
from modelyard.spec.plan import RunPlan

NODE_IPS = ("10.77.0.1", "10.77.0.2")
GATEWAY = "10.77.0.254"


def build_network() -> None:
    """Two node addresses (dummy devices do not exist here: a veth pair), both up, and a
    default route so that ``pasta`` finds a template interface."""
    for argv in (["ip", "link", "set", "lo", "up"],
                 ["ip", "link", "add", "my0", "type", "veth", "peer", "name", "my1"],
                 ["ip", "addr", "add", f"{NODE_IPS[0]}/24", "dev", "my0"],
                 ["ip", "addr", "add", f"{NODE_IPS[1]}/24", "dev", "my1"],
                 ["ip", "link", "set", "my0", "up"],
                 ["ip", "link", "set", "my1", "up"],
                 ["ip", "route", "add", "default", "via", GATEWAY, "dev", "my0"]):
        subprocess.run(argv, check=True)


def loopback_service() -> tuple[int, list[str]]:
    """A listener on the namespace's 127.0.0.1, like the services of a node (API server,
    database, object store): every connection a job manages to make is recorded."""
    accepted: list[str] = []
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        while True:
            conn, peer = server.accept()
            accepted.append(peer[0])
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return port, accepted


def main() -> int:
    request = json.loads(Path(sys.argv[1]).read_text())
    build_network()
    port, accepted = loopback_service()
    settings = Settings.model_validate(request["settings"])
    executor = LocalExecutor(settings, launcher=False)
    jobs = []
    for item in request["jobs"]:
        plan = RunPlan.model_validate(item["plan"])
        plan.environments["LOOPBACK_PORT"] = str(port)
        job_dir = Path(item["job_dir"])
        executor.submit(plan, job_dir)
        jobs.append(job_dir)
    states = []
    for job_dir in jobs:
        state = executor.wait(job_dir, request.get("timeout", 120))
        states.append(state.model_dump(mode="json") if state is not None else None)
    print("RESULT:" + json.dumps({"states": states, "loopback_accepted": accepted}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
