"""The SageMaker training contract (``job_config.contract: sagemaker``): ``/opt/ml`` and ``SM_*``.

What a SageMaker training container sees, as the ``sagemaker-training`` toolkit defines it
(its ``environment.py`` and ``mapping.py``): the ``/opt/ml`` tree with
``input/config/{hyperparameters,inputdataconfig,resourceconfig}.json``,
``input/data/<channel>``, ``model``, ``output/data``, ``output/failure`` and ``code``; the
``SM_*`` variables the toolkit exports before it starts a script-mode entry point; and that
entry point's argument list (``--name value`` per hyperparameter, sorted by name). The
values are derived exactly as the toolkit derives them (JSON-decoded when they parse,
strings otherwise), so a script reading ``SM_HP_EPOCHS`` or parsing ``--epochs`` gets what it
would get on SageMaker.

Where SageMaker has no equivalent we chose (ours): the single host is ``algo-1``, the
instance type is the job's flavor, and the job's ModelArts variables stay set as well.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from modelyard.spec.contract import SAGEMAKER_OUTPUTS
from modelyard.spec.plan import RunPlan

OPT_ML = Path("/opt/ml")
HOST = "algo-1"
GROUP = "homogeneousCluster"
NETWORK_INTERFACE = "eth0"
FAILURE_LIMIT = 1024
"""SageMaker's ``FailureReason`` holds at most 1024 characters of ``/opt/ml/output/failure``."""


def input_dir(opt_ml: Path, name: str) -> Path:
    return opt_ml / "input" / "data" / name


def output_dir(opt_ml: Path, name: str) -> Path:
    """``model`` -> ``/opt/ml/model``, ``output`` -> ``/opt/ml/output/data``..."""
    return opt_ml / SAGEMAKER_OUTPUTS[name]


def code_dir(opt_ml: Path) -> Path:
    return opt_ml / "code"


def config_dir(opt_ml: Path) -> Path:
    return opt_ml / "input" / "config"


def failure_file(opt_ml: Path) -> Path:
    return opt_ml / "output" / "failure"


def create_tree(opt_ml: Path) -> None:
    """The folders of ``/opt/ml``; a restarted attempt's symlink in their place is replaced
    (the runtime later reads outputs from them and must not be led elsewhere)."""
    opt_ml.mkdir(parents=True, exist_ok=True)
    for parts in (("input", "config"), ("input", "data"), ("model",), ("output", "data"),
                  ("output", "intermediate"), ("code",)):
        os.close(_open_dir(opt_ml, parts))


def decode(value: str) -> Any:
    """A hyperparameter as the toolkit reads it from ``hyperparameters.json``: JSON when it
    parses (``"10"`` -> 10, ``"true"`` -> True), the string itself otherwise."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def _env_value(value: Any) -> str:
    """The toolkit's ``mapping.to_env_vars`` formatting: strings as they are, everything
    else compact sorted JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def hyperparameters(plan: RunPlan) -> dict[str, Any]:
    return {name: decode(value) for name, value in plan.hyperparameters}


def user_args(plan: RunPlan) -> list[str]:
    """The toolkit's ``mapping.to_cmd_args``: ``--name value`` sorted by name (``-x`` for a
    one-letter name)."""
    hps = hyperparameters(plan)
    out: list[str] = []
    for name in sorted(hps):
        out.append(f"--{name}" if len(name) > 1 else f"-{name}")
        value = hps[name]
        if isinstance(value, dict):
            out.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            out.append(str(value))
    return out


def resource_config(plan: RunPlan) -> dict[str, Any]:
    instance_type = plan.flavor_id or "local"
    return {
        "current_host": HOST,
        "current_instance_type": instance_type,
        "current_group_name": GROUP,
        "hosts": [HOST],
        "instance_groups": [{"instance_group_name": GROUP, "instance_type": instance_type,
                             "hosts": [HOST]}],
        "network_interface_name": NETWORK_INTERFACE,
    }


def input_data_config(channels: Iterable[str]) -> dict[str, dict[str, str]]:
    return {name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated",
                   "RecordWrapperType": "None"} for name in channels}


def write_config(plan: RunPlan, opt_ml: Path) -> None:
    """``/opt/ml/input/config``: hyperparameters with string values (as SageMaker writes
    them), the channels, and the cluster of one host."""
    files = {
        "hyperparameters.json": dict(plan.hyperparameters),
        "inputdataconfig.json": input_data_config(ch.name for ch in plan.inputs),
        "resourceconfig.json": resource_config(plan),
    }
    fd = _open_dir(opt_ml, ("input", "config"))
    try:
        for name, content in files.items():
            _replace(fd, name, json.dumps(content, indent=2) + "\n")
    finally:
        os.close(fd)


