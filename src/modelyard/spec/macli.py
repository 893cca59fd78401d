"""Job files of ModelArts' ``ma-cli ma-job submit``, turned into a ModelArts v2 job body.

``ma-cli ma-job submit job.yaml`` takes a YAML file whose keys are the command's options
(``code-dir``, ``boot-file``, ``framework-type``, ``framework-version``, ``data-url``,
``train-instance-type``...). ``modelyard job submit -f job.yaml`` accepts the same file: this
module maps it onto the v2 ``/training-jobs`` body, which then meets every rule of a job
written in that shape. Keys that choose where a job runs on Huawei Cloud (``pool-id``,
``workspace-id``, ``policy``) mean nothing here and are ignored with a note; a key that is
not an option of ``ma-cli ma-job submit`` is an error naming it.
"""

from __future__ import annotations

import shlex
import time
from typing import Any

from modelyard.spec.errors import SpecError

OPTIONS = {
    "name", "description", "image-url", "uid", "working-dir", "local-code-dir", "user-command",
    "pool-id", "train-instance-type", "train-instance-count", "data-url", "log-url", "code-dir",
    "output", "input", "env-variables", "envs", "parameters", "hyperparameters", "boot-file",
    "framework-type", "framework-version", "workspace-id", "policy", "volumes", "quiet",
}
IGNORED = ("pool-id", "workspace-id", "policy", "quiet")
"""Where and how a job is scheduled on Huawei Cloud: nothing to choose here."""
_MA_USER_UID = 1000


def is_ma_cli_document(data: dict[str, Any]) -> bool:
    """A ``ma-cli`` job file has option keys (``code-dir``...), a v2 body has ``algorithm``."""
    return "algorithm" not in data and "metadata" not in data and any(
        key in data for key in ("code-dir", "boot-file", "user-command", "image-url",
                                "framework-type", "data-url", "train-instance-type"))


