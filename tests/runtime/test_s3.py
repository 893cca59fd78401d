"""Jobs whose code, data and outputs live on a real S3 endpoint (SeaweedFS): staging,
periodic and final uploads, credentials kept out of the job, and a store that goes away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelyard.settings import Settings
from modelyard.spec.plan import ChannelPlan
from modelyard.storage import TransferEngine
from modelyard.storage.seaweed import SeaweedServer

from .jobkit import make_plan, start, wait_for

pytestmark = pytest.mark.slow

SCRIPT = r'''
import os, signal, sys, time, pathlib
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
out = pathlib.Path(args["train_url"])
print("DATA:" + (pathlib.Path(args["data_url"]) / "d.csv").read_text().strip(), flush=True)
print("S3-VARS:" + ",".join(sorted(k for k in os.environ if "S3" in k or k.startswith("AWS"))))
def on_term(*_):
    (out / "final.ckpt").write_text("final")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
(out / "epoch1.ckpt").write_text("one")
print("READY", flush=True)
time.sleep(float(os.environ.get("SLEEP", "600")))
'''


def _stage(settings: Settings, bucket: str, prefix: str, tmp_path: Path) -> dict[str, Any]:
    code = tmp_path / "demo-code"
    code.mkdir()
    (code / "train.py").write_text(SCRIPT)
    data = tmp_path / "data"
    data.mkdir()
    (data / "d.csv").write_text("1,2,3")
    base = f"obs://{bucket}/{prefix}"
    with TransferEngine(settings) as engine:
        engine.upload(code, f"{base}code/demo-code/")
        engine.upload(data, f"{base}data/")
    return {"code_dir": f"{base}code/demo-code/", "boot_file": "train.py",
            "inputs": [ChannelPlan(name="data_url", url=f"{base}data/")],
            "outputs": [ChannelPlan(name="train_url", url=f"{base}out/")]}


def _exists(seaweed: SeaweedServer, bucket: str, key: str) -> bool:
    try:
        seaweed.client().head_object(Bucket=bucket, Key=key)
        return True
    except Exception:
        return False


def test_a_job_on_s3_stages_uploads_periodically_and_at_the_end(
        s3_settings: Settings, s3_bucket: str, s3_prefix: str, seaweed: SeaweedServer,
        tmp_path: Path) -> None:
    plan = make_plan(s3_settings, **_stage(s3_settings, s3_bucket, s3_prefix, tmp_path))
    job = start(s3_settings, plan)
    job.wait_log("READY")
    assert "DATA:1,2,3" in job.log and "S3-VARS:\n" in job.log  # no credentials in the job
    wait_for(lambda: _exists(seaweed, s3_bucket, f"{s3_prefix}out/epoch1.ckpt"), 20,
             "the periodic upload to S3")
    assert job.poll().phase == "Running"  # type: ignore[union-attr]
    job.stop()
    state = job.wait(60)
    assert state.phase == "Terminated", job.log
    assert _exists(seaweed, s3_bucket, f"{s3_prefix}out/final.ckpt")
    secret = seaweed.secret_key
    for text in (job.log, (job.job_dir / "events.jsonl").read_text(),
                 (job.job_dir / "state.json").read_text(),
                 (job.job_dir / "plan.json").read_text(),
                 (job.job_dir / "runtime.out").read_text()):
        assert secret not in text


def test_when_the_store_never_comes_back_the_job_fails_naming_the_channel(
        s3_settings: Settings, s3_bucket: str, s3_prefix: str, seaweed: SeaweedServer,
        tmp_path: Path) -> None:
    settings = s3_settings.model_copy(update={"transfer_retry_deadline": 3.0,
                                              "transfer_attempts": 3})
    plan = make_plan(settings, environments={"SLEEP": "2"},
                     **_stage(settings, s3_bucket, s3_prefix, tmp_path))
    job = start(settings, plan)
    job.wait_log("READY")
    seaweed.stop()
    try:
        state = job.wait(90)
    finally:
        seaweed.start()
    assert (state.phase, state.exit_code) == ("Failed", 0), job.log
    assert state.message.startswith("final upload failed: output 'train_url' to obs://")
    errors = [e.message for e in job.events if e.level == "Error"]
    assert any("Final upload failed: output 'train_url'" in m and "stay in the job folder" in m
               for m in errors)
    local = job.job_dir / "home/modelarts/outputs/train_url_0/epoch1.ckpt"
    assert local.read_text() == "one"  # kept for a later upload
