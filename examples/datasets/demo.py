"""Image classification from a folder of PNGs, as a dataset version (issue 18).

Writes scikit-learn's digits as PNGs (one folder per label), uploads them, creates a
dataset (which imports them with their labels), publishes a version with a 0.8 train/eval
split, and trains a job whose input is that version: the job reads the manifest.

    python examples/datasets/demo.py                # embedded store, or MODELYARD_URL
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent / "modelyard"


def modelyard(*args: str, show: bool = True) -> str:
    print(f"$ modelyard {' '.join(args)}", flush=True)
    proc = subprocess.run([str(BIN), *args], text=True, capture_output=True)
    if show:
        print(proc.stdout, end="")
    if proc.returncode != 0:
        sys.exit(f"failed: {proc.stderr.strip()}")
    return proc.stdout


def main() -> None:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"obs://demo/digits-dataset/{stamp}"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(HERE / "make_pngs.py"), tmp], check=True)
        modelyard("storage", "cp", "-r", tmp, f"{base}/pngs/")
    modelyard("storage", "cp", "-r", str(HERE / "code"), "obs://demo/digits-dataset/code/")
    name = f"digits-{stamp}"
    modelyard("dataset", "create", name, "--data", f"{base}/pngs/", "--work", f"{base}/work/")
    modelyard("dataset", "show", name)
    version = json.loads(modelyard("dataset", "publish", name, "--ratio", "0.8", "--json",
                                   show=False))
    print(f"version {version['version_name']}: {version['train_sample_count']} train, "
          f"{version['eval_sample_count']} eval; manifest {version['manifest_path']}")
    if subprocess.run([str(BIN), "algorithm", "show", "digits-dataset"],
                      capture_output=True).returncode != 0:
        modelyard("algorithm", "create", "-f", str(HERE / "algorithm.yaml"))
    log = modelyard("job", "run", "--algorithm", "digits-dataset", "--name", name,
                    "-i", f"data_url=dataset:{version['dataset_id']}:{version['version_id']}",
                    "-o", f"train_url={base}/model/", "--wait")
    if "Completed" not in log:
        sys.exit("the job did not complete")
    print(f"\nModel: {base}/model/")


if __name__ == "__main__":
    main()
