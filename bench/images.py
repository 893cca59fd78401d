"""Image benchmark (issue 15): what running in an image costs, against its floors.

One run, side by side:

(a) job start, submit to the first user line (p50, p90), of a trivial boot file on the
    host-Python engine and on a preset engine in a custom image that is already pulled and
    unpacked (S2.4: the image's own python). Target: the image under 50 ms more at p50.
    Both go through ``LocalExecutor.submit`` (the launcher's forked runtime), alternating.
(b) a cold pull + unpack of a ~100 MB image from a local registry (Debian's
    ``docker-registry`` on 127.0.0.1): ``ImageStore.pull`` in a fresh home, by tag (which
    resolves the tag with the registry first) and by the pinned digest (what a job's
    runtime does: the service resolved the tag at create), against ``skopeo copy`` +
    ``umoci raw unpack --rootless`` run by hand, alternating. Target: no slower (ours also
    clears setuid bits, measures and records).

The images are built offline by the test fixtures' builder (the host's python and its
standard library as a conda-like env; for (b) plus a layer of incompressible bytes).

    .venv/bin/python bench/images.py                 # 15 starts each, 3 pulls each
    .venv/bin/python bench/images.py --jobs 5 --pulls 1 --size-mb 20   # smoke run
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from dispatch import TRIVIAL, first_line_time, pct  # noqa: E402 (the benches' shared helpers)

from fixtures.images import (  # noqa: E402 (the fixtures' image builder, see the docstring)
    IMAGE_CONFIG,
    Layer,
    Registry,
    base_layer,
    cached_image,
    missing_tools,
    python_layer,
)
from modelyard.executors.local import LocalExecutor  # noqa: E402
from modelyard.runtime.state import JobFolder  # noqa: E402
from modelyard.settings import Settings  # noqa: E402
from modelyard.spec.algorithm import Engine  # noqa: E402
from modelyard.spec.plan import RunPlan  # noqa: E402
from modelyard.storage.images import ImageStore  # noqa: E402


def start_latency(settings: Settings, engine: Engine | None, code_url: str,
                  digest: str | None = None) -> float:
    """Seconds from submit to the job's first line. ``digest``: the image's digest as the
    service pins it at create (one registry round trip per job, at submit)."""
    job_id = uuid.uuid4().hex[:12]
    mode = "preset_custom_image" if engine is not None else "preset"
    plan = RunPlan(job_id=job_id, job_name=f"bench-{job_id}", code_dir=code_url,
                   boot_file="train.py", engine=engine, mode=mode, image_digest=digest,
                   upload_period=settings.upload_period)
    executor = LocalExecutor(settings)
    job_dir = settings.jobs_root / job_id
    t0 = time.time()
    executor.submit(plan, job_dir)
    state = executor.wait(job_dir, 120)
    log = JobFolder(job_dir).log_file(job_id)
    text = log.read_text() if log.exists() else ""
    if state is None or state.phase.value != "Completed":
        raise RuntimeError(f"job failed: {state}\n{text[-1500:]}")
    return first_line_time(text) - t0


def bench_start(settings: Settings, registry: Registry, jobs: int) -> dict[str, float]:
    image = cached_image("python", [base_layer(), python_layer()], IMAGE_CONFIG)
    url = registry.push(image, "bench/python")
    digest = ImageStore(settings).pull(url)[0].digest  # (a) is about a cached image
    code = settings.obs_root / "bench" / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "train.py").write_text(TRIVIAL)
    engine = Engine(engine_name="PyTorch", engine_version="custom", image_url=url)
    for warm in (None, engine):  # the launcher's first fork, the first sandbox of each kind
        start_latency(settings, warm, "obs://bench/code/", digest if warm else None)
    host: list[float] = []
    img: list[float] = []
    for _ in range(jobs):
        host.append(start_latency(settings, None, "obs://bench/code/"))
        img.append(start_latency(settings, engine, "obs://bench/code/", digest))
    return {"host_p50_ms": pct(host, 50) * 1e3, "host_p90_ms": pct(host, 90) * 1e3,
            "image_p50_ms": pct(img, 50) * 1e3, "image_p90_ms": pct(img, 90) * 1e3,
            "extra_p50_ms": (pct(img, 50) - pct(host, 50)) * 1e3, "jobs": jobs}


def big_image(size_mb: int) -> tuple[Path, str]:
    rng = random.Random(15)
    blob = Layer()
    chunk = 8 * 2**20
    for i in range(max(1, size_mb * 2**20 // chunk)):
        blob.parents(f"/opt/weights/part-{i:03d}.bin").file(
            f"/opt/weights/part-{i:03d}.bin", rng.randbytes(chunk))
    image = cached_image(f"big{size_mb}", [base_layer(), python_layer(), blob], IMAGE_CONFIG)
    return image.layout, image.digest


def bench_pull(registry: Registry, size_mb: int, pulls: int) -> dict[str, float]:
    layout, digest = big_image(size_mb)
    from fixtures.images import BuiltImage

    url = registry.push(BuiltImage(layout, "1", digest, 0), f"bench/big{size_mb}")
    ours: list[float] = []
    pinned: list[float] = []
    by_hand: list[float] = []
    size = 0
    for _ in range(pulls):
        for ref, times in ((url, ours), (f"{url}@{digest}", pinned)):
            with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
                settings = Settings(home=Path(tmp) / "home", insecure_registries=registry.host)
                t0 = time.perf_counter()
                record, _ = ImageStore(settings).pull(ref)
                times.append(time.perf_counter() - t0)
                size = record.size
        with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
            t0 = time.perf_counter()
            subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                            f"docker://{url}", f"oci:{tmp}/oci:img"], check=True)
            subprocess.run(["umoci", "raw", "unpack", "--rootless", "--image",
                            f"{tmp}/oci:img", f"{tmp}/rootfs"], check=True)
            by_hand.append(time.perf_counter() - t0)
    ours_m, pinned_m, hand_m = pct(ours, 50), pct(pinned, 50), pct(by_hand, 50)
    return {"image_mb": round(size / 2**20, 1), "pulls": pulls, "modelyard_s": ours_m,
            "modelyard_pinned_s": pinned_m, "skopeo_umoci_by_hand_s": hand_m,
            "ratio": ours_m / hand_m, "ratio_pinned": pinned_m / hand_m}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=15)
    ap.add_argument("--pulls", type=int, default=3)
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    missing = missing_tools()
    if missing:
        sys.exit(f"bench/images.py needs {', '.join(missing)} (Debian packages)")
    work = Path(tempfile.mkdtemp(prefix="bench-images-"))
    registry = Registry(work / "registry")
    (work / "registry").mkdir()
    registry.start()
    try:
        settings = Settings(home=work / "home", insecure_registries=registry.host,
                            upload_period=30.0)
        results = {"start": bench_start(settings, registry, args.jobs),
                   "pull": bench_pull(registry, args.size_mb, args.pulls)}
    finally:
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)
    s, p = results["start"], results["pull"]
    print(f"(a) job start, submit -> first line, p50 / p90 over {s['jobs']:.0f} jobs each")
    print(f"    host Python engine      {s['host_p50_ms']:7.0f} / {s['host_p90_ms']:.0f} ms")
    print(f"    cached image (S2.4)     {s['image_p50_ms']:7.0f} / {s['image_p90_ms']:.0f} ms")
    print(f"    image extra at p50      {s['extra_p50_ms']:7.0f} ms (target < 50 ms)")
    print(f"(b) cold pull + unpack of a {p['image_mb']} MB image, median of {p['pulls']:.0f}")
    print(f"    modelyard, by tag       {p['modelyard_s']:7.2f} s (resolves the tag first)")
    print(f"    modelyard, pinned       {p['modelyard_pinned_s']:7.2f} s (as a job pulls: "
          f"the service pinned the digest at create; ratio {p['ratio_pinned']:.2f})")
    print(f"    skopeo copy + umoci     {p['skopeo_umoci_by_hand_s']:7.2f} s "
          f"(ratio {p['ratio']:.2f}, target <= 1)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
