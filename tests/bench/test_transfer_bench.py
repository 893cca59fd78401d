"""bench/transfer.py runs from a clone and reports what it claims to measure (tiny
workload, our tool only: the peers are not test dependencies)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "transfer.py"


def test_transfer_bench_runs_and_reports_medians(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--workloads", "files", "--files", "40", "--reps", "2",
         "--tools", "modelyard,s5cmd-that-is-not-asked-for", "--json", str(out),
         "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())
    data = results["workloads"]["40 files of 10-100 KB"]
    assert data["files"] == 40 and 40 * 10_000 <= data["bytes"] <= 40 * 100_000
    ours = data["medians"]["modelyard"]
    for op in ("upload", "download", "resync"):
        assert ours[op]["wall"] > 0 and ours[op]["cpu"] > 0
        # the engine's own time, from the CLI's --json report, is part of the wall time
        assert 0 < ours[op]["engine"] < ours[op]["wall"]
    assert len(data["runs"]["modelyard"]["upload"]) == 2
    assert "| 40 files of 10-100 KB | upload" in proc.stdout
    assert "re-sync unchanged" in proc.stdout
