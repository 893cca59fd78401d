"""What the CLI tests share: one runner, a fresh CLI context per test (the CLI caches its
settings and backend per process; each test has its own home), and ``cli(...)``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard.cli import context
from modelyard.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def fresh_context(home: Path) -> Iterator[None]:
    """Autouse in every test module that imports it."""
    context.settings.cache_clear()
    context.backend.cache_clear()
    yield
    context.settings.cache_clear()
    context.backend.cache_clear()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output
