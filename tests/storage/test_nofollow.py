"""The no-follow primitives (storage/nofollow.py) and the transfer engine built on them: what
a job can plant in a folder the host later reads or writes is never followed or opened."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.runtime.state import read_log
from modelyard.settings import Settings
from modelyard.storage import TransferEngine, TransferError
from modelyard.storage.nofollow import (
    Skipped,
    UnsafePath,
    make_dirs,
    open_dir,
    open_file,
    open_regular,
    opened_dir,
    walk_files,
)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A host file a job would like to read or overwrite."""
    path = tmp_path / "host" / "secret.key"
    path.parent.mkdir()
    path.write_text("TOP-SECRET")
    return path


@pytest.fixture
def planted(tmp_path: Path, secret: Path) -> Iterator[Path]:
    """An output folder as a hostile job leaves it: regular files, a symlink to a host
    file, a symlink to a host folder, a FIFO and a unix socket."""
    out = tmp_path / "home" / "outputs" / "train_url_0"
    (out / "sub").mkdir(parents=True)
    (out / "model.pt").write_bytes(b"weights")
    (out / "sub" / "step1.ckpt").write_bytes(b"ckpt")
    (out / "leak.key").symlink_to(secret)
    (out / "hostdir").symlink_to(secret.parent, target_is_directory=True)
    os.mkfifo(out / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(out / "sock"))
    yield out
    sock.close()


def test_walk_yields_regular_files_and_reports_the_rest(planted: Path) -> None:
    skipped: list[Skipped] = []
    with opened_dir(planted) as fd:
        files = [(rel, st.st_size) for rel, st in walk_files(fd, skipped=skipped)]
    assert files == [("model.pt", 7), ("sub/step1.ckpt", 4)]
    assert sorted((s.rel, s.kind) for s in skipped) == [
        ("hostdir", "symlink"), ("leak.key", "symlink"), ("pipe", "fifo"),
        ("sock", "socket")]


def test_open_dir_beneath_refuses_a_symlinked_component(tmp_path: Path, secret: Path
                                                        ) -> None:
    home = tmp_path / "job" / "home"
    (home / "modelarts").mkdir(parents=True)
    (home / "modelarts" / "outputs").symlink_to(secret.parent, target_is_directory=True)
    with pytest.raises(UnsafePath):
        open_dir(home / "modelarts" / "outputs", beneath=home)
    with pytest.raises(UnsafePath, match="not inside"):
        open_dir(secret.parent, beneath=home)
    # Without ``beneath`` a path a person typed is followed, like any tool follows it.
    fd = open_dir(home / "modelarts" / "outputs")
    os.close(fd)


def test_open_file_refuses_symlinks_and_fifos_without_blocking(planted: Path) -> None:
    with opened_dir(planted) as fd:
        os.close(open_file(fd, "sub/step1.ckpt"))
        for name in ("leak.key", "pipe", "sock", "hostdir/secret.key"):
            with pytest.raises(OSError):  # UnsafePath, or ENXIO for the socket
                os.close(open_file(fd, name))
        with pytest.raises(UnsafePath, match=r"'\.\.'"):
            open_file(fd, "../../host/secret.key")


def test_make_dirs_creates_folders_but_never_through_a_symlink(tmp_path: Path,
                                                              secret: Path) -> None:
    root = tmp_path / "fs"
    root.mkdir()
    (root / "data").symlink_to(secret.parent, target_is_directory=True)
    with opened_dir(root) as fd:
        os.close(make_dirs(fd, "a/b/c"))
        with pytest.raises(UnsafePath):
            make_dirs(fd, "data/new")
    assert (root / "a" / "b" / "c").is_dir()
    assert sorted(p.name for p in secret.parent.iterdir()) == ["secret.key"]


def test_open_regular_refuses_a_symlink_and_a_fifo_for_reading_and_appending(
        tmp_path: Path, secret: Path) -> None:
    link = tmp_path / "job.log"
    link.symlink_to(secret)
    fifo = tmp_path / "fifo.log"
    os.mkfifo(fifo)
    for path in (link, fifo):
        for flags in (os.O_RDONLY, os.O_WRONLY | os.O_APPEND | os.O_CREAT):
            with pytest.raises(UnsafePath):
                open_regular(path, flags)
    assert secret.read_text() == "TOP-SECRET"


