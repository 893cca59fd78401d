"""The output uploader's rules, in-process: only new or changed files, never a file that a
process still has open for writing or that changed within the settle time, symlinks never
followed; the final sync takes everything."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from modelyard.runtime import outputs, procs
from modelyard.runtime.outputs import OutputChannel, OutputUploader
from modelyard.runtime.report import Reporter
from modelyard.runtime.state import JobFolder
from modelyard.settings import Settings

from .jobkit import obs_path


@pytest.fixture
def uploader(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
             ) -> OutputUploader:
    monkeypatch.setattr(outputs, "SETTLE_SECONDS", 0.3)
    local = tmp_path / "out"
    local.mkdir()
    folder = JobFolder(tmp_path / "job")
    folder.root.mkdir()
    reporter = Reporter(folder, tmp_path / "job.log")
    return OutputUploader([OutputChannel("train_url", "obs://bkt/o/", local)], settings,
                          reporter, period=1.0,
                          writers=lambda: procs.open_for_writing([os.getpid()]))


def test_only_settled_closed_new_or_changed_files_travel(
        uploader: OutputUploader, settings: Settings) -> None:
    local = uploader.channels[0].local
    remote = obs_path(settings, "obs://bkt/o/")
    (local / "sub").mkdir()
    (local / "sub" / "a.txt").write_text("a")
    assert uploader.sync(final=False).pending == 1  # too fresh
    time.sleep(0.35)
    with open(local / "open.bin", "wb") as fh:
        fh.write(b"partial")
        fh.flush()
        time.sleep(0.35)
        result = uploader.sync(final=False)
        assert (result.files, result.pending) == (1, 1)
        assert (remote / "sub" / "a.txt").read_text() == "a"
        assert not (remote / "open.bin").exists()
    time.sleep(0.35)
    assert uploader.sync(final=False).files == 1  # closed now
    assert uploader.sync(final=False).files == 0  # nothing changed
    (local / "sub" / "a.txt").write_text("changed")
    assert uploader.sync(final=True).files == 1  # final: no settle time
    assert (remote / "sub" / "a.txt").read_text() == "changed"


def test_symlinks_are_not_followed(uploader: OutputUploader, settings: Settings) -> None:
    local = uploader.channels[0].local
    (local / "passwd").symlink_to("/etc/passwd")
    assert uploader.sync(final=True).files == 0
    assert not (obs_path(settings, "obs://bkt/o/") / "passwd").exists()


def test_prefetched_files_are_not_uploaded_again_but_leftovers_are(
        uploader: OutputUploader, settings: Settings) -> None:
    remote = obs_path(settings, "obs://bkt/o/")
    remote.mkdir(parents=True)
    (remote / "old.ckpt").write_text("old")
    local = uploader.channels[0].local
    uploader.engine.download("obs://bkt/o/", local)
    (local / "leftover.ckpt").write_text("from an attempt that died before uploading")
    uploader.mark_present()
    assert uploader.sync(final=False).files == 0
    result = uploader.sync(final=True)
    assert result.files == 1 and (remote / "leftover.ckpt").exists()


def test_an_unreachable_store_is_an_error_not_an_exception(
        uploader: OutputUploader, settings: Settings) -> None:
    (settings.obs_root / "bkt").mkdir(parents=True)
    (settings.obs_root / "bkt" / "o").write_text("a file where the folder should be")
    (uploader.channels[0].local / "x.txt").write_text("x")
    result = uploader.sync(final=True)
    assert result.errors and "output 'train_url' to obs://bkt/o/" in result.errors[0]
