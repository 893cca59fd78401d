"""A publisher project ``pub`` with a small algorithm in the embedded store, and a
subscriber project ``sub`` (the fixtures of fixtures.jobs: a real service, real runtimes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fixtures.jobs import algorithm_for
from modelyard.service import Service

PUB, SUB = "pub", "sub"

TRAIN = """
import argparse, os, time
p = argparse.ArgumentParser()
p.add_argument("--train_url")
p.add_argument("--lr", type=float)
p.add_argument("--sleep", type=float, default=0)
a, _ = p.parse_known_args()
time.sleep(a.sleep)
open(os.path.join(a.train_url, "model.txt"), "w").write(f"{VERSION} lr={a.lr}")
print(f"code {VERSION} score={1 - abs(a.lr - 0.3):.4f}", flush=True)
"""

PARAMS = [
    {"name": "lr", "value": 0.1, "constraint": {"type": "Float", "valid_type": "Range",
                                               "valid_range": [0, 1]}},
    {"name": "sleep", "value": 0, "constraint": {"type": "Float"}},
    {"name": "seed", "value": 7, "constraint": {"type": "Integer", "editable": False}},
]


def train_py(version: str) -> str:
    return f"VERSION = {version!r}\n" + TRAIN


@pytest.fixture
def published(service: Service, code: Callable[[str, str], str]) -> dict[str, Any]:
    """``algo`` of project ``pub``, published once; its code says ``v1``."""
    url = code("algo", train_py("v1"))
    service.algorithms.create(PUB, algorithm_for(url, "algo", parameters=PARAMS))
    return service.gallery.publish(PUB, {"algorithm": {"id": "algo"},
                                         "content_info": {"desc": "first release"}})


@pytest.fixture
def subscription(service: Service, published: dict[str, Any]) -> dict[str, Any]:
    return service.gallery.subscribe(SUB, {"content_id": published["content_id"]})


def sub_job(subscription: dict[str, Any], version_id: str, out: str, name: str = "job",
            **algorithm: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "algorithm": {
            "subscription_id": subscription["subscription_id"],
            "item_version_id": version_id,
            "outputs": [{"name": "train_url", "remote": {"obs": {"obs_url": out}}}],
            **algorithm,
        },
    }
