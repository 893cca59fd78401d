"""A dataset version as a training job's input (issue 18): real jobs in the real runtime
read the staged manifest, whose sources are local files; the algorithm's input constraints
are checked at create."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from fixtures.datasets import classification_tree, dataset_body, png_bytes, write_local, write_s3
from fixtures.jobs import final, wait_for
from modelyard.service import Service
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.storage.seaweed import SeaweedServer

pytestmark = pytest.mark.slow

READER = """
import argparse, glob, json, os
p = argparse.ArgumentParser()
p.add_argument("--data_url")
p.add_argument("--train_url")
a, _ = p.parse_known_args()
(manifest,) = glob.glob(os.path.join(a.data_url, "*.manifest"))
usage, labels, missing = {}, set(), []
for row in open(manifest):
    line = json.loads(row)
    if not os.path.isfile(line["source"]) or not line["source"].startswith(a.data_url):
        missing.append(line["source"])
    if line.get("annotation"):
        usage[line["usage"]] = usage.get(line["usage"], 0) + 1
        labels.add(line["annotation"][0]["name"])
    head = open(line["source"], "rb").read(8) if not missing else b""
    assert head.startswith(b"\\x89PNG"), line["source"]
print("manifest", os.path.basename(manifest), "train=%d eval=%d labels=%d missing=%d"
      % (usage.get("TRAIN", 0), usage.get("EVAL", 0), len(labels), len(missing)), flush=True)
open(os.path.join(a.train_url, "ok"), "w").write("ok")
"""


def split_constraint(split: str) -> list[dict[str, Any]]:
    return [{"data_type": "modelarts_dataset",
             "attributes": {"dataset_type": ["0"], "data_format": ["Default"],
                            "data_segmentation": [split]}}]


def make_algorithm(service: Service, tmp_path: Path, split: str = "true") -> None:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "train.py").write_text(textwrap.dedent(READER))
    service.algorithms.create("p", {"metadata": {"name": f"reader-{split}"}, "job_config": {
        "code_dir": f"file://{code}/", "boot_file": "train.py",
        "inputs": [{"name": "data_url", "remote_constraints": split_constraint(split)}],
        "outputs": [{"name": "train_url"}]}})


def job(algorithm: str, dataset: str, version: str, out: str) -> dict[str, Any]:
    return {"metadata": {"name": "read-manifest"}, "algorithm": {
        "name": algorithm,
        "inputs": [{"name": "data_url",
                    "remote": {"dataset": {"id": dataset, "version_id": version}}}],
        "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": out}}}]}}


def run_reading_job(service: Service, tmp_path: Path, bucket: str, prefix: str) -> None:
    ds = service.datasets.create("p", dataset_body(
        "pets", f"obs://{bucket}/{prefix}pets/", f"obs://{bucket}/{prefix}work/"))
    # One more sample from outside the data source: staged under .modelyard-external/.
    service.datasets.import_("p", ds["dataset_id"],
                             {"import_path": f"obs://{bucket}/{prefix}extra/"})
    split = service.datasets.create_version("p", ds["dataset_id"],
                                            {"train_evaluate_sample_ratio": 0.8})
    whole = service.datasets.create_version("p", ds["dataset_id"], {})
    make_algorithm(service, tmp_path)

    rec = service.jobs.create("p", job("reader-true", ds["dataset_id"], split["version_id"],
                                       f"obs://{bucket}/{prefix}out/"))
    done = wait_for(service, rec["metadata"]["id"], final, timeout=120)
    log = service.jobs.log_preview("p", rec["metadata"]["id"])["content"]
    assert done["status"]["phase"] == "Completed", log
    # 3 labels x 10, 1 unlabelled, "extra/bird/x.png": 80/20 per label, so 32 lines.
    assert "manifest pets-V001.manifest train=25 eval=6 labels=4 missing=0" in log, log
    assert "dataset manifest pets-V001.manifest with 32 samples" in log

    # The algorithm accepts only split versions: V002 (ratio 1) is refused at create.
    with pytest.raises(SpecError) as err:
        service.jobs.create("p", job("reader-true", "pets", whole["version_id"],
                                     f"obs://{bucket}/{prefix}out2/"))
    assert err.value.field == "algorithm.inputs[0].remote.dataset.data_segmentation"
    assert "only split datasets" in err.value.rule and err.value.value == "false"
    with pytest.raises(SpecError) as err:
        service.jobs.create("p", job("reader-true", "pets", "V404",
                                     f"obs://{bucket}/{prefix}out3/"))
    assert err.value.field == "algorithm.inputs[0].remote.dataset"
    assert "not found" in err.value.rule


def files(prefix: str) -> dict[str, bytes]:
    tree = classification_tree(prefix + "pets/", per_label=10)
    return {k: v for k, v in tree.items() if v.startswith(b"\x89PNG")} | \
        {f"{prefix}extra/bird/x.png": png_bytes()}


def test_a_job_reads_its_dataset_version_on_the_embedded_store(
        service: Service, settings: Settings, tmp_path: Path) -> None:
    write_local(settings, "data", files("d/"))
    run_reading_job(service, tmp_path, "data", "d/")


def test_a_sample_gone_from_storage_fails_the_job_naming_it(
        service: Service, settings: Settings, tmp_path: Path) -> None:
    write_local(settings, "data", files("g/"))
    ds = service.datasets.create("p", dataset_body("gone", "obs://data/g/pets/",
                                                   "obs://data/g/work/"))
    service.datasets.import_("p", "gone", {"import_path": "obs://data/g/extra/"})
    v = service.datasets.create_version("p", "gone", {"train_evaluate_sample_ratio": 0.5})
    (settings.obs_root / "data" / "g" / "extra" / "bird" / "x.png").unlink()
    make_algorithm(service, tmp_path)
    rec = service.jobs.create("p", job("reader-true", ds["dataset_id"], v["version_id"],
                                       "obs://data/g/out/"))
    done = wait_for(service, rec["metadata"]["id"], final, timeout=120)
    assert done["status"]["phase"] == "Failed"
    log = service.jobs.log_preview("p", rec["metadata"]["id"])["content"]
    assert "Staging dataset version" in log and "extra/bird/x.png" in log, log
    assert "manifest pets" not in log  # the code never started


def test_a_job_reads_its_dataset_version_through_s3(
        s3_settings: Settings, s3_bucket: str, s3_prefix: str, seaweed: SeaweedServer,
        tmp_path: Path) -> None:
    write_s3(seaweed.client(), s3_bucket, files(s3_prefix))
    service = Service(s3_settings)
    try:
        run_reading_job(service, tmp_path, s3_bucket, s3_prefix)
    finally:
        service.close()
