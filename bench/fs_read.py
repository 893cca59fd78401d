"""Epoch read time: a preloaded, mounted file system vs object storage vs local disk (seed S5).

Two data sets — many small files, a few large ones — are written to local disk, uploaded to
a private SeaweedFS S3 endpoint, and preloaded into a ModelYard file system through the real
preload task (detached worker, S3 -> file system). Then each epoch reads every byte of the
data set, three ways:

  (a) mounted   the file system bound read-only at /mnt/data inside the same bubblewrap
                sandbox a job gets (runtime.sandbox.build_command), one reader thread;
  (b) s3        straight from object storage every epoch: list + GET every object with
                boto3 over 16 threads (more parallel than the file readers, in S3's favour);
  (c) local     plain Python from a local directory, one thread (the floor).

``warm``: page cache hot (one untimed epoch first), what a job sees from the second epoch
on. ``cold``: the page cache is dropped before every epoch (needs root; skipped
otherwise), so (a) and (c) read the disk and SeaweedFS reads its volumes from disk too.
Epochs alternate between the cases; the median and the best epoch are reported (on a busy
machine the best epoch is the better estimate of what a case costs by itself).

    python bench/fs_read.py [--small-files 5000 --small-size 16384 --large-files 4
                             --large-mib 64 --epochs 5 --json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

READER = '''\
import json, os, sys, time
root = sys.argv[1]
paths = []
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    paths += [os.path.join(dirpath, n) for n in sorted(filenames)]
buf = bytearray(4 << 20)
view = memoryview(buf)
start = time.perf_counter()
total = 0
for path in paths:
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(view):
            total += n
print(json.dumps({"seconds": time.perf_counter() - start, "files": len(paths),
                  "bytes": total}))
'''
MOUNT = "/mnt/data"
BUCKET = "fsbench"


# ------------------------------------------------------------------------ data sets
def write_dataset(root: Path, files: int, size: int) -> None:
    """``files`` files of ``size`` random bytes, 100 per folder like an image folder."""
    rnd = os.urandom
    for i in range(files):
        folder = root / f"{i // 100:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{i:06d}.bin").open("wb") as fh:
            left = size
            while left:
                chunk = min(left, 8 << 20)
                fh.write(rnd(chunk))
                left -= chunk


# ------------------------------------------------------------------------ readers
def drop_caches() -> bool:
    """Drops the page cache (root only); False when not permitted."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False


def run_reader(argv_prefix: list[str], root: str, script: Path) -> dict[str, Any]:
    out = subprocess.run([*argv_prefix, sys.executable, str(script), root],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"reader failed: {out.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def sandbox_prefix(fs_dir: Path, script_dir: Path, scratch: Path) -> tuple[list[str], Path]:
    """The bwrap command line a job gets, with the file system bound read-only at /mnt/data.
    Returns (argv up to the program, the reader script's path inside the sandbox)."""
    from modelyard.runtime import sandbox

    bwrap = sandbox.find_bwrap()
    reason = "bubblewrap is not installed" if bwrap is None else sandbox.probe(bwrap)
    if bwrap is None or reason:
        raise SystemExit(f"the mounted case needs the bubblewrap sandbox: {reason}")
    (scratch / "home").mkdir(parents=True, exist_ok=True)
    (scratch / "cache").mkdir(parents=True, exist_ok=True)
    binds = [sandbox.Bind(p, p) for p in sandbox.python_roots(sys.executable)]
    binds += [sandbox.Bind(fs_dir, Path(MOUNT), True), sandbox.Bind(script_dir, Path("/bench"))]
    spec = sandbox.SandboxSpec(home=scratch / "home", cache=scratch / "cache", binds=binds)
    cmd = sandbox.build_command(bwrap, spec, ["__PROGRAM__"])
    return cmd[:cmd.index("__PROGRAM__")], Path("/bench") / "reader.py"


def s3_epoch(client: Any, prefix: str) -> dict[str, Any]:
    start = time.perf_counter()
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]

    def get(key: str) -> int:
        body = client.get_object(Bucket=BUCKET, Key=key)["Body"]
        n = 0
        while chunk := body.read(4 << 20):
            n += len(chunk)
        return n

    with ThreadPoolExecutor(16) as pool:
        total = sum(pool.map(get, keys))
    return {"seconds": time.perf_counter() - start, "files": len(keys), "bytes": total}


def measure(cases: dict[str, Callable[[], dict[str, Any]]], epochs: int, cold: bool
            ) -> dict[str, dict[str, Any]]:
    """Epochs round-robin over the cases (a, b, c, a, b, c...), so a burst of load on the
    machine hits every case alike; the median epoch is reported."""
    if not cold:
        for epoch in cases.values():
            epoch()  # warm-up, untimed
    runs: dict[str, list[dict[str, Any]]] = {case: [] for case in cases}
    for _ in range(epochs):
        for case, epoch in cases.items():
            if cold:
                drop_caches()
            runs[case].append(epoch())
    out = {}
    for case, results in runs.items():
        seconds = [r["seconds"] for r in results]
        median = statistics.median(seconds)
        out[case] = {"seconds": median, "best": min(seconds), "runs": seconds,
                     "files": results[0]["files"],
                     "bytes": results[0]["bytes"],
                     "mib_per_s": results[0]["bytes"] / median / 2**20,
                     "files_per_s": results[0]["files"] / median}
    return out


