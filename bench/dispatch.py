"""Dispatch benchmark (issue 5): how fast ModelYard turns a request into a running job.

One run, peers side by side, ratios printed:

(a) submit-to-first-user-line latency (p50, p99) of a trivial ModelArts-style boot file
    submitted through a running ``modelyard server``, against plain ``python`` (the floor)
    and ``mlflow run --env-manager local`` (a peer; ``pip install mlflow``). For attribution
    also the executor alone (``LocalExecutor.submit`` in this process, no server), with the
    launcher (fork server) and with a new interpreter per runtime (the fallback). The
    server's first job starts the home's launcher and is reported apart as the cold start;
    job status is polled every 0.1 s (a client polling harder only competes for the CPU);
(b) throughput draining N queued trivial jobs (default 500), of the 1-core flavor (a whole
    core each: two at once on 2 cores) and of the shared flavor (1/4 core each), against
    N sequential ``python train.py`` (the floor);
(c) API latency of job GET and list (training-job-searches) with 10,000 jobs in the
    database under 50 concurrent clients;
(ray) with ``--ray N``: submit to first user line on a two-node Ray cluster, ModelYard
    (MODELYARD_EXECUTOR=ray) against ``ray job submit`` (bench/ray_dispatch.py).

    .venv/bin/python bench/dispatch.py               # full run
    .venv/bin/python bench/dispatch.py --quick       # 20 / 50 / 2,000 for a smoke run
    .venv/bin/python bench/dispatch.py --parts b --drain 100   # the drain alone
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

TRIVIAL = 'import time\nprint(f"first-line {time.time():.6f}", flush=True)\n'
PROJECT = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def first_line_time(text: str) -> float:
    for line in text.splitlines():
        if line.startswith("first-line "):
            return float(line.split()[1])
    raise RuntimeError(f"no first line in: {text[-500:]}")


class Server:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The bench's code folder lies next to the home: allowed as a host path (issue 13).
        env = {**os.environ, "MODELYARD_HOME": str(home),
               "MODELYARD_HOST_PATHS": json.dumps([str(home.parent)])}
        env.pop("MODELYARD_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "modelyard.cli.main", "server", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=(home / "server.log").open("w"))
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def job_body(name: str, code: Path, flavor: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "job", "metadata": {"name": name},
        "algorithm": {"code_dir": f"file://{code}/", "boot_file": "train.py",
                      "engine": {"engine_name": "python", "engine_version": "3.11"}}}
    if flavor:
        body["spec"] = {"resource": {"flavor_id": flavor}}
    return body


def wait_final(client: httpx.Client, job_id: str, timeout: float = 120,
               interval: float = 0.1) -> dict[str, Any]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        rec = client.get(f"/v2/{PROJECT}/training-jobs/{job_id}").json()
        if rec["status"]["phase"] in ("Completed", "Failed", "Terminated", "Abnormal"):
            return dict(rec)
        time.sleep(interval)
    raise RuntimeError(f"job {job_id} did not finish")


class ServerJobs:
    """Jobs submitted one at a time through the server's REST API."""

    def __init__(self, server: Server, code: Path) -> None:
        self.client = httpx.Client(base_url=server.url, timeout=30)
        self.code = code
        self.n = 0

    def one(self) -> float:
        """Submit-to-first-line seconds of one job (run to its end)."""
        self.n += 1
        t0 = time.time()
        r = self.client.post(f"/v2/{PROJECT}/training-jobs",
                             json=job_body(f"lat-{self.n}", self.code))
        r.raise_for_status()
        job_id = r.json()["metadata"]["id"]
        rec = wait_final(self.client, job_id)
        assert rec["status"]["phase"] == "Completed", rec["status"]
        log = self.client.get(f"/v2/{PROJECT}/training-jobs/{job_id}/tasks/worker-0/logs/preview")
        return first_line_time(log.json()["content"]) - t0

    def close(self) -> None:
        self.client.close()


class ExecutorJobs:
    """The executor alone, in this process: plan written, runtime started, no server."""

    def __init__(self, home: Path, code: Path, launcher: bool) -> None:
        from modelyard.executors import launcher as fork_server
        from modelyard.executors.local import LocalExecutor
        from modelyard.settings import Settings

        self.fork_server = fork_server
        self.settings = Settings(home=home)
        self.executor = LocalExecutor(self.settings, launcher=launcher)
        self.code = code
        self.launcher = launcher
        if launcher:  # one job to start the home's launcher, then wait until it answers
            self.one()
            deadline = time.time() + 60
            while fork_server.ping(home) is None and time.time() < deadline:
                time.sleep(0.1)

    def one(self) -> float:
        from modelyard.spec.plan import RunPlan

        job_id = f"exec-{uuid.uuid4().hex[:12]}"
        plan = RunPlan(job_id=job_id, job_name=job_id, code_dir=f"file://{self.code}/",
                       boot_file="train.py", upload_period=self.settings.upload_period)
        job_dir = self.settings.jobs_root / job_id
        t0 = time.time()
        self.executor.submit(plan, job_dir)
        state = self.executor.wait(job_dir, 120, interval=0.1)
        assert state is not None and state.phase == "Completed", state
        return first_line_time(self.executor.log_path(job_dir, job_id).read_text()) - t0

    def close(self) -> None:
        if self.launcher:
            self.fork_server.shutdown(self.settings.home)


