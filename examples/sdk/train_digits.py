"""Train the digits classifier through a ModelYard server with the Python SDK.

    modelyard server &                       # in another terminal: a local server
    python examples/sdk/train_digits.py      # MODELYARD_URL defaults to http://127.0.0.1:8000

With API keys on the server, also set MODELYARD_ACCESS_KEY and MODELYARD_SECRET_KEY.

The code and data are passed as file:// locations, which a server on this machine reads
directly. For a remote server, upload them to its object store first and pass --code-url and
--data-url (obs://...).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from modelyard.client import Algorithm, ApiError, Estimator, InputData, ModelYardClient, OutputData

DIGITS = Path(__file__).resolve().parents[1] / "digits"


def algorithm(client: ModelYardClient, name: str, code_url: str) -> Algorithm:
    """The digits algorithm (examples/digits/algorithm.yaml) with its code at ``code_url``."""
    try:
        return Algorithm.get(name, client=client)
    except ApiError as exc:
        if exc.status != 404:
            raise
    body = yaml.safe_load((DIGITS / "algorithm.yaml").read_text())
    body["metadata"]["name"] = name
    body["job_config"]["code_dir"] = code_url
    return Algorithm.create(body, client=client)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="server URL (default: MODELYARD_URL or 127.0.0.1:8000)")
    parser.add_argument("--project", help="project_id (default: MODELYARD_PROJECT or default)")
    parser.add_argument("--code-url", default=f"file://{DIGITS / 'code'}/")
    parser.add_argument("--data-url", help="npz data folder (default: prepared locally)")
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()

    client = ModelYardClient(args.url, project=args.project)
    print(f"server {client.url}, project {client.project}")
    with tempfile.TemporaryDirectory() as tmp:
        data_url = args.data_url
        if data_url is None:
            data = Path(tmp) / "data"
            subprocess.run([sys.executable, str(DIGITS / "prepare_data.py"), str(data)],
                           check=True)
            data_url = f"file://{data}/"
        algo = algorithm(client, "digits-sdk", args.code_url)
        run = time.strftime("%Y%m%d-%H%M%S")
        output = f"obs://demo/digits/sdk-runs/{run}/"
        estimator = Estimator(
            algorithm=algo,
            hyperparameters={"epochs": args.epochs, "learning_rate": 0.01},
            outputs=[OutputData("train_url", output, prefetch=True)],
            job_name=f"digits-sdk-{run}",
            client=client,
        )
        job = estimator.fit(inputs=[InputData("data_url", data_url)], wait=True)
    print()
    print(f"job {job.id}: {job.phase}")
    found = re.findall(r"^accuracy=([0-9.]+)", job.logs(), re.M)
    if found:
        print(f"accuracy={found[-1]} after {args.epochs} epochs")
    print(f"model: {output}model/model.pkl")
    return 0 if job.succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
