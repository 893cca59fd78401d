"""Real jobs under ``contract: sagemaker`` (issue 16): a script-mode scikit-learn script and a
"bring your own container" ``train`` program run unchanged in the sandbox, the real
``sagemaker-training`` toolkit agrees with what a job sees, and a failure lands in
``/opt/ml/output/failure``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelyard.runtime.sandbox import find_bwrap, probe
from modelyard.settings import Settings
from modelyard.spec.contract import Contract
from modelyard.spec.plan import ChannelPlan, RunPlan

from .jobkit import make_plan, no_traceback, obs_path, output, put_files, run

pytestmark = pytest.mark.slow

HAVE_BWRAP = (bw := find_bwrap()) is not None and probe(bw) is None
needs_bwrap = pytest.mark.skipif(not HAVE_BWRAP, reason="bubblewrap does not work here")

TRAIN_CSV = "".join(f"{x},{y},{int(x + y > 10)}\n" for x in range(8) for y in range(8))

# A SageMaker script-mode script as the SageMaker scikit-learn examples write it: argparse
# for hyperparameters, SM_* defaults for the folders, the hyperparameters file read directly.
SKLEARN_SCRIPT = r'''
import argparse, json, os
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--regularization", type=float, default=1.0)
    parser.add_argument("--model-dir", type=str, default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", type=str, default=os.environ["SM_CHANNEL_TRAIN"])
    parser.add_argument("--output-data-dir", type=str, default=os.environ["SM_OUTPUT_DATA_DIR"])
    args, _ = parser.parse_known_args()
    with open("/opt/ml/input/config/hyperparameters.json") as fh:
        hps = json.load(fh)
    data = np.loadtxt(os.path.join(args.train, "train.csv"), delimiter=",")
    model = LogisticRegression(C=args.regularization, max_iter=100 * args.epochs)
    model.fit(data[:, :2], data[:, 2])
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    score = model.score(data[:, :2], data[:, 2])
    with open(os.path.join(args.output_data_dir, "metrics.json"), "w") as fh:
        json.dump({"accuracy": score}, fh)
    print("SM-RESULT:" + json.dumps({"epochs": args.epochs, "C": args.regularization, "hps": hps,
                                      "cwd": os.getcwd(), "accuracy": score}))
'''


def sm_plan(settings: Settings, script: str | None, **kw: Any) -> RunPlan:
    data = put_files(settings, "sm-data/train", {"train.csv": TRAIN_CSV})
    kw.setdefault("inputs", [ChannelPlan(name="train", url=data)])
    kw.setdefault("outputs", [output(settings, "model"), output(settings, "output")])
    return make_plan(settings, script, contract=Contract.SAGEMAKER, **kw)


@needs_bwrap
def test_a_script_mode_sklearn_script_runs_unchanged(settings: Settings) -> None:
    s = settings.model_copy(update={"sandbox": "bwrap"})
    plan = sm_plan(s, SKLEARN_SCRIPT, hyperparameters=[("epochs", "3"), ("regularization", "0.5")])
    job, state = run(s, plan, timeout=120)
    assert state.phase == "Completed", job.log
    seen = job.printed_json("SM-RESULT:")
    assert seen["epochs"] == 3 and seen["C"] == 0.5
    # Strings in the file, as SageMaker writes them; the command line as the toolkit builds it.
    assert seen["hps"] == {"epochs": "3", "regularization": "0.5"}
    assert seen["cwd"] == "/opt/ml/code" and seen["accuracy"] > 0.8
    assert "--epochs 3 --regularization 0.5" in job.log
    model, out = plan.outputs
    assert (obs_path(s, model.url) / "model.joblib").stat().st_size > 0
    assert json.loads((obs_path(s, out.url) / "metrics.json").read_text())["accuracy"] > 0.8


TRAIN_PROGRAM = r'''#!/usr/bin/env python
# A "bring your own container" program: everything from /opt/ml, no arguments.
import json, os, sys
prefix = "/opt/ml/"
with open(prefix + "input/config/hyperparameters.json") as fh:
    hps = json.load(fh)
with open(prefix + "input/config/inputdataconfig.json") as fh:
    channels = json.load(fh)
with open(prefix + "input/config/resourceconfig.json") as fh:
    resources = json.load(fh)
rows = open(prefix + "input/data/train/train.csv").read().split()
with open(prefix + "model/model.txt", "w") as fh:
    fh.write(f"rows={len(rows)} depth={hps['max_depth']}")
print("BYOC:" + json.dumps({"argv": sys.argv[1:], "channels": sorted(channels),
                             "host": resources["current_host"], "hps": hps}))
'''


@needs_bwrap
def test_a_bring_your_own_container_train_program_runs_unchanged(settings: Settings) -> None:
    s = settings.model_copy(update={"sandbox": "bwrap"})
    plan = sm_plan(s, None, files={"train": TRAIN_PROGRAM}, command="python /opt/ml/code/train",
                   hyperparameters=[("max_depth", "5")],
                   outputs=[output(s, "model")])
    job, state = run(s, plan)
    assert state.phase == "Completed", job.log
    seen = job.printed_json("BYOC:")
    assert seen == {"argv": [], "channels": ["train"], "host": "algo-1",
                    "hps": {"max_depth": "5"}}
    model_url = plan.outputs[0].url
    assert (obs_path(s, model_url) / "model.txt").read_text() == f"rows={64} depth=5"


TOOLKIT = r'''
import json, os
from sagemaker_training import environment
env = environment.Environment()
print("TOOLKIT:" + json.dumps({
    "vars": env.to_env_vars(), "user_args": env.to_cmd_args(),
    "channel_input_dirs": env.channel_input_dirs, "hyperparameters": env.hyperparameters,
    "model_dir": env.model_dir, "output_data_dir": env.output_data_dir,
}, default=str))
print("SEEN:" + json.dumps({k: v for k, v in os.environ.items() if k.startswith("SM_")}))
'''
AGREE = ("SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR", "SM_OUTPUT_DIR", "SM_INPUT_DIR",
         "SM_INPUT_CONFIG_DIR", "SM_OUTPUT_INTERMEDIATE_DIR", "SM_CHANNELS", "SM_CHANNEL_TRAIN",
         "SM_CHANNEL_EXTRA", "SM_HPS", "SM_HP_LR", "SM_HP_EPOCHS", "SM_HP_OPTIMIZER",
         "SM_HOSTS", "SM_CURRENT_HOST", "SM_USER_ARGS", "SM_MODULE_DIR", "SM_MODULE_NAME",
         "SM_USER_ENTRY_POINT", "SM_NUM_GPUS", "SM_NETWORK_INTERFACE_NAME",
         "SM_RESOURCE_CONFIG", "SM_INPUT_DATA_CONFIG", "SM_CURRENT_INSTANCE_TYPE")


@pytest.mark.parametrize("sandbox", [pytest.param("bwrap", marks=needs_bwrap), "none"])
def test_the_sagemaker_training_toolkit_reads_what_the_job_sees(settings: Settings,
                                                                 sandbox: str) -> None:
    pytest.importorskip("sagemaker_training", reason="pip install sagemaker-training (test "
                        "extra) to check against the real toolkit")
    s = settings.model_copy(update={"sandbox": sandbox})
    extra = put_files(s, "sm-data/extra", {"e.txt": "e"})
    plan = sm_plan(s, TOOLKIT, hyperparameters=[("lr", "0.01"), ("epochs", "2"),
                                                ("optimizer", "adam")],
                   inputs=[ChannelPlan(name="train", url=put_files(s, "sm-data/t", {"a": "1"})),
                           ChannelPlan(name="extra", url=extra)])
    job, state = run(s, plan, timeout=120)
    assert state.phase == "Completed", job.log
    toolkit = job.printed_json("TOOLKIT:")
    seen = job.printed_json("SEEN:")
    for name in AGREE:
        assert seen[name] == toolkit["vars"][name], name
    assert toolkit["user_args"] == ["--epochs", "2", "--lr", "0.01", "--optimizer", "adam"]
    assert toolkit["hyperparameters"] == {"lr": 0.01, "epochs": 2, "optimizer": "adam"}
    opt_ml = "/opt/ml" if sandbox == "bwrap" else str((job.job_dir / "opt-ml").resolve())
    assert toolkit["model_dir"] == f"{opt_ml}/model"
    assert toolkit["channel_input_dirs"] == {"train": f"{opt_ml}/input/data/train",
                                             "extra": f"{opt_ml}/input/data/extra"}


FAILING = r'''
import os, sys
open(os.path.join(os.environ["SM_MODEL_DIR"], "partial.txt"), "w").write("half")
if os.environ.get("SM_HP_OWN") == "1":
    with open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w") as fh:
        fh.write("learning rate too high: loss is nan")
    sys.exit(2)
raise ValueError("the data has no label column")
'''


@pytest.mark.parametrize("sandbox", [pytest.param("bwrap", marks=needs_bwrap), "none"])
def test_a_failure_is_written_to_opt_ml_output_failure(settings: Settings, sandbox: str) -> None:
    s = settings.model_copy(update={"sandbox": sandbox})
    plan = sm_plan(s, FAILING, outputs=[output(s, "model")])
    job, state = run(s, plan)
    assert state.phase == "Failed" and state.exit_code == 1
    failure = (job.job_dir / "opt-ml" / "output" / "failure").read_text()
    assert failure.startswith("Process exited with code 1")
    assert "ValueError: the data has no label column" in failure  # the log's last lines
    assert (obs_path(s, plan.outputs[0].url) / "partial.txt").read_text() == "half"

    own = sm_plan(s, FAILING, outputs=[output(s, "model")], hyperparameters=[("own", "1")])
    job, state = run(s, own)
    assert state.phase == "Failed" and state.exit_code == 2
    assert state.message == ("Process exited with code 2; /opt/ml/output/failure: "
                             "learning rate too high: loss is nan")
    assert no_traceback(job.log)
