"""``modelyard storage cp`` as a user runs it: a progress bar on a terminal only, and a
summary line with the engine's own time, and with ``--json`` the whole report (what
``bench/transfer.py`` reads)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from modelyard.cli.main import main; main()"]
SUMMARY = re.compile(r"Copied 3 files \(30 bytes\), skipped 0 unchanged, in [0-9.]+ s")


@pytest.fixture
def src(tmp_path: Path, home: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    for i in range(3):
        (folder / f"f{i}.txt").write_text("x" * 10)
    return folder


def on_terminal(args: list[str]) -> str:
    """Runs the CLI with a pseudo-terminal (200 columns) as stdin/stdout/stderr; what it
    wrote, escape sequences included."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([*CLI, *args], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=120) == 0, b"".join(chunks)
    return b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_a_progress_bar(src: Path, tmp_path: Path) -> None:
    out = on_terminal(["storage", "cp", "-r", str(src), f"file://{tmp_path}/dst/"])
    assert f"{src} → file://{tmp_path}/dst/" in out  # the bar's description
    assert SUMMARY.search(out), out


def test_a_pipe_gets_only_the_summary(src: Path, tmp_path: Path) -> None:
    proc = subprocess.run([*CLI, "storage", "cp", "-r", str(src), f"file://{tmp_path}/dst/"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == SUMMARY.search(proc.stdout).group(0)  # type: ignore[union-attr]
    assert "→" not in proc.stdout + proc.stderr
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["f0.txt", "f1.txt", "f2.txt"]


def test_json_gives_the_whole_report(src: Path, tmp_path: Path) -> None:
    args = [*CLI, "storage", "cp", "-r", "--json", str(src), f"file://{tmp_path}/dst/"]
    first = json.loads(subprocess.run(args, capture_output=True, text=True, check=True,
                                      timeout=120).stdout)
    assert (first["files"], first["bytes"], first["skipped"], first["errors"]) == (3, 30, 0, [])
    assert first["seconds"] > 0
    again = json.loads(subprocess.run(args, capture_output=True, text=True, check=True,
                                      timeout=120).stdout)
    assert (again["files"], again["skipped"]) == (0, 3)


def test_the_command_keeps_its_exit_code_and_message(tmp_path: Path, home: Path) -> None:
    """``main`` ends with a quick exit; errors still end with status 2 and one line."""
    proc = subprocess.run([*CLI, "storage", "cp", str(tmp_path / "missing"),
                           f"file://{tmp_path}/dst/"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "does not exist" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
