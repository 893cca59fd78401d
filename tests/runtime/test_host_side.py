"""Host-side helpers of the runtime that must not be turned against the host (issue 13):
the log's opener and the retry's clean-up."""

from __future__ import annotations

import os
from pathlib import Path

from modelyard.runtime.report import Reporter
from modelyard.runtime.runner import remove_tree
from modelyard.runtime.state import JobFolder


def test_the_log_is_never_written_through_a_symlink_or_a_fifo(tmp_path: Path) -> None:
    secret = tmp_path / "secret.key"
    secret.write_text("TOP-SECRET")
    folder = JobFolder(tmp_path / "job")
    log = folder.log_file("j1")
    assert log.parent == tmp_path / "job" / "logs"  # outside home/ and cache/
    log.parent.mkdir(parents=True)
    for plant in (lambda p: p.symlink_to(secret), os.mkfifo):
        plant(log)
        reporter = Reporter(folder, log)  # opens without blocking on the FIFO
        reporter.line("attempt 1")
        reporter.close()
        assert log.is_file() and not log.is_symlink()
        assert "attempt 1" in log.read_text()
        log.unlink()
    assert secret.read_text() == "TOP-SECRET"
    aside = sorted(p.name for p in log.parent.iterdir())
    assert len(aside) == 2 and all(".unsafe-" in name for name in aside)


def test_remove_tree_follows_no_symlink_and_unlocks_locked_folders(tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "keep.txt").write_text("keep")
    home = tmp_path / "job" / "home"
    (home / "modelarts" / "locked" / "deep").mkdir(parents=True)
    (home / "modelarts" / "locked" / "deep" / "f").write_text("x")
    (home / "modelarts" / "outputs").symlink_to(host, target_is_directory=True)
    (home / "link.txt").symlink_to(host / "keep.txt")
    (home / "modelarts" / "locked").chmod(0)
    remove_tree(home)
    assert not os.path.lexists(home)
    assert (host / "keep.txt").read_text() == "keep"