def environment(plan: RunPlan, opt_ml: Path, *, cpus: int, gpus: int) -> dict[str, str]:
    """The ``SM_*`` variables of ``Environment.to_env_vars()``, with the job's paths
    (``opt_ml`` as the job sees it); ``SAGEMAKER_PROGRAM`` and ``SAGEMAKER_SUBMIT_DIRECTORY``
    as a framework container has them; and ``SAGEMAKER_BASE_DIR`` so that the toolkit finds
    the tree when it is not at ``/opt/ml`` (no sandbox)."""
    hps = hyperparameters(plan)
    channels = {ch.name: str(input_dir(opt_ml, ch.name)) for ch in plan.inputs}
    entry = plan.boot_file
    module_name = entry[:-3] if entry and entry.endswith(".py") else entry
    values: dict[str, Any] = {
        "hosts": [HOST],
        "current_host": HOST,
        "current_instance_type": resource_config(plan)["current_instance_type"],
        "current_instance_group": GROUP,
        "current_instance_group_hosts": [HOST],
        "network_interface_name": NETWORK_INTERFACE,
        "hps": hps,
        "user_entry_point": entry,
        "module_name": module_name,
        "module_dir": str(code_dir(opt_ml)),
        "resource_config": resource_config(plan),
        "input_data_config": input_data_config(channels),
        "channels": sorted(channels),
        "model_dir": str(opt_ml / "model"),
        "output_data_dir": str(opt_ml / "output" / "data"),
        "output_dir": str(opt_ml / "output"),
        "output_intermediate_dir": str(opt_ml / "output" / "intermediate"),
        "input_dir": str(opt_ml / "input"),
        "input_config_dir": str(config_dir(opt_ml)),
        "num_cpus": cpus,
        "num_gpus": gpus,
        "num_neurons": 0,
        "user_args": user_args(plan),
        "log_level": 20,
        "framework_module": None,
        "is_hetero": False,
    }
    values["training_env"] = {
        **{k: v for k, v in values.items() if k not in ("user_args", "channels")},
        "channel_input_dirs": channels,
        "hyperparameters": hps,
        "job_name": plan.job_name,
        "is_master": True,
        "master_hostname": HOST,
    }
    values.update({f"channel_{name}": path for name, path in channels.items()})
    values.update({f"hp_{name}": value for name, value in hps.items()})
    env = {f"SM_{key.upper()}": _env_value(value) for key, value in values.items()}
    env["SAGEMAKER_BASE_DIR"] = str(opt_ml)
    env["SAGEMAKER_SUBMIT_DIRECTORY"] = str(code_dir(opt_ml))
    if entry:
        env["SAGEMAKER_PROGRAM"] = entry
    env["TRAINING_JOB_NAME"] = plan.job_name
    return env


def record_failure(opt_ml: Path, message: str, log_tail: str) -> str:
    """``/opt/ml/output/failure`` after a failed run. A failure the code wrote itself is
    kept and returned (it becomes the job's message, as it becomes SageMaker's
    ``FailureReason``); otherwise the runtime writes the message and the end of the log."""
    fd = _open_dir(opt_ml, ("output",))
    try:
        own = _read_regular(fd, "failure").strip()
        if own:
            return own[:FAILURE_LIMIT]
        _replace(fd, "failure", message + ("\n\n" + log_tail if log_tail else "") + "\n")
        return ""
    finally:
        os.close(fd)


# The tree is the job's to change (and a restarted attempt finds what the last one left):
# never follow a symlink or open a FIFO the job could have put there.
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


def _open_dir(root: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of ``root/parts...``; a component that is not a real folder (a
    symlink, a file) is removed and made again."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    try:
        for part in parts:
            try:
                sub = os.open(part, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                os.mkdir(part, dir_fd=fd)
                sub = os.open(part, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=fd)
            except (NotADirectoryError, OSError):
                os.unlink(part, dir_fd=fd)
                os.mkdir(part, dir_fd=fd)
                sub = os.open(part, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = sub
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_regular(dir_fd: int, name: str) -> str:
    """The text of a regular file (at most ``FAILURE_LIMIT`` x 4 bytes), or ''."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        return os.read(fd, FAILURE_LIMIT * 4).decode("utf-8", errors="replace")
    finally:
        os.close(fd)


def _replace(dir_fd: int, name: str, text: str) -> None:
    tmp = f".{name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=dir_fd)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
