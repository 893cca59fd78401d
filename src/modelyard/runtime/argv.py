"""docs/contract.md "Arguments" and "Environment variables": the one place that knows them.

Everything a job's process receives from the platform (argv, environment, working
directory) is computed here from the plan and the layout, as plain data, so that tests can
compare it with the contract without starting anything.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modelyard.runtime import sagemaker
from modelyard.runtime.jobside import LOCATIONS_VAR
from modelyard.runtime.layout import Layout
from modelyard.spec.algorithm import Mode
from modelyard.spec.channels import AccessMethod
from modelyard.spec.contract import Contract
from modelyard.spec.plan import RunPlan

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Passed through from the runtime's own environment: locale, time zone and proxies only.
# Nothing else (in particular no MODELYARD_* or AWS_* credentials) reaches user code.
PASS_THROUGH = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "http_proxy", "https_proxy", "no_proxy",
                "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
DEFAULT_MASTER_PORT = 29500
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
"""Set to the flavor's cores (unless the user set them): numeric libraries otherwise start
one thread per host core and a 2-core job on a 64-core node thrashes (issue 5, ours)."""


@dataclass(frozen=True)
class TaskInfo:
    """Which task of the job this is, and where its peers are."""

    index: int = 0
    hosts: tuple[str, ...] = ()
    current_ip: str = "127.0.0.1"
    num_gpus: int = 0
    master_port: int = DEFAULT_MASTER_PORT
    names: tuple[str, ...] = ()
    """The workers' names, in task order (a multi-node task: they resolve in its sandbox);
    without them ``VC_WORKER_HOSTS`` lists ``hosts``."""


def vj_name(job_id: str) -> str:
    """``MA_VJ_NAME``: ModelArts' name of the job's group of workers."""
    return f"modelarts-job-{job_id}"


def worker_name(job_id: str, index: int) -> str:
    """``modelarts-job-<id>-worker-<i>``, as ModelArts names a job's nodes (a hostname: at
    most 63 characters)."""
    return f"{vj_name(job_id)}-worker-{index}"[:63]


@dataclass(frozen=True)
class Extras:
    """What the runtime learns while staging, and the job's library folder."""

    input_files: Mapping[str, str] = field(default_factory=dict)
    """Inputs bound to one object: channel name -> the file's name in the input folder.
    The code then receives the file's path, not its folder (docs/contract.md)."""
    pylib: Path | None = None
    """The folder holding ``moxing`` as the job sees it (last on ``PYTHONPATH``)."""


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    shell: bool = False
    """True for command mode (argv already starts with /bin/sh)."""


def hp_env_name(name: str) -> str:
    """``MA_HP_<NAME>`` (ours): upper case, characters not allowed in a variable name
    (the ``-`` of S3.3 names) become ``_``."""
    return "MA_HP_" + re.sub(r"[^A-Za-z0-9_]", "_", name).upper()


def input_path(layout: Layout, name: str, extras: Extras) -> Path:
    """Where the code finds input ``name``: its folder, or the file for an input bound to
    one object (ModelArts contract only; SageMaker always hands over the folder)."""
    folder = layout.job.input_dir(name)
    file = extras.input_files.get(name)
    return folder / file if file and layout.job.opt_ml is None else folder


def tokens(plan: RunPlan, layout: Layout, extras: Extras | None = None) -> list[str]:
    """``--name=value`` per hyperparameter, then per input, then per output whose access
    method is ``parameter`` (order: ours). Under the SageMaker contract: the toolkit's
    ``--name value`` per hyperparameter, sorted, and no channels (they are ``SM_CHANNEL_*``)."""
    extras = extras or Extras()
    if plan.contract is Contract.SAGEMAKER:
        return sagemaker.user_args(plan)
    out = [f"--{name}={value}" for name, value in plan.hyperparameters]
    for ch in plan.inputs:
        if ch.access_method == AccessMethod.PARAMETER:
            out.append(f"--{ch.name}={input_path(layout, ch.name, extras)}")
    for ch in plan.outputs:
        if ch.access_method == AccessMethod.PARAMETER:
            out.append(f"--{ch.name}={layout.job.output_dir(ch.name)}")
    return out


