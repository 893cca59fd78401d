"""The inner suite's cluster (one for the whole session) and Ray settings for every test.
Outside the namespace (no FLAG) every test here is skipped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.settings import Settings

from .clusterkit import ADDRESS, FLAG, Cluster, enable_auth

if os.environ.get(FLAG):
    enable_auth()

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(FLAG):
        return
    skip = pytest.mark.skip(reason="runs only inside the Ray network namespace: "
                            "tests/executors/ray/test_on_a_cluster.py")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    root = Path(os.environ[FLAG]) / "c"
    root.mkdir(parents=True, exist_ok=True)
    running = Cluster(root)
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def settings(home: Path, cluster: Cluster) -> Settings:
    """Jobs go to the cluster; flavors up to 4 CPU / 4 GB (one node has 2 CPU / 2 GB)."""
    return Settings(home=home, upload_period=1.0, stop_grace_period=3.0, executor="ray",
                    ray_address=ADDRESS, node_cpus=4, node_memory_gb=4.0)
