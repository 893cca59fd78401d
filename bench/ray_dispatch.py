"""The Ray row of the dispatch benchmark (issue 17): submit to first user line of a trivial
script on a two-node Ray cluster, ModelYard (a ``modelyard server`` with
MODELYARD_EXECUTOR=ray, REST submit) against Ray's own Jobs API (``ray job submit``, i.e.
``JobSubmissionClient.submit_job``) of the same script, alternating, in the same run.

Ray binds every interface, so the benchmark runs in a network namespace of its own (as the
tests do): ``python bench/ray_dispatch.py`` re-runs itself under ``unshare -n`` (root) with
loopback and a veth pair (10.77.0.1 head, 10.77.0.2 second node) and starts the cluster
itself (stopped by PID at the end). Both sides stamp the first line with the job's own
clock, so how often a client polls does not count.

    .venv/bin/python bench/ray_dispatch.py --jobs 10
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))  # the two-node cluster kit the tests use

from dispatch import (  # noqa: E402
    TRIVIAL,
    Server,
    ServerJobs,
    first_line_time,
    pct,
    python_one,
    row,
)

from executors.ray.inner.clusterkit import HEAD_IP, NETWORK, Cluster, enable_auth  # noqa: E402

INNER = "MODELYARD_BENCH_RAY_INNER"


def ray_jobs_one(client: object, code: Path) -> float:
    """Submit-to-first-line seconds of one Ray job (``ray job submit`` of the script)."""
    from ray.job_submission import JobStatus, JobSubmissionClient

    assert isinstance(client, JobSubmissionClient)
    t0 = time.time()
    job = client.submit_job(entrypoint=f"{sys.executable} {code / 'train.py'}")
    deadline = time.time() + 120
    while time.time() < deadline:
        status = client.get_job_status(job)
        if status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED):
            assert status == JobStatus.SUCCEEDED, client.get_job_logs(job)
            return first_line_time(client.get_job_logs(job)) - t0
        time.sleep(0.1)
    raise RuntimeError(f"Ray job {job} did not finish")


def inner(jobs: int, scratch: Path) -> None:
    from ray.job_submission import JobSubmissionClient

    cluster = Cluster(scratch / "c")
    (scratch / "c").mkdir(parents=True)
    cluster.start(dashboard=True)
    code = scratch / "code"
    code.mkdir()
    (code / "train.py").write_text(TRIVIAL)
    home = scratch / "home"
    home.mkdir()
    os.environ.update({"MODELYARD_EXECUTOR": "ray", "MODELYARD_RAY_ADDRESS": f"{HEAD_IP}:6390",
                       # flavors the size of a node (2 CPU, 2 GB): 1u = 1 CPU, 1 GB
                       "MODELYARD_NODE_CPUS": "4", "MODELYARD_NODE_MEMORY_GB": "4"})
    server = Server(home)
    try:
        client = JobSubmissionClient(f"http://{HEAD_IP}:8265")
        ours_jobs = ServerJobs(server, code)
        cold = [ours_jobs.one(), ray_jobs_one(client, code)]  # agents' workers, launcher
        floor: list[float] = []
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(jobs):
            floor.append(python_one(code))
            ours.append(ours_jobs.one())
            theirs.append(ray_jobs_one(client, code))
        ours_jobs.close()
    finally:
        server.stop()
        cluster.stop()
    f50 = pct(floor, 50)
    print(f"\n(ray) submit to first user line, 2-node Ray cluster, {jobs} jobs each   "
          "p50         p99   vs python")
    print(row("python train.py (floor)", floor, f50))
    print(row("ModelYard on Ray (REST submit)", ours, f50))
    print(row("ray job submit (Jobs API)", theirs, f50))
    print(f"    first jobs (cold): ModelYard {cold[0] * 1000:.0f} ms, Ray Jobs "
          f"{cold[1] * 1000:.0f} ms")
    print(f"    ModelYard / Ray Jobs at p50: {pct(ours, 50) / pct(theirs, 50):.2f}x "
          "(target: <= 1.00x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10, help="samples per column")
    args = parser.parse_args()
    if os.environ.get(INNER):
        enable_auth()
        inner(args.jobs, Path(os.environ[INNER]))
        return
    if os.geteuid() != 0:
        sys.exit("the Ray row needs root (unshare -n for a loopback-only network namespace)")
    from executors.ray.inner.clusterkit import processes_under

    scratch = Path(tempfile.mkdtemp(prefix="myray-b", dir="/tmp"))
    cmd = f"{NETWORK} && exec {sys.executable} {Path(__file__).resolve()} --jobs {args.jobs}"
    try:
        subprocess.run(["unshare", "-n", "--", "sh", "-c", cmd], check=True,
                       env={**os.environ, INNER: str(scratch)})
    finally:
        import shutil
        import signal

        for pid in processes_under(scratch):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
