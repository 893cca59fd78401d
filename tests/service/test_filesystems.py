"""File systems through the service: registry, mount resolution with I/O checks, data tasks
(inline for speed, and through the real detached worker), and jobs that mount them."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fixtures.jobs import algorithm_for, final, job_for, wait_for
from modelyard.service import Conflict, NotFound, Service
from modelyard.service.filesystems import FileSystemService
from modelyard.service.fs_tasks import MANIFEST, TaskRunner
from modelyard.settings import Settings
from modelyard.spec import SpecError
from modelyard.spec.status import Phase
from modelyard.store.models import JobRow

P = "p"


def inline(settings: Settings, db: Any) -> FileSystemService:
    """A service whose tasks run to the end inside ``preload``/``export`` calls."""
    def run(_settings: Settings, task_id: str) -> None:
        TaskRunner(settings, db).run(task_id)

    return FileSystemService(settings, db, spawn=run)


@pytest.fixture
def fss(service: Service) -> FileSystemService:
    return inline(service.settings, service.db)


def put(settings: Settings, prefix: str, files: dict[str, bytes]) -> str:
    root = settings.obs_root / "bkt" / prefix
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return f"obs://bkt/{prefix}/"


def vol(name: str = "images", location: str = "/", path: str = "/mnt/data",
        read_only: bool = False) -> dict[str, Any]:
    return {"filesystem": {"name": name, "storage_location": location, "local_path": path,
                           "read_only": read_only}}


# ----------------------------------------------------------------------- registry
def test_create_list_show_delete_default_path(fss: FileSystemService, settings: Settings
                                              ) -> None:
    rec = fss.create("default", "images")
    assert Path(rec["path"]) == (settings.home / "fs" / "images").resolve()
    assert Path(rec["path"]).is_dir() and rec["status"] == "available" and rec["managed"]
    other = fss.create(P, "images")  # another project may use the same name
    assert Path(other["path"]) == (settings.home / "fs" / "@p" / "images").resolve()
    assert [r["name"] for r in fss.list("default")] == ["images"]
    shown = fss.get("default", "images")
    assert shown["mounted_by"] == [] and shown["capacity"]["total"] > 0
    (Path(rec["path"]) / "x.bin").write_bytes(b"1")
    deleted = fss.delete("default", "images")
    assert deleted["data_deleted"] is True and not Path(rec["path"]).exists()
    assert fss.list("default") == []
    with pytest.raises(NotFound):
        fss.get("default", "images")


def test_own_path_is_created_and_kept_on_delete(fss: FileSystemService, tmp_path: Path
                                                ) -> None:
    path = tmp_path / "fast" / "ssd"
    rec = fss.create(P, "ssd", str(path))
    assert path.is_dir() and not rec["managed"]
    (path / "keep.txt").write_text("mine")
    assert fss.delete(P, "ssd")["data_deleted"] is False
    assert (path / "keep.txt").read_text() == "mine"


def test_unavailable_when_the_directory_disappears(fss: FileSystemService, tmp_path: Path
                                                   ) -> None:
    path = tmp_path / "gone"
    fss.create(P, "gone", str(path))
    path.rmdir()
    assert fss.get(P, "gone")["status"] == "unavailable"
    with pytest.raises(SpecError, match="missing"):
        fss.resolve_mounts(P, [vol("gone")])


def test_duplicate_names_conflict(fss: FileSystemService) -> None:
    fss.create(P, "images")
    with pytest.raises(Conflict, match="already exists"):
        fss.create(P, "images")


@pytest.mark.parametrize("name", ["my images", "", "x" * 65, "a/b", "中文"])
def test_bad_names(fss: FileSystemService, name: str) -> None:
    with pytest.raises(SpecError) as err:
        fss.create(P, name)
    assert err.value.field == "name"


def test_bad_paths(fss: FileSystemService, settings: Settings, tmp_path: Path) -> None:
    cases: dict[str, str] = {
        "relative/dir": "absolute path",
        "/": "cannot be '/'",
        str(settings.home): "must not contain ModelYard's home",
        str(settings.home.parent): "must not contain ModelYard's home",
        str(settings.home / "jobs" / "x"): "only under",
    }
    (tmp_path / "file").write_text("x")
    cases[str(tmp_path / "file")] = "not a directory"
    for path, words in cases.items():
        with pytest.raises(SpecError) as err:
            fss.create(P, "fs1", path)
        assert err.value.field == "path" and words in err.value.rule, (path, err.value)


def test_one_directory_belongs_to_one_file_system(fss: FileSystemService, tmp_path: Path
                                                  ) -> None:
    base = tmp_path / "disk"
    fss.create(P, "outer", str(base / "data"))
    for path in (base / "data", base / "data" / "inner", base):
        with pytest.raises(SpecError, match="overlaps file system 'outer'"):
            fss.create("other", "x", str(path))


# ------------------------------------------------------------------------ mounts
def test_resolve_mounts(fss: FileSystemService) -> None:
    root = Path(fss.create(P, "images")["path"])
    (root / "train").mkdir()
    fss.create(P, "ckpt")
    plans = fss.resolve_mounts(P, [vol("images", "/train", "/mnt/data", read_only=True),
                                   vol("ckpt", "/", "/home/ma-user/work")])
    assert [(m.source, m.target, m.read_only) for m in plans] == [
        (str(root / "train"), "/mnt/data", True),
        (fss.get(P, "ckpt")["path"], "/home/ma-user/work", False)]
    assert fss.resolve_mounts(P, []) == []


def test_mounts_need_the_sandbox(service: Service) -> None:
    settings = service.settings.model_copy(update={"sandbox": "none"})
    fss = FileSystemService(settings, service.db)
    fss.create(P, "images")
    with pytest.raises(SpecError) as err:
        fss.resolve_mounts(P, [vol("images")])
    assert err.value.field == "spec.volumes" and "sandbox=none" in err.value.rule
    assert fss.resolve_mounts(P, []) == []


def test_unknown_file_system(fss: FileSystemService) -> None:
    with pytest.raises(SpecError) as err:
        fss.resolve_mounts(P, [vol("nope")])
    assert err.value.field == "spec.volumes[0].filesystem.name"
    assert "no such file system in project p" in err.value.rule


def test_file_systems_are_per_project(fss: FileSystemService) -> None:
    fss.create("other", "images")
    with pytest.raises(SpecError, match="no such file system"):
        fss.resolve_mounts(P, [vol("images")])


def test_storage_location_must_exist(fss: FileSystemService) -> None:
    fss.create(P, "images")
    with pytest.raises(SpecError) as err:
        fss.resolve_mounts(P, [vol("images", "/missing/dir")])
    assert err.value.field == "spec.volumes[0].filesystem.storage_location"
    assert err.value.value == "/missing/dir"
    assert "must already exist" in err.value.rule and "seed S5.3" in err.value.rule


def test_storage_location_that_is_a_file(fss: FileSystemService) -> None:
    root = Path(fss.create(P, "images")["path"])
    (root / "f").write_text("x")
    with pytest.raises(SpecError, match="must already exist as a directory"):
        fss.resolve_mounts(P, [vol("images", "/f")])


def test_symlinks_cannot_lead_out_of_the_file_system(fss: FileSystemService, tmp_path: Path
                                                     ) -> None:
    root = Path(fss.create(P, "images")["path"])
    (tmp_path / "secret").mkdir()
    (root / "escape").symlink_to(tmp_path / "secret")
    with pytest.raises(SpecError) as err:
        fss.resolve_mounts(P, [vol("images", "/escape")])
    assert err.value.field == "spec.volumes[0].filesystem.storage_location"
    assert "outside the file system" in err.value.rule


def test_pure_rules_apply_before_io(fss: FileSystemService) -> None:
    with pytest.raises(SpecError) as err:
        fss.resolve_mounts(P, [vol("nope", path="/cache")])
    assert err.value.field == "spec.volumes[0].filesystem.local_path"


def test_nfs_export_must_be_mounted_on_this_host(service: Service, tmp_path: Path) -> None:
    table = tmp_path / "mounts"
    mnt = tmp_path / "mnt" / "shared data"
    mnt.mkdir(parents=True)
    escaped = str(mnt).replace(" ", "\\040")
    table.write_text(f"sysfs /sys sysfs rw 0 0\n10.0.0.2:/export {escaped} nfs4 rw 0 0\n")
    fss = FileSystemService(service.settings, service.db, mount_table=table)
    nfs = {"nfs": {"nfs_server_path": "10.0.0.2:/export/", "local_path": "/mnt/nfs",
                   "read_only": True}}
    (plan,) = fss.resolve_mounts(P, [nfs])
    assert (plan.source, plan.target, plan.read_only) == (str(mnt), "/mnt/nfs", True)
    other = {"nfs": {"nfs_server_path": "10.0.0.3:/x", "local_path": "/mnt/nfs"}}
    with pytest.raises(SpecError) as err:
        fss.resolve_mounts(P, [other])
    assert err.value.field == "spec.volumes[0].nfs.nfs_server_path"
    assert "not mounted on this host" in err.value.rule
    # The same directory through nfs and as a registered file system is still one file system.
    fss.create(P, "shared", str(mnt))
    with pytest.raises(SpecError, match="same file system is mounted at most once"):
        fss.resolve_mounts(P, [nfs, vol("shared", path="/mnt/other")])


def _running_job(service: Service, source: str, phase: Phase = Phase.RUNNING) -> str:
    """A job row as the job service stores it, mounting ``source``."""
    job_id = f"job-{time.time_ns()}"
    now = time.time()
    with service.db.session() as s:
        s.add(JobRow(id=job_id, project_id=P, name="reader", body={}, phase=phase.value,
                     plan={"mounts": [{"source": source, "target": "/mnt/data",
                                       "read_only": True}]},
                     job_dir="/nonexistent", created_at=now, updated_at=now))
    return job_id


def test_delete_is_refused_while_an_unfinished_job_mounts_it(service: Service) -> None:
    fss = FileSystemService(service.settings, service.db)  # no refresh: the row is the truth
    root = Path(fss.create(P, "images")["path"])
    (root / "train").mkdir()
    job_id = _running_job(service, str(root / "train"))
    assert fss.get(P, "images")["mounted_by"] == [
        {"id": job_id, "name": "reader", "phase": "Running"}]
    with pytest.raises(Conflict, match=f"mounted by unfinished training jobs: {job_id}"):
        fss.delete(P, "images")
    with service.db.session() as s:
        row = s.get(JobRow, job_id)
        assert row is not None
        row.phase = Phase.COMPLETED.value
    assert fss.delete(P, "images")["data_deleted"] is True


def test_jobs_on_other_file_systems_do_not_block_delete(service: Service) -> None:
    fss = FileSystemService(service.settings, service.db)
    fss.create(P, "images")
    other = fss.create(P, "images2")
    _running_job(service, other["path"])
    fss.delete(P, "images")


# ------------------------------------------------------------------------- tasks
def test_preload_then_again_copies_nothing(fss: FileSystemService, settings: Settings) -> None:
    files = {f"train/{i % 10}/{i}.bin": os.urandom(100 + i) for i in range(60)}
    url = put(settings, "images", files)
    root = Path(fss.create(P, "images")["path"])
    first = fss.preload(P, "images", url, "/data")
    assert first["status"] == "SUCCESS", first
    p = first["progress"]
    assert (p["files"], p["bytes"], p["skipped"]) == (60, sum(map(len, files.values())), 0)
    assert (p["total_files"], p["total_bytes"]) == (60, p["bytes"])
    for rel, data in files.items():
        assert (root / "data" / rel).read_bytes() == data
    second = fss.preload(P, "images", url, "/data")
    assert second["status"] == "SUCCESS"
    assert (second["progress"]["files"], second["progress"]["bytes"],
            second["progress"]["skipped"]) == (0, 0, 60)
    # A changed file travels again, alone.
    changed = settings.obs_root / "bkt" / "images" / "train" / "3" / "3.bin"
    changed.write_bytes(b"new contents")
    third = fss.preload(P, "images", url, "/data")
    assert (third["progress"]["files"], third["progress"]["skipped"]) == (1, 59)
    assert (root / "data" / "train" / "3" / "3.bin").read_bytes() == b"new contents"


def test_preload_of_one_object(fss: FileSystemService, settings: Settings) -> None:
    url = put(settings, "one", {"big.npy": b"x" * 1000})
    root = Path(fss.create(P, "images")["path"])
    task = fss.preload(P, "images", url + "big.npy")
    assert task["status"] == "SUCCESS" and (root / "big.npy").stat().st_size == 1000


def test_export_new_or_changed_files_only(fss: FileSystemService, settings: Settings) -> None:
    root = Path(fss.create(P, "images")["path"])
    (root / "ckpt" / "sub").mkdir(parents=True)
    for i in range(5):
        (root / "ckpt" / "sub" / f"{i}.pt").write_bytes(os.urandom(50))
    first = fss.export(P, "images", "/ckpt", "obs://bkt/exported/")
    assert first["status"] == "SUCCESS", first
    assert first["progress"]["files"] == 5
    out = settings.obs_root / "bkt" / "exported" / "sub"
    assert sorted(p.name for p in out.iterdir()) == [f"{i}.pt" for i in range(5)]
    second = fss.export(P, "images", "/ckpt", "obs://bkt/exported/")
    assert (second["progress"]["files"], second["progress"]["skipped"]) == (0, 5)
    (root / "ckpt" / "sub" / "5.pt").write_bytes(b"new")
    third = fss.export(P, "images", "/ckpt", "obs://bkt/exported/")
    assert (third["progress"]["files"], third["progress"]["skipped"]) == (1, 5)


def test_import_records_names_only(fss: FileSystemService, settings: Settings) -> None:
    url = put(settings, "meta", {"a/1.png": b"12345", "b/c/2.png": b"123"})
    root = Path(fss.create(P, "images")["path"])
    task = fss.import_(P, "images", url, "/lazy")
    assert task["status"] == "SUCCESS", task
    assert task["progress"]["files"] == 2 and task["progress"]["bytes"] == 0
    assert task["progress"]["total_bytes"] == 8
    lines = [json.loads(x) for x in (root / "lazy" / MANIFEST).read_text().splitlines()]
    assert [(x["path"], x["size"], x["url"]) for x in lines] == [
        ("a/1.png", 5, "obs://bkt/meta/a/1.png"), ("b/c/2.png", 3, "obs://bkt/meta/b/c/2.png")]
    assert (root / "lazy" / "b" / "c").is_dir()
    assert not (root / "lazy" / "a" / "1.png").exists()  # contents are not fetched


def test_missing_source_fails_with_a_clear_error(fss: FileSystemService) -> None:
    fss.create(P, "images")
    for start in (fss.preload, fss.import_):
        task = start(P, "images", "obs://bkt/nothing/here/", "/")
        assert task["status"] == "FAIL"
        assert task["message"] == ("source obs://bkt/nothing/here/ does not exist: no object "
                                   "has that key or starts with that prefix")
        assert task["end_time"] is not None
    assert [t["status"] for t in fss.tasks(P, "images")] == ["FAIL", "FAIL"]


def test_bad_task_arguments_are_refused_at_once(fss: FileSystemService) -> None:
    fss.create(P, "images")
    with pytest.raises(SpecError) as err:
        fss.preload(P, "images", "not a url")
    assert err.value.field == "source"
    with pytest.raises(SpecError) as err:
        fss.preload(P, "images", "obs://bkt/x/", "/../up")
    assert err.value.field == "to"
    with pytest.raises(SpecError) as err:
        fss.export(P, "images", "/missing", "obs://bkt/x/")
    assert err.value.field == "directory" and "does not exist" in err.value.rule
    with pytest.raises(SpecError) as err:
        fss.export(P, "images", "/", "nowhere")
    assert err.value.field == "destination"
    with pytest.raises(NotFound):
        fss.preload(P, "nope", "obs://bkt/x/")
    assert fss.tasks(P, "images") == []


def test_a_worker_that_dies_is_reported_as_failed(service: Service) -> None:
    def dies(_settings: Settings, _task_id: str) -> int:
        proc = subprocess.Popen(["true"])
        proc.wait()
        return proc.pid

    fss = FileSystemService(service.settings, service.db, spawn=dies)
    fss.create(P, "images")
    task = fss.preload(P, "images", "obs://bkt/x/")
    assert task["status"] == "FAIL"
    assert "ended without reporting" in task["message"]


def test_a_worker_that_cannot_start_fails_the_task(service: Service) -> None:
    def broken(_settings: Settings, _task_id: str) -> int:
        raise OSError("no python")

    fss = FileSystemService(service.settings, service.db, spawn=broken)
    fss.create(P, "images")
    task = fss.preload(P, "images", "obs://bkt/x/")
    assert task["status"] == "FAIL" and "could not start the worker: no python" in task["message"]


def wait_task(fss: FileSystemService, task_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        task = fss.task(P, task_id)
        if task["status"] != "DOING":
            return task
        assert time.time() < deadline, task
        time.sleep(0.1)


@pytest.mark.slow
def test_detached_worker_goes_doing_then_success(service: Service, settings: Settings) -> None:
    """The real thing: a worker process in its own session, writing progress to the DB."""
    url = put(settings, "w", {f"{i}.bin": os.urandom(1000) for i in range(20)})
    fss = service.filesystems
    fss.create(P, "images")
    task = fss.preload(P, "images", url)
    assert task["status"] == "DOING"  # returns at once
    done = wait_task(fss, task["id"])
    assert done["status"] == "SUCCESS", done
    assert done["progress"]["files"] == 20 and done["start_time"] >= done["create_time"]
    with service.db.session() as s:
        from modelyard.store.fs_models import FsTaskRow

        row = s.scalar(select(FsTaskRow).where(FsTaskRow.id == task["id"]))
        assert row is not None and row.pid is not None and row.pid != os.getpid()
    failed = wait_task(fss, fss.preload(P, "images", "obs://bkt/none/")["id"])
    assert failed["status"] == "FAIL" and "does not exist" in failed["message"]


@pytest.mark.slow
def test_files_appear_complete_or_not_at_all(service: Service, settings: Settings) -> None:
    """A reader polling during a preload never sees a partial file under its final name."""
    size = 48 << 20
    src = settings.obs_root / "bkt" / "big"
    src.mkdir(parents=True)
    for i in range(3):
        with (src / f"part{i}.bin").open("wb") as fh:
            fh.truncate(size)
    fss = service.filesystems
    root = Path(fss.create(P, "images")["path"])
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for i in range(3):
                with contextlib.suppress(FileNotFoundError):
                    seen.append((root / f"part{i}.bin").stat().st_size)

    reader = threading.Thread(target=watch)
    reader.start()
    try:
        task = wait_task(fss, fss.preload(P, "images", "obs://bkt/big/")["id"])
    finally:
        stop.set()
        reader.join()
    assert task["status"] == "SUCCESS", task
    assert seen and set(seen) == {size}


@pytest.mark.slow
def test_delete_refused_while_a_task_runs(service: Service, settings: Settings) -> None:
    fss = service.filesystems
    fss.create(P, "images")
    put(settings, "x", {"a": b"1"})
    task = fss.preload(P, "images", "obs://bkt/x/")
    with pytest.raises(Conflict, match="running preload task"):
        fss.delete(P, "images")
    wait_task(fss, task["id"])
    fss.delete(P, "images")


# ---------------------------------------------------------------- real jobs
PROBE = """
import argparse, os, sys
p = argparse.ArgumentParser()
p.add_argument("--train_url")
p.add_argument("--sleep", type=float, default=0)
a, _ = p.parse_known_args()
data = open("/mnt/data/hello.txt").read()
try:
    open("/mnt/data/written.txt", "w").write("x")
    print("WRITE=ok", flush=True)
