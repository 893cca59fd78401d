"""A job of two nodes whose workers talk over TCP through MASTER_ADDR:MASTER_PORT, as
torchrun-style code does: worker 0 listens, worker 1 connects, and each sends the other a line."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fixtures.jobs import algorithm_for, final, job_for, wait_for
from modelyard.executors.ray.record import read_record
from modelyard.service import Service
from modelyard.settings import Settings

from .clusterkit import HEAD_IP, NODE2_IP

pytestmark = pytest.mark.slow

EXCHANGE = """
import os, socket, time
rank = int(os.environ["VC_TASK_INDEX"])
addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
if rank == 0:
    server = socket.create_server(("0.0.0.0", port))
    server.settimeout(60)
    conn, _ = server.accept()
    print("worker 0 got:", conn.makefile().readline().strip(), flush=True)
    conn.sendall(f"welcome from worker 0 on {os.environ.get('MA_CURRENT_IP')}\\n".encode())
else:
    # Until worker 0 listens, the forwarder on its node may accept the connection and close
    # it at once (docs/runtime.md): retry until worker 0 answers, as a rendezvous client does.
    reply, hello = "", f"hello from worker {rank} on {os.environ.get('MA_CURRENT_IP')}\\n"
    for _ in range(300):
        try:
            conn = socket.create_connection((addr, port), timeout=5)
            conn.sendall(hello.encode())
            reply = conn.makefile().readline().strip()
        except OSError:
            reply = ""
        if reply:
            break
        time.sleep(0.2)
    print("worker 1 sent", flush=True)
    print("worker 1 got:", reply, flush=True)
"""


def test_two_workers_exchange_data_through_master_addr(service: Service, settings: Settings,
                                                       code: Callable[[str, str], str]
                                                       ) -> None:
    service.algorithms.create("p", algorithm_for(code("ex", EXCHANGE), "ex"))
    rec = service.jobs.create("p", job_for("ex", "obs://out/ex/",
                                           spec={"resource": {"node_count": 2}}))
    job = rec["metadata"]["id"]
    done = wait_for(service, job, final, timeout=120)
    record = read_record(settings.jobs_root / job)
    assert record is not None and sorted(record.hosts) == [HEAD_IP, NODE2_IP]
    worker0 = service.jobs.log_preview("p", job, "worker-0")["content"]
    worker1 = service.jobs.log_preview("p", job, "worker-1")["content"]
    events = [e["message"] for e in service.jobs.events("p", job)[0]]
    print("hosts", record.hosts, "events", *events, "worker-0", worker0, "worker-1", worker1,
          sep="\n")  # shown when the test fails
    assert done["status"]["phase"] == "Completed", (done["status"], record.hosts, events,
                                                    worker0, worker1)
    assert "worker 0 got: hello from worker 1" in worker0
    assert "worker 1 sent" in worker1
    # Ray decides which node gets which bundle: worker 0 runs on record.hosts[0].
    assert f"worker 1 got: welcome from worker 0 on {record.hosts[0]}" in worker1