def test_read_log_reads_a_regular_log_and_nothing_else(tmp_path: Path, secret: Path) -> None:
    log = tmp_path / "modelarts-job-x-worker-0.log"
    log.write_bytes(b"line 1\nline 2\n")
    assert read_log(log) == (b"line 1\nline 2\n", 14)
    assert read_log(log, start=7) == (b"line 2\n", 14)
    assert read_log(log, None, limit=7) == (b"line 2\n", 14)  # the tail
    assert read_log(tmp_path / "missing.log") == (b"", 0)
    log.unlink()
    log.symlink_to(secret)
    assert read_log(log) == (b"", 0)
    log.unlink()
    os.mkfifo(log)
    assert read_log(log) == (b"", 0)  # returns at once: no writer needed


# ------------------------------------------------------- the transfer engine on top
def _engine(tmp_path: Path) -> TransferEngine:
    return TransferEngine(Settings(home=tmp_path / "myhome"))


def _bucket(tmp_path: Path) -> Path:
    return tmp_path / "myhome" / "obs" / "bkt" / "out"


def test_upload_skips_every_symlink_and_special_file(tmp_path: Path, planted: Path) -> None:
    skipped: list[Skipped] = []
    report = _engine(tmp_path).upload(planted, "obs://bkt/out/", beneath=tmp_path / "home",
                                      skipped=skipped)
    assert report.files == 2
    stored = sorted(p.relative_to(_bucket(tmp_path)).as_posix()
                    for p in _bucket(tmp_path).rglob("*") if p.is_file())
    assert stored == ["model.pt", "sub/step1.ckpt"]
    assert {s.rel for s in skipped} == {"hostdir", "leak.key", "pipe", "sock"}


def test_upload_of_an_output_folder_replaced_by_a_symlink_sends_nothing(
        tmp_path: Path, secret: Path) -> None:
    home = tmp_path / "home"
    (home / "outputs").mkdir(parents=True)
    (home / "outputs" / "train_url_0").symlink_to(secret.parent, target_is_directory=True)
    with pytest.raises(UnsafePath):
        _engine(tmp_path).upload(home / "outputs" / "train_url_0", "obs://bkt/out/",
                                 beneath=home)
    (home / "outputs" / "train_url_0").unlink()
    (home / "outputs" / "train_url_0").mkdir()
    os.rename(home / "outputs", home / "real")
    (home / "outputs").symlink_to(home / "real")  # a component above the folder, too
    with pytest.raises(UnsafePath):
        _engine(tmp_path).upload(home / "outputs" / "train_url_0", "obs://bkt/out/",
                                 beneath=home)
    assert not _bucket(tmp_path).exists()


def test_download_never_writes_through_a_planted_folder_symlink(tmp_path: Path,
                                                               secret: Path) -> None:
    source = tmp_path / "myhome" / "obs" / "bkt" / "data"
    (source / "sub").mkdir(parents=True)
    (source / "ok.txt").write_text("fine")
    (source / "sub" / "secret.key").write_text("OVERWRITTEN")
    fs = tmp_path / "fs"
    (fs / "data").mkdir(parents=True)
    (fs / "data" / "sub").symlink_to(secret.parent, target_is_directory=True)
    with pytest.raises(TransferError, match="symlink"):
        _engine(tmp_path).download("obs://bkt/data/", fs / "data", beneath=fs)
    assert secret.read_text() == "TOP-SECRET"
    assert (fs / "data" / "ok.txt").read_text() == "fine"


def test_download_replaces_a_planted_file_symlink_instead_of_writing_through_it(
        tmp_path: Path, secret: Path) -> None:
    source = tmp_path / "myhome" / "obs" / "bkt" / "data"
    source.mkdir(parents=True)
    (source / "secret.key").write_text("FROM-THE-STORE")
    fs = tmp_path / "fs"
    fs.mkdir()
    (fs / "secret.key").symlink_to(secret)
    report = _engine(tmp_path).download("obs://bkt/data/", fs, beneath=fs)
    assert report.files == 1
    assert not (fs / "secret.key").is_symlink()
    assert (fs / "secret.key").read_text() == "FROM-THE-STORE"
    assert secret.read_text() == "TOP-SECRET"


def test_upload_of_the_trusted_root_itself(tmp_path: Path, planted: Path) -> None:
    """A whole file system's export: ``src`` is the root ``beneath`` names."""
    root = tmp_path / "home"
    report = _engine(tmp_path).upload(root, "obs://bkt/out/", beneath=root)
    assert report.files == 2
    stored = sorted(p.relative_to(_bucket(tmp_path)).as_posix()
                    for p in _bucket(tmp_path).rglob("*") if p.is_file())
    assert stored == ["outputs/train_url_0/model.pt", "outputs/train_url_0/sub/step1.ckpt"]
