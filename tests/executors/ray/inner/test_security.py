"""A hostile job on the cluster tries to join the Ray cluster itself (Ray has no access
control of its own: a job that joins runs code as Ray's user, root here, on every node).
The cluster runs with Ray's token authentication (clusterkit.AUTH, as docs/deploy.md asks)
and the job gets neither the token nor a way to read it, so it must be refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fixtures.jobs import algorithm_for, final, job_for, wait_for
from modelyard.service import Service

from .clusterkit import ADDRESS, AUTH_TOKEN, GCS_PORT, NODE2_IP

pytestmark = pytest.mark.slow

ATTEMPT = """
import os, sys
os.environ["RAY_gcs_server_port_wait_time_s"] = "3"  # give up after 3 tries, not 20
import ray  # importable here: the job's engine is the service's own Python
try:
    ray.init(address=sys.argv[1], log_to_driver=False)
    print("JOINED", ray.cluster_resources(), flush=True)
except BaseException as exc:
    print("REFUSED", type(exc).__name__, flush=True)
"""

JOIN = f"""
import os, subprocess, sys
print("token in env:", any("RAY_AUTH" in k for k in os.environ), flush=True)
# The GCS listens on every address of the head; from a job on the head itself the head's
# own address is the job's own (pasta gives the namespace the node's address), so try the
# other node's address as well: one of them reaches the GCS through the job network.
for address in ("{ADDRESS}", "{NODE2_IP}:{GCS_PORT}"):
    try:
        subprocess.run([sys.executable, "-c", {ATTEMPT!r}, address], timeout=40)
    except subprocess.TimeoutExpired:
        print(address, "NO ANSWER in 40 s", flush=True)
"""


def test_a_job_cannot_join_the_ray_cluster(service: Service,
                                           code: Callable[[str, str], str]) -> None:
    service.algorithms.create("p", algorithm_for(code("join", JOIN), "join"))
    rec = service.jobs.create("p", job_for("join", "obs://out/join/"))
    job = rec["metadata"]["id"]
    done = wait_for(service, job, final, timeout=150)
    log = service.jobs.log_preview("p", job)["content"]
    assert done["status"]["phase"] == "Completed", (done["status"], log)
    assert "token in env: False" in log
    assert "JOINED" not in log
    assert "REFUSED" in log, log
    # Refused for want of the token (Ray's client logs why to the job's stderr), not
    # because the address was out of reach.
    assert "Unauthenticated" in log or "InvalidAuthToken" in log, log
    assert AUTH_TOKEN not in log
