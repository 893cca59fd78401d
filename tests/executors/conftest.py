"""Every test here that started a launcher for its home stops it again (launchers outlive
their caller by design; a test's must not outlive the test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.executors import launcher


@pytest.fixture(autouse=True)
def _stop_launchers(home: Path) -> Iterator[None]:
    yield
    launcher.shutdown(home)
