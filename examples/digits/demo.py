"""`make demo`: the seed workflow end to end on the embedded default, through the CLI.

Uploads the digits code and data into the embedded object store, creates the algorithm,
runs a training job from it, streams its log and reports the accuracy and the model's place.
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


def modelyard(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    print(f"$ modelyard {' '.join(args)}", flush=True)
    proc = subprocess.run([str(BIN), *args], text=True)
    if check and proc.returncode != 0:
        sys.exit(proc.returncode)
    return proc


def main() -> None:
    run = time.strftime("%Y%m%d-%H%M%S")
    output = f"obs://demo/digits/runs/{run}/"
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        subprocess.run([sys.executable, str(HERE / "prepare_data.py"), str(data)], check=True)
        modelyard("storage", "cp", "-r", str(HERE / "code"), "obs://demo/digits/code/")
        modelyard("storage", "cp", "-r", str(data), "obs://demo/digits/data/")
        exists = subprocess.run([str(BIN), "algorithm", "show", "digits"],
                                capture_output=True, text=True).returncode == 0
        if not exists:
            modelyard("algorithm", "create", "-f", str(HERE / "algorithm.yaml"))
        done = modelyard(
            "job", "run", "--algorithm", "digits", "--name", f"digits-demo-{run}",
            "--param", "epochs=15",
            "--input", "data_url=obs://demo/digits/data/",
            "--output", f"train_url={output},prefetch",
            "--wait", check=False,
        )
        metrics_dir = Path(tmp) / "metrics"
        modelyard("storage", "cp", f"{output}model/metrics.json", str(metrics_dir))
        metrics = json.loads((metrics_dir / "metrics.json").read_text())
    print()
    print(f"Final status: {'Completed' if done.returncode == 0 else 'not completed'}")
    print(f"accuracy={metrics['accuracy']:.4f} after {metrics['epochs']} epochs")
    print(f"Model:      {output}model/model.pkl")
    print(f"Checkpoint: {output}checkpoint/checkpoint.pkl")
    print()
    print("Web console: run `.venv/bin/modelyard server`, then open http://127.0.0.1:8000/")
    print(f"  this run's model: http://127.0.0.1:8000/#/storage?url={output}model/")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
