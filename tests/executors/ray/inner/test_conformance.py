"""RayExecutor passes the executor conformance suite, on a real two-node cluster."""

from __future__ import annotations

import pytest

from executors.conformance import ExecutorConformance
from modelyard.executors.base import Executor
from modelyard.executors.ray import RayExecutor
from modelyard.settings import Settings

pytestmark = pytest.mark.slow


class TestRayExecutorConformance(ExecutorConformance):
    @pytest.fixture
    def executor(self, settings: Settings) -> Executor:
        return RayExecutor(settings)