def build_launch(plan: RunPlan, layout: Layout, *, python: str, code_name: str | None,
                 layer: Path | None = None, task: TaskInfo | None = None,
                 base_env: Mapping[str, str] | None = None,
                 extras: Extras | None = None,
                 image_env: Sequence[str] | None = None) -> Launch:
    """The process to start for ``plan``. ``python`` and ``layer`` are paths as the job sees
    them; ``code_name`` is the folder under ``MA_JOB_DIR`` holding the code (None without a
    code directory)."""
    task = task or TaskInfo()
    extras = extras or Extras()
    env = build_env(plan, layout, python=python, layer=layer, task=task,
                    base_env=os.environ if base_env is None else base_env, extras=extras,
                    image_env=image_env)
    sm = plan.contract is Contract.SAGEMAKER
    default_cwd = layout.job.code_dir("") if sm and code_name is not None else layout.job.home
    cwd = layout.translate(plan.working_dir) if plan.working_dir else str(default_cwd)
    args = tokens(plan, layout, extras)
    boot_mode = plan.mode in (Mode.PRESET, Mode.PRESET_CUSTOM_IMAGE) or not plan.command
    if plan.boot_file and code_name is not None and boot_mode:
        boot = layout.job.code_dir(code_name) / plan.boot_file
        return Launch([python, str(boot), *args], env, cwd)
    if plan.command and sm:
        # SageMaker starts a container's program with no arguments ("docker run IMAGE
        # train"); it reads /opt/ml/input/config/hyperparameters.json instead.
        return Launch(["/bin/sh", "-c", plan.command], env, cwd, shell=True)
    if plan.command:
        # The tokens become the shell's positional parameters: never part of the string.
        return Launch(["/bin/sh", "-c", plan.command + ' "$@"', "sh", *args], env, cwd,
                      shell=True)
    raise ValueError("a run plan needs a boot file or a command")


def mox_locations(plan: RunPlan, layout: Layout, extras: Extras) -> str:
    """``MA_MOX_LOCATIONS``: each bound location and its local path, for ``moxing``."""
    items = [{"url": ch.url, "path": str(input_path(layout, ch.name, extras)),
              "kind": "input", "file": ch.name in extras.input_files} for ch in plan.inputs]
    items += [{"url": ch.url, "path": str(layout.job.output_dir(ch.name)), "kind": "output",
               "file": False} for ch in plan.outputs]
    return json.dumps(items, separators=(",", ":"))


def image_variables(image_env: Sequence[str]) -> dict[str, str]:
    """An image config's ``Env`` (``NAME=value`` strings) as a mapping."""
    out = {}
    for item in image_env:
        name, sep, value = item.partition("=")
        if sep and name:
            out[name] = value
    return out


def conda_env_bin(env: Mapping[str, str]) -> str | None:
    """Seed S2.6 (1): ``ANACONDA_DIR`` and ``DEFAULT_CONDA_ENV_NAME`` select the conda env
    whose ``python`` a job gets (a job is not a login shell, so ``conda activate`` cannot)."""
    root, name = env.get("ANACONDA_DIR"), env.get("DEFAULT_CONDA_ENV_NAME")
    if not root or not name or "/" in name or name in (".", ".."):
        return None
    return f"{root.rstrip('/')}/envs/{name}/bin"


