"""quick_exit ends a process as a normal exit would, minus the interpreter's teardown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modelyard.quick_exit import exit_status

SCRIPT = """
import atexit, sys, threading, time
from pathlib import Path
from modelyard.quick_exit import quick_exit

def late_writer():
    time.sleep(0.3)
    Path(sys.argv[1]).write_text("written")

threading.Thread(target=late_writer).start()          # not a daemon: joined first
atexit.register(lambda: print("atexit ran"))
sys.stdout.write("buffered, not flushed yet; ")       # a pipe: block-buffered
quick_exit(3)
print("never printed")
"""


def test_threads_atexit_and_buffered_output_survive(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(marker)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "buffered, not flushed yet; atexit ran\n"
    assert marker.read_text() == "written"


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (2, 2), ("boom", 1)])
def test_exit_status_is_what_sys_exit_would_give(code: object, status: int,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_status(code) == status
    assert capsys.readouterr().err == ("boom\n" if code == "boom" else "")
