"""Incremental training (seed S7) across two jobs, on whatever object store is configured.

Job 1 trains 5 epochs on the first half of the data. Job 2 points at the same train_url
with pre-download on (prefetch_to_local), gets the second half of the data as well, finds
job 1's checkpoint in its output folder, and continues from epoch 6 to 10.

    python examples/digits/incremental.py                      # embedded store
    AWS_ENDPOINT_URL=http://127.0.0.1:8333 MODELYARD_OBS_BACKEND=s3 \\
        python examples/digits/incremental.py --bucket my-bucket    # an S3 endpoint
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent / "modelyard"


def modelyard(*args: str) -> str:
    print(f"$ modelyard {' '.join(args)}", flush=True)
    proc = subprocess.run([str(BIN), *args], text=True, capture_output=True)
    print(proc.stdout, end="")
    if proc.returncode != 0:
        sys.exit(f"failed: {proc.stderr.strip()}")
    return proc.stdout


def upload_part(part: int, url: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"part{part}"
        subprocess.run([sys.executable, str(HERE / "prepare_data.py"), str(out),
                        "--only", str(part)], check=True)
        modelyard("storage", "cp", "-r", str(out), url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bucket", default="demo")
    args = parser.parse_args()
    base = f"obs://{args.bucket}/digits-incremental/{time.strftime('%Y%m%d-%H%M%S')}"
    # The digits algorithm reads its code from obs://demo/digits/code/.
    modelyard("storage", "cp", "-r", str(HERE / "code"), "obs://demo/digits/code/")
    if subprocess.run([str(BIN), "algorithm", "show", "digits"],
                      capture_output=True).returncode != 0:
        modelyard("algorithm", "create", "-f", str(HERE / "algorithm.yaml"))
    for part, (job, epochs) in enumerate((("first", 5), ("second", 10))):
        upload_part(part, f"{base}/data/")  # job 2 sees more data than job 1
        log = modelyard("job", "run", "--algorithm", "digits", "--name", f"incremental-{job}",
                        "-p", f"epochs={epochs}", "-i", f"data_url={base}/data/",
                        "-o", f"train_url={base}/out/,prefetch", "--wait")
        if "Completed" not in log:
            sys.exit(f"job {job} did not complete")
    print(f"\nCheckpoint and model: {base}/out/")


if __name__ == "__main__":
    main()