def build_env(plan: RunPlan, layout: Layout, *, python: str, layer: Path | None,
              task: TaskInfo, base_env: Mapping[str, str],
              extras: Extras | None = None,
              image_env: Sequence[str] | None = None) -> dict[str, str]:
    """The job's environment. In an image (docs/contract.md "Images"): the image's Env first,
    then the platform's variables, then the user's; PATH starts from the image's."""
    extras = extras or Extras()
    job = layout.job
    image = image_variables(image_env) if image_env is not None else None
    env = dict(image or {})
    env.update({k: base_env[k] for k in PASS_THROUGH if k in base_env})
    env.setdefault("LANG", "C.UTF-8")
    if image is not None:
        path = [image.get("PATH") or SYSTEM_PATH]
    else:
        path = [str(Path(python).parent), SYSTEM_PATH]
    if layer is not None:
        path.insert(0, str(layer / "bin"))
    env["PATH"] = ":".join(path)
    user = dict(plan.environments)
    user_pythonpath = user.pop("PYTHONPATH", "")
    env.update(user)
    if plan.cpus:
        for var in THREAD_VARS:
            env.setdefault(var, str(plan.cpus))

    hosts = task.hosts or (task.current_ip,)
    env.update({
        "HOME": str(job.home),
        "MA_HOME": str(job.home),
        "MA_JOB_DIR": str(job.job_dir),
        "MA_MOUNT_PATH": str(job.mount_path),
        "MA_LOG_DIR": str(job.log_dir),
        "MA_CURRENT_IP": task.current_ip,
        "MA_NUM_GPUS": str(task.num_gpus),
        "MA_NUM_HOSTS": str(plan.node_count),
        "MA_TASK_NAME": "worker",
        "MA_CURRENT_INSTANCE_NAME": worker_name(plan.job_id, task.index),
        "MA_VJ_NAME": vj_name(plan.job_id),
        "VC_TASK_INDEX": str(task.index),
        "VC_WORKER_NUM": str(plan.node_count),
        "VC_WORKER_HOSTS": ",".join(task.names or hosts),
        "PYTHONUNBUFFERED": "1",
    })
    pythonpath = [str(job.job_dir)]
    if job.opt_ml is not None:
        pythonpath.insert(0, str(job.code_dir("")))
    if layer is not None:
        pythonpath.append(str(layer))
    if user_pythonpath:
        pythonpath.append(user_pythonpath)
    if extras.pylib is not None:
        pythonpath.append(str(extras.pylib))
    env["PYTHONPATH"] = ":".join(pythonpath)
    image_engine = plan.engine_plan is not None and plan.engine_plan.kind == "image"
    if plan.mode == Mode.PRESET_CUSTOM_IMAGE or image_engine:  # seed S2.4 (a catalog image
        # engine is a preset engine's image: the same conda layout)
        env["PATH"] = f"{job.home}/anaconda/bin:{env['PATH']}"
        ld = env.get("LD_LIBRARY_PATH", "")
        env["LD_LIBRARY_PATH"] = f"{job.home}/anaconda/lib" + (f":{ld}" if ld else "")
    conda_env = conda_env_bin(env)
    if conda_env is not None:  # seed S2.6 (1): the image (or user) chose a conda env
        env["PATH"] = f"{conda_env}:{env['PATH']}"
    if plan.node_count > 1:  # the torch launcher's variables (ours): one rank per node
        env.update({"MASTER_ADDR": hosts[0], "MASTER_PORT": str(task.master_port),
                    "NNODES": str(plan.node_count), "NODE_RANK": str(task.index),
                    "WORLD_SIZE": str(plan.node_count), "RANK": str(task.index)})
    for name, value in plan.hyperparameters:
        env[hp_env_name(name)] = value
    env[LOCATIONS_VAR] = mox_locations(plan, layout, extras)
    if job.opt_ml is not None:
        env.update(sagemaker.environment(plan, job.opt_ml, cpus=plan.cpus or os.cpu_count() or 1,
                                         gpus=task.num_gpus))
        return env
    for ch in plan.inputs:
        if ch.access_method == AccessMethod.ENV:
            env[ch.name] = str(input_path(layout, ch.name, extras))
    for ch in plan.outputs:
        if ch.access_method == AccessMethod.ENV:
            env[ch.name] = str(job.output_dir(ch.name))
    return env
