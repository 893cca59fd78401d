"""The dataset example as a user runs it from the README (issue 18): digits as PNGs, one
folder per label, imported, published with a 0.8 split, trained by a job reading the
manifest."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "datasets" / "demo.py"


def test_digits_from_a_dataset_version(home: Path) -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "1797 sample(s)" in out and "(1797 annotated)" in out
    assert "1438 train, 359 eval" in out
    assert "Input data_url: dataset manifest digits-" in out
    accuracy = float(re.search(r"eval_accuracy=([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    assert accuracy > 0.9 and "Completed" in out
