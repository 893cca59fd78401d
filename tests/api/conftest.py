"""An in-process app per test (TestClient), over the isolated home of fixtures.home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelyard.api import create_app
from modelyard.service.app import Service
from modelyard.settings import Settings


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """Single-user local mode, whatever keys the developer's environment holds."""
    settings = settings.model_copy(update={"api_keys": None, "api_keys_file": None})
    service = Service(settings)
    with TestClient(create_app(settings, service), base_url="http://127.0.0.1") as client:
        yield client
    service.close()


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    from fixtures.server import write_code

    return write_code(tmp_path / "algo")

