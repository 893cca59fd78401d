"""API benchmark (issue 20): GET one job and list a page of 50 with 10,000 jobs in SQLite.

One run, floor side by side: the server is pinned to one core (``taskset -c 0``) and the
load tool to the other (core 1), and each row is measured at 1 and 4 clients:

- floor: a bare FastAPI/uvicorn app (same uvicorn settings as ``modelyard server``) that
  answers each path with a constant JSON of the same size as ours, so the gap between the
  floor and ModelYard is what ModelYard itself costs;
- ModelYard: ``modelyard server`` of this tree, keyless (loopback) mode, 10,000 finished
  jobs in its SQLite database (inserted straight into the table, all in one project);
- optionally ``--compare PATH``: the same server from another checkout with its own .venv
  (e.g. the old main), in the same run.

GET is ``GET /v2/bench/training-jobs/{id}`` of a random job; list is
``POST /v2/bench/training-job-searches`` with ``{"offset": k*50, "limit": 50}``, k random in
0..9 (the console's default search, newest first). The load tool is a small asyncio
HTTP/1.1 client over keep-alive connections, so its own cost per request stays far below the
server's (a full HTTP client library would be the bottleneck on one core).

    .venv/bin/python bench/api.py                         # this tree
    .venv/bin/python bench/api.py --compare /work/base    # and an old checkout, same run
    .venv/bin/python bench/api.py --quick                 # 2,000 jobs, 2 s per cell
    .venv/bin/python bench/api.py --db postgresql+psycopg://USER@HOST/EMPTYDB \
        --workers 1,2 --server-cores 0,1                  # PostgreSQL, 1 and 2 workers
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = "bench"
HERE = Path(__file__).resolve()
SERVER_CORE, LOAD_CORE = 0, 1


# ------------------------------------------------------------------ seeding (target python)
def job_columns(i: int, now: float) -> dict[str, Any]:
    """One finished job row, shaped like what JobService.create stores."""
    job_id = str(uuid.uuid4())
    name = f"job-{i:05d}"
    code = "obs://bench/code/"
    body = {
        "kind": "job",
        "metadata": {"name": name, "description": "a finished benchmark job",
                     "annotations": {}},
        "algorithm": {
            "code_dir": code, "boot_file": "train.py",
            "engine": {"engine_name": "python", "engine_version": "3.11"},
            "parameters": [{"name": "epochs", "value": "5"}, {"name": "lr", "value": "0.01"}],
            "inputs": [{"name": "data_url",
                        "remote": {"obs": {"obs_url": "obs://bench/data/"}}}],
            "outputs": [{"name": "train_url",
                         "remote": {"obs": {"obs_url": f"obs://bench/out/{name}/"}}}],
        },
        "spec": {"resource": {"flavor_id": "modelarts.cpu.1u", "node_count": 1}},
    }
    plan = {
        "job_id": job_id, "project_id": PROJECT, "job_name": name, "code_dir": code,
        "boot_file": "train.py", "flavor_id": "modelarts.cpu.1u", "cpus": 1,
        "memory_gb": 2.0, "gpus": 0, "attempt": 0, "cpu_set": [0],
        "parameters": {"epochs": "5", "lr": "0.01"},
        "inputs": [{"name": "data_url", "url": "s3://bench/data/"}],
        "outputs": [{"name": "train_url", "url": f"s3://bench/out/{name}/"}],
    }
    created = now - 60 * (10_000 - i)
    return {
        "id": job_id, "project_id": PROJECT, "name": name,
        "description": "a finished benchmark job", "algorithm_id": None,
        "algorithm_name": None, "body": body, "plan": plan, "phase": "Completed",
        "secondary_phase": None, "message": None, "exit_code": 0, "priority": 1,
        "executor": "local", "job_dir": f"/nonexistent/jobs/{job_id}", "events_offset": 0,
        "created_at": created, "updated_at": created + 30, "started_at": created + 1,
        "ended_at": created + 30, "cpus": 1, "memory_gb": 2.0, "gpus": 0, "attempt": 0,
        "running_records": [{"start_at": int((created + 1) * 1000), "start_type": "init",
                             "end_at": int((created + 30) * 1000), "end_reason": "completed",
                             "exit_code": 0, "message": None}],
    }


def seed(home: Path, rows: int) -> None:
    """Runs under the target tree's python, so the rows fit that tree's schema; writes the
    ids to home/ids.json. The database is MODELYARD_DB_URL's, else SQLite in ``home``."""
    from sqlalchemy import insert

    from modelyard.store.db import Database
    from modelyard.store.models import JobRow

    db = Database(os.environ.get("MODELYARD_DB_URL") or f"sqlite:///{home / 'modelyard.db'}")
    now = time.time()
    batch = [job_columns(i, now) for i in range(rows)]
    for start in range(0, rows, 1000):
        with db.session() as s:
            s.execute(insert(JobRow), batch[start:start + 1000])
    db.dispose()
    (home / "ids.json").write_text(json.dumps([r["id"] for r in batch]))


