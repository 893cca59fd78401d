"""ModelYard's ``moxing`` (issue 16) on its own: ``mox.file`` over local paths and over the
``obs://`` / ``s3://`` locations a job is bound to. The same module runs inside real jobs in
``test_moxing_jobs.py``."""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.runtime.jobside import LOCATIONS_VAR
from modelyard.runtime.jobside.moxing import file as mox


@pytest.fixture
def bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Input ``obs://bkt/data/`` (a folder), input ``obs://bkt/one/mnist.npz`` (one object)
    and output ``s3://bkt/out/``, as the runtime describes them."""
    data = tmp_path / "inputs" / "data_url_0"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text("1,2\n")
    (data / "sub" / "b.csv").write_text("3,4\n")
    one = tmp_path / "inputs" / "npz_0"
    one.mkdir(parents=True)
    (one / "mnist.npz").write_bytes(b"NPZ")
    out = tmp_path / "outputs" / "train_url_0"
    out.mkdir(parents=True)
    monkeypatch.setenv(LOCATIONS_VAR, json.dumps([
        {"url": "obs://bkt/data/", "path": str(data), "kind": "input", "file": False},
        {"url": "obs://bkt/one/mnist.npz", "path": str(one / "mnist.npz"), "kind": "input",
         "file": True},
        {"url": "s3://bkt/out/", "path": str(out), "kind": "output", "file": False},
    ]))
    yield tmp_path
    mox.shift("mox", "os")


def test_queries_on_an_input(bound: Path) -> None:
    assert mox.exists("obs://bkt/data/a.csv") and mox.exists("obs://bkt/data")
    assert mox.exists("OBS://bkt/data/sub/")
    assert not mox.exists("obs://bkt/data/missing.csv")
    assert mox.is_directory("obs://bkt/data/sub") and not mox.is_directory("obs://bkt/data/a.csv")
    assert mox.list_directory("obs://bkt/data") == ["a.csv", "sub"]
    assert mox.list_directory("obs://bkt/data/", recursive=True) == ["a.csv", "sub",
                                                                     "sub/b.csv"]
    assert mox.glob("obs://bkt/data/*.csv") == ["obs://bkt/data/a.csv"]
    assert mox.glob("obs://bkt/data/s*/*.csv") == ["obs://bkt/data/sub/b.csv"]
    assert mox.get_size("obs://bkt/data/a.csv") == 4
    assert mox.get_size("obs://bkt/data", recursive=True) == 8
    with pytest.raises(IsADirectoryError, match="recursive=True"):
        mox.get_size("obs://bkt/data")
    st = mox.stat("obs://bkt/data/a.csv")
    assert st.length == st.st_size == 4 and not st.is_directory and st.mtime_nsec > 0
    assert mox.stat("obs://bkt/data/sub").is_directory
    walked = list(mox.walk("obs://bkt/data"))
    assert walked[0] == ("obs://bkt/data", ["sub"], ["a.csv"])
    assert walked[1] == ("obs://bkt/data/sub", [], ["b.csv"])
    assert mox.read("obs://bkt/data/a.csv") == "1,2\n"
    assert mox.read("obs://bkt/data/sub/b.csv", binary=True) == b"3,4\n"
    with pytest.raises(FileNotFoundError, match="no such folder"):
        mox.list_directory("obs://bkt/data/nope")


def test_an_input_bound_to_one_object_is_that_file(bound: Path) -> None:
    assert mox.read("obs://bkt/one/mnist.npz", binary=True) == b"NPZ"
    assert not mox.is_directory("obs://bkt/one/mnist.npz")
    with pytest.raises(NotADirectoryError, match="one object"):
        mox.exists("obs://bkt/one/mnist.npz/x")


def test_inputs_are_read_only(bound: Path) -> None:
    for attempt in (lambda: mox.write("obs://bkt/data/new.txt", "x"),
                    lambda: mox.make_dirs("obs://bkt/data/new"),
                    lambda: mox.remove("obs://bkt/data/a.csv"),
                    lambda: mox.copy("obs://bkt/data/a.csv", "obs://bkt/data/c.csv"),
                    lambda: mox.rename("obs://bkt/data/a.csv", "s3://bkt/out/a.csv")):
        with pytest.raises(PermissionError, match="read-only in the job"):
            attempt()
    assert (bound / "inputs" / "data_url_0" / "a.csv").read_text() == "1,2\n"