def from_ma_cli(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The v2 job body for a ``ma-cli`` job file, and notes about what was ignored."""
    unknown = sorted(str(k) for k in data if k not in OPTIONS)
    if unknown:
        raise SpecError(unknown[0], data.get(unknown[0]),
                        "not an option of ma-cli ma-job submit (known: "
                        + ", ".join(sorted(OPTIONS)) + ")")
    notes = [f"{key}: ignored (it chooses where the job runs on Huawei Cloud)"
             for key in IGNORED if data.get(key) not in (None, "", False)]
    _refuse(data)
    algorithm: dict[str, Any] = {
        "code_dir": _text(data, "code-dir"),
        "boot_file": _text(data, "boot-file"),
        "command": _text(data, "user-command"),
        "working_dir": _text(data, "working-dir"),
        "parameters": _parameters(data),
        "inputs": _channels(data, "input"),
        "outputs": _channels(data, "output"),
        "environments": _environments(data),
    }
    engine = _engine(data)
    if engine:
        algorithm["engine"] = engine
    data_url = _text(data, "data-url")
    if data_url:
        if any(c["name"] == "data_url" for c in algorithm["inputs"]):
            raise SpecError("data-url", data_url, "data-url is the input named data_url, "
                            "which 'input' already binds: give it once")
        algorithm["inputs"].insert(0, _binding("data_url", data_url))
    resource: dict[str, Any] = {"node_count": _count(data)}
    if data.get("train-instance-type") is not None:
        resource["flavor_id"] = _text(data, "train-instance-type")
    spec: dict[str, Any] = {"resource": resource}
    log_url = _text(data, "log-url")
    if log_url:
        spec["log_export_path"] = {"obs_url": log_url}
        notes.append("log-url: the job's log is kept with the job (modelyard job logs); it is "
                     "not copied to log-url")
    metadata: dict[str, Any] = {
        "name": _text(data, "name") or f"job-{time.strftime('%Y%m%d-%H%M%S')}",
    }
    if data.get("description") is not None:
        metadata["description"] = _text(data, "description")
    body = {"kind": "job", "metadata": metadata,
            "algorithm": {k: v for k, v in algorithm.items() if v not in (None, [], {})},
            "spec": spec}
    return body, notes


def _refuse(data: dict[str, Any]) -> None:
    if data.get("local-code-dir") not in (None, ""):
        raise SpecError("local-code-dir", data["local-code-dir"],
                        "uploading a local code folder is not done by job submit: copy it to "
                        "the code-dir location first (modelyard storage cp -r DIR URL)")
    if data.get("volumes") not in (None, [], ""):
        raise SpecError("volumes", data["volumes"], "ma-cli volumes are not supported in job "
                        "files; use spec.volumes of a v2 job (modelyard fs mounts)")
    uid = data.get("uid")
    if uid not in (None, "") and str(uid) != str(_MA_USER_UID):
        raise SpecError("uid", uid, "jobs run as ma-user, uid 1000 (docs/contract.md)")


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SpecError(key, value, "must be a single value")
    return str(value)


def _count(data: dict[str, Any]) -> int:
    value = data.get("train-instance-count", 1)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise SpecError("train-instance-count", value, "must be a whole number of workers")
    return int(value)


def _engine(data: dict[str, Any]) -> dict[str, str]:
    engine = {"engine_name": _text(data, "framework-type"),
              "engine_version": _text(data, "framework-version"),
              "image_url": _text(data, "image-url")}
    return {k: v for k, v in engine.items() if v}


def _pairs(data: dict[str, Any], key: str) -> list[tuple[str, Any]]:
    """``ma-cli`` writes name/value lists as a list of one-key mappings (``- epochs: 10``);
    a mapping, or ``name=value`` strings, are accepted too."""
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if not isinstance(value, list):
        raise SpecError(key, value, "is a list of 'name: value' entries")
    out: list[tuple[str, Any]] = []
    for i, item in enumerate(value):
        if isinstance(item, dict) and len(item) == 1:
            (name, v), = item.items()
            out.append((str(name), v))
        elif isinstance(item, str) and "=" in item:
            name, _, v = item.partition("=")
            out.append((name.strip().removeprefix("--"), v))
        else:
            raise SpecError(f"{key}[{i}]", item, "is one 'name: value' entry")
    return out


def _parameters(data: dict[str, Any]) -> list[dict[str, Any]]:
    if "parameters" in data and "hyperparameters" in data:
        raise SpecError("hyperparameters", data["hyperparameters"],
                        "give parameters or hyperparameters, not both")
    key = "hyperparameters" if "hyperparameters" in data else "parameters"
    if isinstance(data.get(key), str):  # the command line's form: "--epochs=10 --lr 0.1"
        return _keyword_arguments(key, data[key])
    return [{"name": name, "value": value} for name, value in _pairs(data, key)
            if value is not None]


def _keyword_arguments(key: str, text: str) -> list[dict[str, Any]]:
    tokens = shlex.split(text)
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--") or len(token) < 3:
            raise SpecError(key, text, f"only keyword parameters (--name=value) are "
                            f"supported; {token!r} is not one")
        name, eq, value = token[2:].partition("=")
        if not eq and i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
            value, i = tokens[i + 1], i + 1
        out.append({"name": name, "value": value})
        i += 1
    return out


def _environments(data: dict[str, Any]) -> dict[str, str]:
    if "env-variables" in data and "envs" in data:
        raise SpecError("envs", data["envs"], "give env-variables or envs, not both")
    key = "envs" if "envs" in data else "env-variables"
    return {name: "" if value is None else str(value) for name, value in _pairs(data, key)}


def _binding(name: str, url: str) -> dict[str, Any]:
    return {"name": name, "remote": {"obs": {"obs_url": url}}}


def _channels(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """``input``/``output``: ``- name: data_url`` + ``path: obs://...`` (``local_dir`` is
    ignored: the contract decides where channels land)."""
    value = data.get(key)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("name") or not (
                item.get("path") or item.get("obs_url")):
            raise SpecError(f"{key}[{i}]", item, "is a mapping with name and path "
                            "(name: data_url, path: obs://bucket/dir/)")
        out.append(_binding(str(item["name"]), str(item.get("path") or item["obs_url"])))
    return out