except OSError as exc:
    print("WRITE=refused", exc.errno, flush=True)
open("/mnt/work/note.txt", "w").write(data.upper())
print("READ=" + data, flush=True)
import time; time.sleep(a.sleep)
"""


@pytest.fixture
def sandboxed(settings: Settings) -> Iterator[None]:
    from modelyard.runtime import sandbox

    bwrap = sandbox.find_bwrap()
    reason = "bubblewrap is not installed" if bwrap is None else sandbox.probe(bwrap)
    if reason:
        pytest.skip(f"mounts need the bubblewrap sandbox, which does not work here: {reason}")
    yield


def _mount_job(service: Service, code: Any, sleep: float = 0) -> str:
    service.algorithms.create(P, algorithm_for(code("probe", PROBE), "probe", parameters=[
        {"name": "sleep", "value": 0, "constraint": {"type": "Float"}}]))
    fss = service.filesystems
    data = Path(fss.create(P, "images")["path"])
    (data / "train").mkdir()
    (data / "train" / "hello.txt").write_text("hello")
    fss.create(P, "work")
    rec = service.jobs.create(P, job_for("probe", "obs://out/probe/",
                                         parameters=[{"name": "sleep", "value": sleep}],
                                         spec={"volumes": [
                                             vol("images", "/train", "/mnt/data", True),
                                             vol("work", "/", "/mnt/work")]}))
    return str(rec["metadata"]["id"])


@pytest.mark.slow
def test_read_only_mount_refuses_writes_inside_the_job(service: Service, code: Any,
                                                       sandboxed: None) -> None:
    job_id = _mount_job(service, code)
    done = wait_for(service, job_id, final, timeout=120, project=P)
    log = service.jobs.log_preview(P, job_id)["content"]
    assert done["status"]["phase"] == "Completed", (done["status"], log)
    assert "READ=hello" in log
    assert "WRITE=refused 30" in log  # EROFS, enforced by the kernel
    fs_root = Path(service.filesystems.get(P, "images")["path"])
    assert not (fs_root / "train" / "written.txt").exists()
    work = Path(service.filesystems.get(P, "work")["path"])
    assert (work / "note.txt").read_text() == "HELLO"  # the writable mount is writable


@pytest.mark.slow
def test_a_running_job_blocks_delete_of_its_file_system(service: Service, code: Any,
                                                        sandboxed: None) -> None:
    job_id = _mount_job(service, code, sleep=60)
    with pytest.raises(Conflict, match="mounted by unfinished training jobs"):
        service.filesystems.delete(P, "images")
    service.jobs.stop(P, job_id)
    wait_for(service, job_id, final, timeout=60, project=P)
    service.filesystems.delete(P, "images")


def test_job_with_a_broken_mount_is_refused_and_not_stored(service: Service, code: Any) -> None:
    service.algorithms.create(P, algorithm_for(code("probe", PROBE), "probe"))
    service.filesystems.create(P, "images")
    for volumes, field in (
        ([vol("images", "/", "/home/ma-user/modelarts/data")],
         "spec.volumes[0].filesystem.local_path"),
        ([vol("images", "/nope")], "spec.volumes[0].filesystem.storage_location"),
        ([vol("images", "/", "/a"), vol("images", "/", "/b")], "spec.volumes[1].filesystem.name"),
    ):
        with pytest.raises(SpecError) as err:
            service.jobs.create(P, job_for("probe", "obs://out/x/", spec={"volumes": volumes}))
        assert err.value.field == field
    assert service.jobs.list(P)[1] == 0


@pytest.mark.slow
def test_preload_and_export_against_s3_are_incremental(s3_settings: Settings, s3_bucket: str,
                                                       s3_prefix: str, tmp_path: Path) -> None:
    """The same through a real S3 endpoint (SeaweedFS), where the skip rule is the ETag."""
    from modelyard.storage.transfer import TransferEngine

    src = tmp_path / "src"
    for i in range(30):
        (src / f"{i % 3}").mkdir(parents=True, exist_ok=True)
        (src / f"{i % 3}" / f"{i}.bin").write_bytes(os.urandom(200 + i))
    url = f"s3://{s3_bucket}/{s3_prefix}data/"
    TransferEngine(s3_settings).upload(src, url)
    service = Service(s3_settings)
    try:
        fss = inline(s3_settings, service.db)
        root = Path(fss.create(P, "images")["path"])
        first = fss.preload(P, "images", url, "/d")
        assert first["status"] == "SUCCESS", first
        assert (first["progress"]["files"], first["progress"]["skipped"]) == (30, 0)
        again = fss.preload(P, "images", url, "/d")
        assert (again["progress"]["files"], again["progress"]["skipped"]) == (0, 30)
        (root / "d" / "0" / "new.bin").write_bytes(b"fresh")
        out = f"s3://{s3_bucket}/{s3_prefix}back/"
        exported = fss.export(P, "images", "/d", out)
        assert exported["status"] == "SUCCESS", exported
        assert exported["progress"]["files"] == 31
        again = fss.export(P, "images", "/d", out)
        assert (again["progress"]["files"], again["progress"]["skipped"]) == (0, 31)
        missing = fss.preload(P, "images", f"s3://{s3_bucket}/{s3_prefix}nothing/")
        assert missing["status"] == "FAIL" and "does not exist" in missing["message"]
    finally:
        service.close()