# ----------------------------------------------------------------------------- floor app
def floor_app(sizes: Path) -> Any:
    """A bare FastAPI app: each path answers a constant JSON of the size ours answered."""
    from fastapi import FastAPI

    shapes = json.loads(sizes.read_text())
    job, page = shapes["get"], shapes["list"]
    app = FastAPI()

    @app.get("/v2/{project_id}/training-jobs/{job_id}")
    async def get_one(project_id: str, job_id: str) -> dict[str, Any]:
        return dict(job)

    @app.post("/v2/{project_id}/training-job-searches")
    async def list_page(project_id: str) -> dict[str, Any]:
        return dict(page)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve_floor(sizes: Path, port: int) -> None:
    import gc

    import uvicorn

    app = floor_app(sizes)
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                http="auto", loop="auto")


# ------------------------------------------------------------------------------ servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


@dataclass
class Target:
    label: str
    python: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self, argv: list[str], env: dict[str, str], log: Path,
              cores: str = str(SERVER_CORE)) -> None:
        self.proc = subprocess.Popen(
            ["taskset", "-c", cores, str(self.python), *argv], env=env,
            stdout=subprocess.DEVNULL, stderr=log.open("w"))
        wait_healthy(self.port, self.proc, log)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def modelyard_server(label: str, tree: Path, root: Path, rows: int, db: str | None = None,
                     workers: int = 1, cores: str = str(SERVER_CORE),
                     ids: list[str] | None = None) -> tuple[Target, list[str]]:
    """``modelyard server`` of ``tree`` with ``rows`` jobs (seeded unless ``ids`` says the
    database ``db`` already holds them)."""
    python = tree / ".venv" / "bin" / "python"
    home = root / label
    home.mkdir()
    env = {**os.environ, "MODELYARD_HOME": str(home), "PYTHONPATH": str(tree / "src"),
           "MODELYARD_WORKERS": str(workers)}
    for name in ("MODELYARD_URL", "MODELYARD_API_KEYS", "MODELYARD_API_KEYS_FILE",
                 "MODELYARD_DB_URL"):
        env.pop(name, None)
    if db:
        env["MODELYARD_DB_URL"] = db
    if ids is None:
        subprocess.run([str(python), str(HERE), "--seed", str(home), str(rows)], env=env,
                       check=True)
        ids = json.loads((home / "ids.json").read_text())
    target = Target(label, python, free_port())
    target.start(["-m", "modelyard.cli.main", "server", "--port", str(target.port)], env,
                 home / "server.log", cores)
    return target, ids


# --------------------------------------------------------------------------- load tool
def request_bytes(method: str, path: str, body: bytes = b"") -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n")
    if method == "POST":
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def get_requests(ids: list[str]) -> list[bytes]:
    return [request_bytes("GET", f"/v2/{PROJECT}/training-jobs/{i}") for i in ids]


def list_requests() -> list[bytes]:
    return [request_bytes("POST", f"/v2/{PROJECT}/training-job-searches",
                          json.dumps({"offset": k * 50, "limit": 50}).encode())
            for k in range(10)]


async def one_client(port: int, requests: list[bytes], deadline: float,
                     latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            writer.write(random.choice(requests))
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"bad answer: {head[:200]!r}")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
    finally:
        writer.close()


async def load(port: int, requests: list[bytes], clients: int, seconds: float
               ) -> tuple[float, list[float]]:
    """(requests per second, latencies) of ``clients`` connections for ``seconds``."""
    warm: list[float] = []
    await asyncio.gather(*(one_client(port, requests, time.perf_counter() + 0.5, warm)
                           for _ in range(clients)))
    latencies: list[float] = []
    t0 = time.perf_counter()
    await asyncio.gather(*(one_client(port, requests, t0 + seconds, latencies)
                           for _ in range(clients)))
    return len(latencies) / (time.perf_counter() - t0), latencies


def fetch(port: int, request: bytes) -> dict[str, Any]:
    async def go() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        data = await reader.readexactly(length)
        writer.close()
        return data

    answer: dict[str, Any] = json.loads(asyncio.run(go()))
    return answer


# ------------------------------------------------------------------------------- report
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