def test_writing_to_an_output(bound: Path) -> None:
    out = bound / "outputs" / "train_url_0"
    mox.make_dirs("s3://bkt/out/ckpt")
    mox.write("s3://bkt/out/ckpt/epoch1.txt", "one")
    mox.append("s3://bkt/out/ckpt/epoch1.txt", "+more")
    mox.write("s3://bkt/out/w.bin", b"\x00\x01")
    assert (out / "ckpt" / "epoch1.txt").read_text() == "one+more"
    assert (out / "w.bin").read_bytes() == b"\x00\x01"
    with mox.File("s3://bkt/out/deep/er/log.txt", "w") as fh:  # folders are made
        fh.write("hello")
    with mox.File("s3://bkt/out/deep/er/log.txt") as fh:
        assert fh.read() == "hello"
    mox.copy("obs://bkt/data/a.csv", "s3://bkt/out/copied/a.csv")
    mox.copy_parallel("obs://bkt/data", "s3://bkt/out/all")
    assert sorted(p.relative_to(out / "all").as_posix() for p in (out / "all").rglob("*")) == [
        "a.csv", "sub", "sub/b.csv"]
    mox.copy_parallel("obs://bkt/data/", "s3://bkt/out/some", file_list=["sub/b.csv"])
    assert [p.name for p in (out / "some").rglob("*.csv")] == ["b.csv"]
    mox.rename("s3://bkt/out/w.bin", "s3://bkt/out/renamed.bin")
    assert (out / "renamed.bin").exists() and not (out / "w.bin").exists()
    with pytest.raises(IsADirectoryError, match="recursive=True"):
        mox.remove("s3://bkt/out/all")
    mox.remove("s3://bkt/out/all", recursive=True)
    mox.remove("s3://bkt/out/renamed.bin")
    assert not (out / "all").exists() and not (out / "renamed.bin").exists()
    with pytest.raises(FileNotFoundError):
        mox.remove("s3://bkt/out/renamed.bin")
    with pytest.raises(PermissionError, match="relative"):
        mox.copy_parallel("obs://bkt/data/", "s3://bkt/out/x", file_list=["../../etc/passwd"])


def test_copying_down_to_local_paths(bound: Path) -> None:
    local = bound / "local"
    mox.copy_parallel("obs://bkt/data/", str(local))
    assert (local / "sub" / "b.csv").read_text() == "3,4\n"
    mox.copy("obs://bkt/one/mnist.npz", str(local / "m.npz"))
    assert (local / "m.npz").read_bytes() == b"NPZ"
    assert mox.list_directory(str(local)) == ["a.csv", "m.npz", "sub"]
    assert mox.glob(str(local / "*.npz")) == [str(local / "m.npz")]


@pytest.mark.parametrize("url", ["obs://other/data/a.csv", "s3://bkt/elsewhere/x",
                                 "obs://bkt/database/a.csv"])
def test_a_location_not_bound_to_the_job_is_refused_naming_it(bound: Path, url: str) -> None:
    with pytest.raises(PermissionError) as info:
        mox.exists(url)
    msg = str(info.value)
    assert url in msg and "not a location bound to this job" in msg
    assert "input obs://bkt/data/" in msg and "output s3://bkt/out/" in msg
    assert "no storage credentials" in msg


def test_dot_dot_cannot_leave_a_location(bound: Path) -> None:
    with pytest.raises(PermissionError, match=r"'\.\.'"):
        mox.read("obs://bkt/data/../../../etc/passwd")


def test_without_locations_only_local_paths_work(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOCATIONS_VAR, raising=False)
    mox.write(str(tmp_path / "x.txt"), "x")
    assert mox.exists(str(tmp_path / "x.txt"))
    with pytest.raises(PermissionError, match="this job has no inputs or outputs"):
        mox.exists("obs://bkt/x")


def test_shift_lets_open_and_os_take_urls(bound: Path) -> None:
    original_open = builtins.open
    mox.shift("os", "mox")
    try:
        with open("obs://bkt/data/a.csv") as fh:
            assert fh.read() == "1,2\n"
        assert os.path.exists("obs://bkt/data/sub/b.csv")
        assert os.listdir("obs://bkt/data") and os.path.isdir("obs://bkt/data/sub")
        assert os.path.getsize("obs://bkt/data/a.csv") == 4
        os.makedirs("s3://bkt/out/shifted", exist_ok=True)
        with open("s3://bkt/out/shifted/m.txt", "w") as fh:
            fh.write("m")
        with pytest.raises(PermissionError, match="read-only"), \
                open("obs://bkt/data/a.csv", "w"):
            pass
        with open(bound / "plain.txt", "w") as fh:  # local paths untouched
            fh.write("p")
    finally:
        mox.shift("mox", "os")
    assert builtins.open is original_open
    assert (bound / "outputs" / "train_url_0" / "shifted" / "m.txt").read_text() == "m"
    with pytest.raises(ValueError, match="shift"):
        mox.shift("os", "s3")
