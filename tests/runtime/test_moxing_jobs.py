"""``import moxing as mox`` in real jobs (issue 16): a ModelArts-style script copies its data
down and its results up with ``mox.file`` on ``obs://`` URLs, on the embedded store and on
SeaweedFS, without a single storage credential in the job; and an input bound to one object
reaches the code as that file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from modelyard.runtime.sandbox import find_bwrap, probe
from modelyard.settings import Settings
from modelyard.spec.channels import AccessMethod
from modelyard.spec.contract import Contract
from modelyard.spec.plan import ChannelPlan, RunPlan
from modelyard.storage import TransferEngine
from modelyard.storage.seaweed import SeaweedServer

from .jobkit import Job, make_plan, obs_path, output, put_files, run

pytestmark = pytest.mark.slow

HAVE_BWRAP = (bw := find_bwrap()) is not None and probe(bw) is None
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP, reason="bubblewrap does not work here")
MODES = [pytest.param("bwrap", marks=needs_bwrap), "none"]

# As ModelArts' MoXing samples write it: obs:// locations as arguments, the data copied to
# local disk first, results copied back.
MOX_SCRIPT = r'''
import argparse, json, os, sys
import moxing as mox
import moxing.pytorch as mox_pt
from moxing.framework import file as mox_file

parser = argparse.ArgumentParser()
parser.add_argument("--data_obs")
parser.add_argument("--out_obs")
parser.add_argument("--data_url")
parser.add_argument("--train_url")
args, unknown = parser.parse_known_args()

assert mox.file.exists(args.data_obs) and mox.file.is_directory(args.data_obs)
print("LIST:" + json.dumps(mox.file.list_directory(args.data_obs)))
print("LIST-R:" + json.dumps(mox.file.list_directory(args.data_obs, recursive=True)))
local = os.path.join(os.environ["MA_HOME"], "work", "data")
mox.file.make_dirs(local)
mox.file.copy_parallel(args.data_obs, local)
rows = sum(len(open(os.path.join(root, f)).read().split())
           for root, _, files in os.walk(local) for f in files)
mox_pt.file.copy_parallel(args.data_url, os.path.join(local, "again"))  # the local form too

ckpt = args.out_obs.rstrip("/") + "/ckpt"
mox.file.make_dirs(ckpt)
mox.file.write(ckpt + "/model.txt", f"rows={rows}")
mox_file.copy_parallel(local, args.out_obs.rstrip("/") + "/data-copy")
assert mox.file.exists(ckpt + "/model.txt")
print("OUT:" + json.dumps(mox.file.list_directory(args.out_obs, recursive=True)))
for forbidden in ("obs://someone-else/secrets/", args.data_obs.rstrip("/") + "/new.txt"):
    try:
        mox.file.write(forbidden, "x")
        print("WROTE:" + forbidden)
    except PermissionError as exc:
        print("REFUSED:" + str(exc).splitlines()[0])
print("ENV:" + json.dumps(dict(os.environ)))
'''

DATA = {"a.csv": "1 2 3\n", "sub/b.csv": "4 5\n"}


def mox_plan(settings: Settings, data_url: str, out_url: str, **code: str) -> RunPlan:
    return make_plan(settings, None if code else MOX_SCRIPT, **code,
                     hyperparameters=[("data_obs", data_url), ("out_obs", out_url)],
                     inputs=[ChannelPlan(name="data_url", url=data_url)],
                     outputs=[ChannelPlan(name="train_url", url=out_url)])


def check_mox_job(job: Job, data_url: str) -> None:
    log = job.log
    assert json.loads(log.split("LIST:")[1].splitlines()[0]) == ["a.csv", "sub"]
    assert json.loads(log.split("LIST-R:")[1].splitlines()[0]) == ["a.csv", "sub", "sub/b.csv"]
    out = json.loads(log.split("OUT:")[1].splitlines()[0])
    assert {"ckpt/model.txt", "data-copy/a.csv", "data-copy/sub/b.csv"} <= set(out)
    assert "WROTE:" not in log
    assert "REFUSED:obs://someone-else/secrets/: not a location bound to this job" in log
    assert f"REFUSED:{data_url}new.txt: is under input" in log


@pytest.mark.parametrize("sandbox", MODES)
def test_a_moxing_script_on_the_embedded_store(settings: Settings, sandbox: str) -> None:
    s = settings.model_copy(update={"sandbox": sandbox})
    data_url = put_files(s, "mox-data", DATA)
    out = output(s)
    job, state = run(s, mox_plan(s, data_url, out.url))
    assert state.phase == "Completed", job.log
    check_mox_job(job, data_url)
    stored = obs_path(s, out.url)
    assert (stored / "ckpt" / "model.txt").read_text() == "rows=5"
    assert (stored / "data-copy" / "sub" / "b.csv").read_text() == "4 5\n"


@pytest.mark.parametrize("sandbox", MODES)
def test_a_moxing_script_on_seaweedfs_holds_no_credentials(
        s3_settings: Settings, s3_bucket: str, s3_prefix: str, seaweed: SeaweedServer,
        tmp_path: Path, sandbox: str) -> None:
    s = s3_settings.model_copy(update={"sandbox": sandbox})
    local = tmp_path / "data"
    for rel, text in DATA.items():
        (local / rel).parent.mkdir(parents=True, exist_ok=True)
        (local / rel).write_text(text)
    data_url = f"obs://{s3_bucket}/{s3_prefix}data/"
    out_url = f"obs://{s3_bucket}/{s3_prefix}out/"
    code = tmp_path / "demo-code"
    code.mkdir()
    (code / "train.py").write_text(MOX_SCRIPT)
    code_url = f"obs://{s3_bucket}/{s3_prefix}code/demo-code/"
    with TransferEngine(s) as engine:
        engine.upload(local, data_url)
        engine.upload(code, code_url)
    job, state = run(s, mox_plan(s, data_url, out_url, code_dir=code_url, boot_file="train.py"))
    assert state.phase == "Completed", job.log
    check_mox_job(job, data_url)
    client = seaweed.client()
    got = client.get_object(Bucket=s3_bucket, Key=f"{s3_prefix}out/ckpt/model.txt")
    assert got["Body"].read() == b"rows=5"
    client.head_object(Bucket=s3_bucket, Key=f"{s3_prefix}out/data-copy/sub/b.csv")

    env = json.loads(job.log.split("ENV:")[1].splitlines()[0])
    assert not [k for k in env if k.startswith(("AWS_", "MODELYARD_"))]
    for value in env.values():
        assert seaweed.secret_key not in value and seaweed.access_key not in value
    for path in job.job_dir.rglob("*"):  # nothing the job can read holds them either
        if path.is_file() and not path.is_symlink():
            text = path.read_bytes()
            assert seaweed.secret_key.encode() not in text, path
            assert seaweed.access_key.encode() not in text, path


def npz_bytes() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, x=np.arange(10))
    return buf.getvalue()


ONE_OBJECT = r'''
import argparse, json, os, sys
import numpy as np
import moxing as mox
parser = argparse.ArgumentParser()
parser.add_argument("--data_url")
args, _ = parser.parse_known_args()
print("ONE:" + json.dumps({
    "arg": args.data_url, "env": os.environ.get("labels"),
    "sum": int(np.load(args.data_url)["x"].sum()),
    "labels": open(os.environ["labels"]).read(),
    "mox": mox.file.read(os.environ["NPZ_URL"], binary=True)[:2].decode(),
}))
'''


@pytest.mark.parametrize("sandbox", MODES)
def test_an_input_bound_to_one_object_arrives_as_that_file(settings: Settings,
                                                           sandbox: str) -> None:
    s = settings.model_copy(update={"sandbox": sandbox})
    base = put_files(s, "one", {"mnist.npz": npz_bytes(), "labels.txt": "0 1 2",
                                "other.bin": "not staged"})
    npz_url = f"{base}mnist.npz"
    plan = make_plan(s, ONE_OBJECT, environments={"NPZ_URL": npz_url},
                     inputs=[ChannelPlan(name="data_url", url=npz_url),
                             ChannelPlan(name="labels", url=f"{base}labels.txt",
                                         access_method=AccessMethod.ENV)])
    job, state = run(s, plan)
    assert state.phase == "Completed", job.log
    seen = job.printed_json("ONE:")
    inputs = ("/home/ma-user/modelarts/inputs" if sandbox == "bwrap"
              else str((job.job_dir / "home" / "modelarts" / "inputs").resolve()))
    assert seen["arg"] == f"{inputs}/data_url_0/mnist.npz"
    assert seen["env"] == f"{inputs}/labels_0/labels.txt"
    assert seen["sum"] == 45 and seen["labels"] == "0 1 2" and seen["mox"] == "PK"
    assert f"--data_url={inputs}/data_url_0/mnist.npz" in job.log


@needs_bwrap
def test_under_sagemaker_one_object_arrives_in_its_channel_folder(settings: Settings) -> None:
    """SageMaker hands over the channel folder, whatever is in it."""
    s = settings.model_copy(update={"sandbox": "bwrap"})
    base = put_files(s, "one-sm", {"mnist.npz": npz_bytes()})
    script = ("import os\nprint('SM-CHANNEL:' + os.environ['SM_CHANNEL_TRAIN'] + ':' + "
              "','.join(os.listdir(os.environ['SM_CHANNEL_TRAIN'])))\n")
    plan = make_plan(s, script, contract=Contract.SAGEMAKER,
                     inputs=[ChannelPlan(name="train", url=f"{base}mnist.npz")])
    job, state = run(s, plan)
    assert state.phase == "Completed", job.log
    assert "SM-CHANNEL:/opt/ml/input/data/train:mnist.npz" in job.log