# ------------------------------------------------------------------------ setup
def s3_client(server: Any) -> Any:
    """boto3 with a connection per reader thread (its default pool of 10 would queue)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=32,
                      read_timeout=120, retries={"mode": "standard"}))


@contextmanager
def seaweed(root: Path) -> Iterator[Any]:
    from modelyard.storage.seaweed import SeaweedServer

    server = SeaweedServer(root, volume_size_limit_mb=1024)
    server.start(timeout=90)
    try:
        yield server
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small-files", type=int, default=5000)
    ap.add_argument("--small-size", type=int, default=16 * 1024, help="bytes per small file")
    ap.add_argument("--large-files", type=int, default=4)
    ap.add_argument("--large-mib", type=int, default=64, help="MiB per large file")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--no-cold", action="store_true", help="skip the dropped-cache runs")
    ap.add_argument("--skip-s3", action="store_true",
                    help="time only mounted vs local (a quick check of the mount's overhead)")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="fsbench-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        datasets = {"small": (args.small_files, args.small_size),
                    "large": (args.large_files, args.large_mib << 20)}
        for name, (files, size) in datasets.items():
            t = time.perf_counter()
            write_dataset(tmp / "local" / name, files, size)
            print(f"wrote {name}: {files} files x {size} B in {time.perf_counter() - t:.1f} s",
                  flush=True)
        script_dir = tmp / "bench"
        script_dir.mkdir()
        (script_dir / "reader.py").write_text(READER)

        with seaweed(tmp / "seaweed") as server:
            os.environ.update({
                "MODELYARD_HOME": str(home), "MODELYARD_OBS_BACKEND": "s3",
                "MODELYARD_S3_ENDPOINT": server.endpoint_url,
                "MODELYARD_S3_ACCESS_KEY": server.access_key,
                "MODELYARD_S3_SECRET_KEY": server.secret_key,
                "MODELYARD_S3_REGION": "us-east-1",
            })
            for var in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                        "AWS_PROFILE"):
                os.environ.pop(var, None)
            from modelyard.service.app import Service
            from modelyard.settings import Settings
            from modelyard.storage.transfer import TransferEngine

            settings = Settings()
            service = Service(settings)
            client = s3_client(server)
            client.create_bucket(Bucket=BUCKET)
            engine = TransferEngine(settings)
            fs = service.filesystems
            fs_dir = Path(fs.create("default", "bench")["path"])
            setup: dict[str, Any] = {}
            for name in datasets:
                t = time.perf_counter()
                up = engine.upload(tmp / "local" / name, f"obs://{BUCKET}/{name}/")
                setup[f"{name}_upload_s"] = time.perf_counter() - t
                task = fs.preload("default", "bench", f"obs://{BUCKET}/{name}/", f"/{name}")
                while task["status"] == "DOING":
                    time.sleep(0.2)
                    task = fs.task("default", task["id"])
                if task["status"] != "SUCCESS":
                    raise SystemExit(f"preload failed: {task['message']}")
                took = (task["end_time"] - task["start_time"]) / 1000
                setup[f"{name}_preload_s"] = took
                again = fs.preload("default", "bench", f"obs://{BUCKET}/{name}/", f"/{name}")
                while again["status"] == "DOING":
                    time.sleep(0.2)
                    again = fs.task("default", again["id"])
                setup[f"{name}_preload_again_copied"] = again["progress"]["files"]
                print(f"uploaded {name} ({up.files} objects) in {setup[f'{name}_upload_s']:.1f}"
                      f" s; preloaded in {took:.1f} s; preloading again copied "
                      f"{again['progress']['files']} files", flush=True)

            prefix, inside = sandbox_prefix(fs_dir, script_dir, tmp / "sandbox")
            modes = ["warm"] + ([] if args.no_cold else ["cold"])
            if "cold" in modes and not drop_caches():
                print("cold runs skipped: dropping the page cache needs root", flush=True)
                modes.remove("cold")
            results: dict[str, Any] = {"setup": setup, "params": vars(args) | {"json": None}}
            for mode in modes:
                for name in datasets:
                    cases: dict[str, Callable[[], dict[str, Any]]] = {
                        "mounted": lambda n=name: run_reader(prefix, f"{MOUNT}/{n}", inside),
                        "s3": lambda n=name: s3_epoch(client, f"{n}/"),
                        "local": lambda n=name: run_reader([], str(tmp / "local" / n),
                                                           script_dir / "reader.py"),
                    }
                    if args.skip_s3:
                        del cases["s3"]
                    row = measure(cases, args.epochs, mode == "cold")
                    results[f"{mode}/{name}"] = row
                    report(mode, name, row)
            service.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def report(mode: str, name: str, row: dict[str, Any]) -> None:
    local = row["local"]["seconds"]
    mounted = row["mounted"]["seconds"]
    print(f"\n[{mode}] {name}: {row['local']['files']} files, "
          f"{row['local']['bytes'] / 2**20:.1f} MiB per epoch")
    print(f"  {'case':<9} {'median s':>9} {'best s':>9} {'MiB/s':>9} {'files/s':>10} "
          f"{'vs local':>9}")
    for case in ("mounted", "s3", "local"):
        if case not in row:
            continue
        r = row[case]
        print(f"  {case:<9} {r['seconds']:>9.3f} {r['best']:>9.3f} {r['mib_per_s']:>9.1f} "
              f"{r['files_per_s']:>10.0f} {r['seconds'] / local:>8.2f}x")
    s3 = (f"; object storage is {row['s3']['seconds'] / mounted:.1f}x slower than mounted"
          if "s3" in row else "")
    best = row["mounted"]["best"] / row["local"]["best"]
    print(f"  mounted is {mounted / local:.2f}x local disk "
          f"({(mounted / local - 1) * 100:+.1f}% median, {(best - 1) * 100:+.1f}% best "
          f"epoch){s3}", flush=True)


if __name__ == "__main__":
    main()
