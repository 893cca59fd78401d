"""The digits example as a user runs it: incremental training across two jobs (seed S7),
on the embedded store and through a real S3 endpoint (SeaweedFS)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelyard.settings import Settings

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "digits" / "incremental.py"


def run_incremental(*args: str) -> str:
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def check_resumed(out: str) -> None:
    first, second = out.split("incremental-second", 1)
    assert "loaded 899 samples from 1 files" in first and "epoch=5 " in first
    assert "resumed from checkpoint" not in first
    assert "loaded 1797 samples from 2 files" in second  # more data
    assert "resumed from checkpoint at epoch 5" in second
    assert "epoch=6 " in second and "epoch=10 " in second and "epoch=5 " not in second
    assert out.count("Completed") >= 2


def test_incremental_training_on_the_embedded_store(home: Path) -> None:
    check_resumed(run_incremental())


def test_incremental_training_through_s3(s3_settings: Settings, s3_bucket: str) -> None:
    out = run_incremental("--bucket", s3_bucket)
    check_resumed(out)
    assert f"obs://{s3_bucket}/digits-incremental/" in out