def python_one(code: Path) -> float:
    t0 = time.time()
    proc = subprocess.run([sys.executable, str(code / "train.py")], capture_output=True,
                          text=True, check=True)
    return first_line_time(proc.stdout) - t0


def latency_mlflow(code: Path, n: int, mlflow: str | None
                   ) -> tuple[list[float], list[float]] | None:
    """mlflow is best kept in its own venv (it pins many packages): pass --mlflow PATH.
    Returns mlflow's latencies and plain python's, measured alternately."""
    mlflow = mlflow or shutil.which("mlflow") or str(Path(sys.executable).parent / "mlflow")
    if not Path(mlflow).exists():
        return None
    (code / "MLproject").write_text("name: trivial\nentry_points:\n  main:\n"
                                    "    command: \"python train.py\"\n")
    # mlflow's env-manager local runs "python" from PATH: the one next to mlflow.
    env_path = f"{Path(mlflow).parent}:{os.environ.get('PATH', '')}"
    out, floor = [], []
    env = {**os.environ, "PATH": env_path, "MLFLOW_ALLOW_FILE_STORE": "true",
           "MLFLOW_TRACKING_URI": f"file://{code.parent / 'mlruns'}"}
    try:
        for _ in range(n):
            floor.append(python_one(code))
            t0 = time.time()
            proc = subprocess.run([mlflow, "run", str(code), "--env-manager", "local"],
                                  capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(f"mlflow failed: {proc.stderr[-400:]}", file=sys.stderr)
                return None
            out.append(first_line_time(proc.stdout + proc.stderr) - t0)
    finally:
        (code / "MLproject").unlink()
    return out, floor


STRICT, SHARED = "modelarts.vm.cpu.1u", "modelarts.vm.cpu.shared"


def drain(server: Server, code: Path, n: int, flavor: str = STRICT) -> tuple[float, float]:
    """Submits n jobs of ``flavor`` back to back, then waits until all have ended (looked
    at every 50 ms: the end is seen within 50 ms)."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        t0 = time.time()
        ids = []
        for i in range(n):
            r = client.post(f"/v2/{PROJECT}/training-jobs",
                            json=job_body(f"drain-{flavor.rsplit('.', 1)[-1]}-{i}", code, flavor))
            r.raise_for_status()
            ids.append(r.json()["metadata"]["id"])
        submitted = time.time() - t0
        for job_id in ids:  # in queue order: when the last has ended, all have
            rec = wait_final(client, job_id, interval=0.05)
            assert rec["status"]["phase"] == "Completed", rec["status"]
        return submitted, time.time() - t0


def fill_database(home: Path, rows: int) -> list[str]:
    """Clones one finished job row ``rows`` times straight into the database."""
    from sqlalchemy import insert, select

    from modelyard.store import Database, JobRow

    db = Database(f"sqlite:///{home / 'modelyard.db'}")
    with db.session() as s:
        template = s.scalars(select(JobRow).where(JobRow.phase == "Completed")).first()
        assert template is not None
        columns = {c.key: getattr(template, c.key) for c in JobRow.__mapper__.column_attrs}
    ids = []
    now = time.time()
    batch = []
    for i in range(rows):
        job_id = str(uuid.uuid4())
        ids.append(job_id)
        batch.append({**columns, "id": job_id, "name": f"filler-{i}",
                      "created_at": now - i, "updated_at": now - i})
        if len(batch) == 1000:
            with db.session() as s:
                s.execute(insert(JobRow), batch)
            batch = []
    if batch:
        with db.session() as s:
            s.execute(insert(JobRow), batch)
    db.dispose()
    return ids


async def api_load(url: str, ids: list[str], clients: int, seconds: float
                   ) -> dict[str, list[float]]:
    lat: dict[str, list[float]] = {"get": [], "list": []}
    deadline = time.time() + seconds

    async def worker(k: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            while time.time() < deadline:
                t0 = time.perf_counter()
                if k % 2:
                    r = await client.get(f"/v2/{PROJECT}/training-jobs/{random.choice(ids)}")
                    kind = "get"
                else:
                    r = await client.post(f"/v2/{PROJECT}/training-job-searches",
                                          json={"offset": random.randrange(0, 500),
                                                "limit": 50})
                    kind = "list"
                r.raise_for_status()
                lat[kind].append(time.perf_counter() - t0)

    await asyncio.gather(*(worker(k) for k in range(clients)))
    return lat


def row(name: str, values: list[float] | None, floor: float | None = None) -> str:
    if not values:
        return f"{name:<34} {'not installed':>10}"
    p50, p99 = pct(values, 50) * 1000, pct(values, 99) * 1000
    ratio = f"{p50 / (floor * 1000):6.2f}x" if floor else ""
    return f"{name:<34} {p50:8.1f} ms {p99:8.1f} ms {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100, help="latency samples (a)")
    parser.add_argument("--mlflow-runs", type=int, default=10, help="mlflow samples (a)")
    parser.add_argument("--drain", type=int, default=500, help="queued jobs (b)")
    parser.add_argument("--rows", type=int, default=10_000, help="jobs in the database (c)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (c)")
    parser.add_argument("--seconds", type=float, default=15, help="load duration (c)")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--mlflow", help="the mlflow executable (e.g. from its own venv)")
    parser.add_argument("--parts", default="abc",
                        help="which parts to run: any of a, b, c (e.g. --parts b: the drain)")
    parser.add_argument("--ray", type=int, default=0, metavar="N",
                        help="also the Ray row: N jobs on a two-node Ray cluster against "
                        "`ray job submit` (bench/ray_dispatch.py; root, its own namespace)")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.mlflow_runs, args.drain, args.rows, args.seconds = 20, 3, 50, 2000, 5
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        code = root / "code"
        code.mkdir()
        (code / "train.py").write_text(TRIVIAL)
        print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}  "
              f"load: {os.getloadavg()[0]:.1f}")
        peer = latency_mlflow(code, args.mlflow_runs, args.mlflow) if "a" in args.parts else None
        home = root / "home"
        home.mkdir()
        server = Server(home)
        floor: list[float] = []
        ours: list[float] = []
        exec_fork: list[float] = []
        exec_new: list[float] = []
        cold: list[float] = []
        drained: dict[str, tuple[float, float]] = {}
        lat: dict[str, list[float]] = {}
        try:
            jobs = ServerJobs(server, code)
            cold = [jobs.one()]  # starts the home's launcher
            if "a" in args.parts:
                fork = ExecutorJobs(root / "exec-launcher", code, launcher=True)
                new = ExecutorJobs(root / "exec-new", code, launcher=False)
                # Alternating, so that every column sees the same load of a shared machine.
                for i in range(args.jobs):
                    floor.append(python_one(code))
                    ours.append(jobs.one())
                    if i % 4 == 0:
                        exec_fork.append(fork.one())
                        exec_new.append(new.one())
                fork.close()
            jobs.close()
            if "b" in args.parts:
                t0 = time.time()
                for _ in range(args.drain):
                    python_one(code)
                sequential = time.time() - t0
                for flavor in (STRICT, SHARED):
                    drained[flavor] = drain(server, code, args.drain, flavor)
            if "c" in args.parts:
                ids = fill_database(home, args.rows)
                lat = asyncio.run(api_load(server.url, ids, args.clients, args.seconds))
        finally:
            server.stop()
    if "a" in args.parts:
        f50 = pct(floor, 50)
        print("\n(a) submit to first user line                 p50         p99   vs python")
        print(row("python train.py (floor)", floor, f50))
        print(row("ModelYard (server, REST submit)", ours, f50))
        print(row("  first job of the server (cold)", cold, f50))
        print(row("  executor alone, launcher", exec_fork, f50))
        print(row("  executor alone, new interpreter", exec_new, f50))
        paired = [o - f for o, f in zip(ours, floor, strict=True)]
        print(f"    ModelYard overhead above python at p50: {(pct(ours, 50) - f50) * 1000:.0f} "
              f"ms (median of paired differences {pct(paired, 50) * 1000:.0f} ms)")
        if peer:
            mlflow, mlflow_floor = peer
            print(row("mlflow run --env-manager local", mlflow, pct(mlflow_floor, 50)))
            print(row("  python, alternating with mlflow", mlflow_floor, pct(mlflow_floor, 50)))
            print(f"    mlflow / ModelYard at p50: {pct(mlflow, 50) / pct(ours, 50):.1f}x")
        else:
            print(row("mlflow run --env-manager local", None))
    if "b" in args.parts:
        print(f"\n(b) drain {args.drain} queued trivial jobs "
              f"(floor: {args.drain} sequential python train.py in {sequential:.2f} s = "
              f"{args.drain / sequential:.1f}/s)")
        for flavor, (submitted, took) in drained.items():
            print(f"    {flavor:<26} submitted in {submitted:5.1f} s, all completed after "
                  f"{took:5.1f} s = {args.drain / took:5.1f} jobs/s, "
                  f"{took / sequential:.2f}x the floor")
    if "c" in args.parts:
        print(f"\n(c) API with {args.rows} jobs, {args.clients} concurrent clients, "
              f"{args.seconds:g} s")
        for kind in ("get", "list"):
            v = lat[kind]
            print(f"    {kind:<5} n={len(v):<6} p50 {pct(v, 50) * 1000:7.1f} ms   "
                  f"p99 {pct(v, 99) * 1000:7.1f} ms")
    if args.ray:
        sys.stdout.flush()
        subprocess.run([sys.executable, str(Path(__file__).with_name("ray_dispatch.py")),
                        "--jobs", str(args.ray)], check=True)


if __name__ == "__main__":
    main()
