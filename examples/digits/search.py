"""Automatic search on the digits example, end to end through the CLI.

Uploads the digits code and data into the embedded object store (as demo.py does), creates
the algorithm if needed, then runs ``modelyard search run -f search.yaml --wait`` with a
fresh output location, and prints the parameter analysis. ``code/train.py`` is untouched:
the search reads the accuracy from the lines it prints.

Usage: python examples/digits/search.py [--trials N] [--parallel N] [--epochs N]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=None, help="num_samples")
    parser.add_argument("--parallel", type=int, default=None, help="trials in parallel")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    run = time.strftime("%Y%m%d-%H%M%S")
    job = yaml.safe_load((HERE / "search.yaml").read_text())
    job["metadata"]["name"] = f"digits-search-{run}"
    job["algorithm"]["outputs"][0]["remote"]["obs"]["obs_url"] = (
        f"obs://demo/digits/search/{run}/")
    auto = job["algorithm"]["policies"]["auto_search"]
    if args.trials:
        for p in auto["algo_configs"][0]["params"]:
            if p["key"] == "num_samples":
                p["value"] = str(args.trials)
    if args.parallel:
        auto["parallel_trials"] = args.parallel
    if args.epochs:
        job["algorithm"]["parameters"] = [{"name": "epochs", "value": args.epochs}]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        subprocess.run([sys.executable, str(HERE / "prepare_data.py"), str(data)], check=True)
        modelyard("storage", "cp", "-r", str(HERE / "code"), "obs://demo/digits/code/")
        modelyard("storage", "cp", "-r", str(data), "obs://demo/digits/data/")
        exists = subprocess.run([str(BIN), "algorithm", "show", "digits"],
                                capture_output=True, text=True).returncode == 0
        if not exists:
            modelyard("algorithm", "create", "-f", str(HERE / "algorithm.yaml"))
        path = Path(tmp) / "search.yaml"
        path.write_text(yaml.safe_dump(job, sort_keys=False))
        print(f"$ modelyard search run -f {path}", flush=True)
        created = subprocess.run([str(BIN), "search", "run", "-f", str(path)],
                                 capture_output=True, text=True)
        print(created.stdout + created.stderr, end="")
        if created.returncode != 0:
            sys.exit(created.returncode)
    search_id = created.stdout.split("(", 1)[1].split(")", 1)[0]
    done = modelyard("search", "show", search_id, "--watch", check=False)
    modelyard("search", "analysis", search_id, check=False)
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
