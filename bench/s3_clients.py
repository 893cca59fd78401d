"""The S3 clients behind the transfer engine, side by side (issue 21's obstore trial).

One process, one private SeaweedFS, the engine with each client (``MODELYARD_S3_CLIENT``)
in turn, their order alternating from one repetition to the next: what differs is the
client, not the interpreter start, the machine's load at that moment or the server. Each
repetition uploads the tree to a fresh prefix, downloads it and re-syncs it unchanged;
the table gives median wall and CPU seconds (CPU of the whole process, so obstore's Rust
threads count).

    python bench/s3_clients.py                       # 1000 files of 10-100 KB
    python bench/s3_clients.py --empty-every 10      # one file in ten empty
    python bench/s3_clients.py --big-mib 256         # one 256 MiB file
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

BUCKET = "clients"
OPS = ("upload", "download", "resync")


def make_tree(root: Path, files: int, empty_every: int, big_mib: int) -> None:
    if big_mib:
        root.mkdir(parents=True)
        with (root / "big.bin").open("wb") as fh:
            for _ in range(big_mib):
                fh.write(os.urandom(1024 * 1024))
        return
    rnd = random.Random(7)
    for i in range(files):
        path = root / f"d{i % 10}" / f"f{i:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        empty = empty_every and i % empty_every == 0
        path.write_bytes(b"" if empty else os.urandom(rnd.randint(10_000, 100_000)))


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", default="lean,obstore")
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--empty-every", type=int, default=0)
    ap.add_argument("--big-mib", type=int, default=0, help="one file of this size instead")
    args = ap.parse_args()

    from modelyard.settings import Settings
    from modelyard.storage.seaweed import SeaweedServer
    from modelyard.storage.transfer import TransferEngine

    work = Path(tempfile.mkdtemp(prefix="modelyard-clients-"))
    src = work / "src"
    make_tree(src, args.files, args.empty_every, args.big_mib)
    clients = [c.strip() for c in args.clients.split(",")]
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        with SeaweedServer(work / "seaweed") as server:
            server.client().create_bucket(Bucket=BUCKET)
            os.environ.update(
                MODELYARD_S3_ENDPOINT=server.endpoint_url,
                MODELYARD_S3_ACCESS_KEY=server.access_key,
                MODELYARD_S3_SECRET_KEY=server.secret_key, MODELYARD_S3_REGION="us-east-1",
                MODELYARD_HOME=str(work / "home"))
            for rep in range(args.reps):
                for client in clients if rep % 2 == 0 else clients[::-1]:
                    os.environ["MODELYARD_S3_CLIENT"] = client
                    url = f"s3://{BUCKET}/{client}/{rep}/"
                    down = work / "down" / client / str(rep)
                    with TransferEngine(Settings(obs_backend="s3")) as engine:
                        runs = [timed(partial(engine.upload, src, url)),
                                timed(partial(engine.download, url, down)),
                                timed(partial(engine.upload, src, url))]
                    shutil.rmtree(down)
                    for op, run in zip(OPS, runs, strict=True):
                        results.setdefault((client, op), []).append(run)
                    print(f"rep {rep + 1} {client:8s} " + "  ".join(
                        f"{op} {w:.2f} s (cpu {c:.2f})" for op, (w, c) in zip(OPS, runs,
                                                                             strict=True)),
                          flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n| operation | {' | '.join(clients)} |\n|---|{'---|' * len(clients)}")
    for op in OPS:
        cells = []
        for client in clients:
            runs = results[(client, op)]
            cells.append(f"{statistics.median(w for w, _ in runs):.2f} s, cpu "
                         f"{statistics.median(c for _, c in runs):.2f} s")
        print(f"| {op} | {' | '.join(cells)} |")
    print(f"\nmedians of {args.reps}; load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