@dataclass
class Cell:
    rps: list[float]
    p50: list[float]
    p99: list[float]

    def line(self) -> str:
        return (f"{statistics.median(self.rps):8.0f} req/s  p50 "
                f"{statistics.median(self.p50) * 1000:6.2f} ms  p99 "
                f"{statistics.median(self.p99) * 1000:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000, help="jobs in the database")
    parser.add_argument("--seconds", type=float, default=5.0, help="load per cell")
    parser.add_argument("--repeats", type=int, default=3, help="medians of this many")
    parser.add_argument("--clients", default="1,4", help="client counts, comma-separated")
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another checkout with its own .venv (e.g. the old main)")
    parser.add_argument("--quick", action="store_true", help="2,000 jobs, 2 s, 1 repeat")
    parser.add_argument("--db", help="a database URL (e.g. PostgreSQL) instead of SQLite; "
                        "it must be empty: the run seeds it")
    parser.add_argument("--workers", default="1", help="worker counts of this tree's "
                        "server, one row each, comma-separated (e.g. 1,2)")
    parser.add_argument("--server-cores", default=str(SERVER_CORE),
                        help="cores the servers are pinned to (taskset -c), e.g. 0,1")
    parser.add_argument("--seed", nargs=2, metavar=("HOME", "ROWS"), help=argparse.SUPPRESS)
    parser.add_argument("--floor", nargs=2, metavar=("SIZES", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        seed(Path(args.seed[0]), int(args.seed[1]))
        return
    if args.floor:
        serve_floor(Path(args.floor[0]), int(args.floor[1]))
        return
    if args.quick:
        args.rows, args.seconds, args.repeats = 2000, 2.0, 1
    if shutil.which("taskset") is None or len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs taskset and two cores (server on one, load tool on the other)")
    os.sched_setaffinity(0, {LOAD_CORE})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    clients = [int(c) for c in args.clients.split(",")]
    counts = [int(w) for w in args.workers.split(",")]
    trees = [*((f"ModelYard, {w} worker{'s' if w > 1 else ''}", HERE.parents[1], w)
               for w in counts),
             *((f"{p.name} ({_commit(p)})", p, 1) for p in args.compare)]
    where = "PostgreSQL" if args.db and args.db.startswith("postgres") else "SQLite"
    print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}  rows: {args.rows} "
          f"in {where}  servers on cores {args.server_cores}  "
          f"{args.seconds:g} s per cell, median of {args.repeats}  "
          f"load: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        targets: list[tuple[Target, list[str]]] = []
        try:
            seeded: list[str] | None = None
            for n, (_label, tree, workers) in enumerate(trees):
                target, seeded = modelyard_server(
                    f"t{n}", tree, root, args.rows, args.db, workers, args.server_cores,
                    seeded if args.db else None)  # one shared database is seeded once
                targets.append((target, seeded))
            first, ids = targets[0]
            shapes = {"get": fetch(first.port, get_requests(ids[:1])[0]),
                      "list": fetch(first.port, list_requests()[0])}
            assert len(shapes["list"]["items"]) == 50, shapes["list"]["total"]
            (root / "sizes.json").write_text(json.dumps(shapes))
            floor = Target("floor", Path(sys.executable), free_port())
            floor.start([str(HERE), "--floor", str(root / "sizes.json"), str(floor.port)],
                        dict(os.environ), root / "floor.log", args.server_cores)
            rows = [("floor (bare FastAPI, same JSON)", floor, ids)]
            rows += [(label, t, i) for (label, _, _), (t, i) in zip(trees, targets,
                                                                   strict=True)]
            cells: dict[tuple[str, str, int], Cell] = {}
            for _ in range(args.repeats):  # interleaved so every row sees the same load
                for label, target, job_ids in rows:
                    for kind, reqs in (("GET", get_requests(job_ids)),
                                       ("list", list_requests())):
                        for n in clients:
                            rps, lat = asyncio.run(load(target.port, reqs, n, args.seconds))
                            cell = cells.setdefault((label, kind, n), Cell([], [], []))
                            cell.rps.append(rps)
                            cell.p50.append(pct(lat, 50))
                            cell.p99.append(pct(lat, 99))
            floor.stop()
        finally:
            for target, _ in targets:
                target.stop()
    size = {k: len(json.dumps(v)) for k, v in shapes.items()}
    print(f"answer sizes: GET {size['get']} B, list {size['list']} B")
    for kind in ("GET", "list"):
        for n in clients:
            print(f"\n{kind} one job" if kind == "GET" else "\nlist a page of 50", end="")
            print(f", {n} client{'s' if n > 1 else ''}")
            floor_p50 = statistics.median(cells[(rows[0][0], kind, n)].p50)
            for label, _, _ in rows:
                cell = cells[(label, kind, n)]
                ratio = statistics.median(cell.p50) / floor_p50
                print(f"  {label:<34} {cell.line()}  p50 {ratio:5.2f}x floor")


def _commit(tree: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


if __name__ == "__main__":
    main()
