"""Storage acceleration end to end (seed S5), through the CLI on the embedded default.

1. generate 3000 small PNG files (digits) and upload them to object storage;
2. create the file system ``images`` and preload the data into it (incremental: a second
   run of this demo copies nothing);
3. run a training job that mounts the file system read-only at /mnt/images and reads every
   image file each epoch (job.yaml).

Mounts need the bubblewrap sandbox (Linux); without it the job fails at start and says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent / "modelyard"


def modelyard(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    print(f"$ modelyard {' '.join(args)}", flush=True)
    proc = subprocess.run([str(BIN), *args], text=True)
    if check and proc.returncode != 0:
        sys.exit(proc.returncode)
    return proc


def exists(*args: str) -> bool:
    return subprocess.run([str(BIN), *args], capture_output=True).returncode == 0


def main() -> None:
    run = time.strftime("%Y%m%d-%H%M%S")
    output = f"obs://demo/images/runs/{run}/"
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        subprocess.run([sys.executable, str(HERE / "prepare_data.py"), str(data)], check=True)
        modelyard("storage", "cp", "-r", str(data), "obs://demo/images/data/")
        modelyard("storage", "cp", "-r", str(HERE / "code"), "obs://demo/images/code/")
        if not exists("fs", "show", "images"):
            modelyard("fs", "create", "images")
        modelyard("fs", "preload", "images", "obs://demo/images/data/", "--to", "/digits",
                  "--wait")
        if not exists("algorithm", "show", "images"):
            modelyard("algorithm", "create", "-f", str(HERE / "algorithm.yaml"))
        job = yaml.safe_load((HERE / "job.yaml").read_text())
        job["metadata"]["name"] = f"images-demo-{run}"
        job["algorithm"]["outputs"][0]["remote"]["obs"]["obs_url"] = output
        job_file = Path(tmp) / "job.yaml"
        job_file.write_text(yaml.safe_dump(job))
        done = modelyard("job", "create", "-f", str(job_file), "--wait", check=False)
        metrics_dir = Path(tmp) / "metrics"
        got = modelyard("storage", "cp", f"{output}metrics.json", str(metrics_dir), check=False)
        metrics = (json.loads((metrics_dir / "metrics.json").read_text())
                   if got.returncode == 0 else {})
    print()
    print(f"Final status: {'Completed' if done.returncode == 0 else 'not completed'}")
    if metrics:
        print(f"val_accuracy={metrics['val_accuracy']:.4f} after {metrics['epochs']} epochs over "
              f"{metrics['train_images']} files; reading took {metrics['read_seconds_total']} s")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
