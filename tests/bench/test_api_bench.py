"""bench/api.py runs from a clone and prints every row it claims, floor beside ours (tiny
workload: 200 jobs, 0.3 s per cell; the figures themselves are the README's)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "api.py"


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pins server and load apart")
def test_api_bench_runs_and_reports_floor_and_ours() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--rows", "200", "--seconds", "0.3", "--repeats", "1"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for title in ("GET one job, 1 client", "GET one job, 4 clients",
                  "list a page of 50, 1 client", "list a page of 50, 4 clients"):
        assert title in out
    rows = re.findall(r"^  (floor|ModelYard)\b.*?(\d+) req/s\s+p50\s+([\d.]+) ms", out, re.M)
    assert [r[0] for r in rows] == ["floor", "ModelYard"] * 4, out
    assert all(int(r[1]) > 0 and float(r[2]) > 0 for r in rows), out
