"""Small builders shared by the spec tests: valid documents to break one rule at a time."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from modelyard.spec import SpecError

# Spec rules are pure functions: no deadline flakiness, and keep the whole suite fast.
quick = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_ANY = object()

PRESET_ENGINE = {"engine_name": "PyTorch", "engine_version": "pytorch_2.1.0-cuda_12.1-py_3.10"}


def algorithm_doc(**job_config: Any) -> dict[str, Any]:
    """A valid preset-engine algorithm; keyword arguments replace ``job_config`` fields
    (``None`` removes one)."""
    config: dict[str, Any] = {
        "code_dir": "obs://bkt/code/",
        "boot_file": "train.py",
        "engine": copy.deepcopy(PRESET_ENGINE),
    }
    for key, value in job_config.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return {"metadata": {"name": "algo"}, "job_config": config}


def param(name: str, value: Any = None, type_: str = "String", **constraint: Any) -> dict[str, Any]:
    """A hyperparameter definition (ModelArts ``parameters[]`` shape)."""
    out: dict[str, Any] = {"name": name, "constraint": {"type": type_, **constraint}}
    if value is not None:
        out["value"] = value
    return out


def binding(name: str, url: str = "obs://bkt/data/", **extra: Any) -> dict[str, Any]:
    """A job's channel binding (``inputs[]``/``outputs[]`` shape)."""
    return {"name": name, "remote": {"obs": {"obs_url": url}}, **extra}


def job_doc(**algorithm: Any) -> dict[str, Any]:
    """A training job referencing the stored algorithm ``algo``; keyword arguments are
    ``algorithm`` fields of the job."""
    return {"metadata": {"name": "job-1"}, "algorithm": {"id": "algo-id", **algorithm}}


def inline_job_doc(**algorithm: Any) -> dict[str, Any]:
    """A training job that defines its code inline (no stored algorithm)."""
    body: dict[str, Any] = {"code_dir": "obs://bkt/code/", "boot_file": "train.py"}
    body.update(algorithm)
    return {"metadata": {"name": "job-1"}, "algorithm": body}


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type (so 1 is not True); nan is the same as nan."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and bool(a == b)


def expect_error(
    call: Callable[[], object], field: str, value: Any = _ANY, *phrases: str
) -> SpecError:
    """Runs ``call``; asserts it raises a SpecError naming exactly ``field`` (and ``value``
    unless left out) whose rule contains every phrase. Returns the error."""
    with pytest.raises(SpecError) as info:
        call()
    err = info.value
    assert err.field == field, f"field {err.field!r} != {field!r} ({err.message})"
    if value is not _ANY:
        assert same(err.value, value), f"value {err.value!r} != {value!r} ({err.message})"
    for phrase in phrases:
        assert phrase in err.rule, f"{phrase!r} not in rule {err.rule!r}"
    assert err.message.startswith(f"{field}: "), err.message
    assert "is not allowed: " in err.message
    return err
