"""Hostile jobs against host-side paths (issue 13, item 3): every attack runs as a real job,
in the real bubblewrap sandbox, through a real server (as root on CI), and the host must
come out untouched.

Each job runs HOSTILE with ``ATTACK`` naming what to do and ``TARGET`` the host path it is
after. A symlink is only a string, so a job can point one at any host path it learns,
even one it cannot see from inside the sandbox: these tests simply tell it the path.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures.jobs import algorithm_for, final, job_for, wait_for
from modelyard.service import Service
from modelyard.service.filesystems import FileSystemService
from modelyard.service.fs_tasks import TaskRunner
from modelyard.settings import Settings
from modelyard.spec.plan import MountPlan
from runtime.jobkit import make_plan, run

from .conftest import Target

pytestmark = pytest.mark.slow

HOSTILE = r'''
import os, shutil, sys, time
attack, target = os.environ["ATTACK"], os.environ.get("TARGET", "")
log_name = os.environ["MA_CURRENT_INSTANCE_NAME"] + ".log"
log_dir = os.environ["MA_LOG_DIR"]
out = "/home/ma-user/modelarts/outputs/train_url_0"

def replace(path, make):
    if os.path.lexists(path):
        shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
    make(path)

print("ATTACK", attack, flush=True)
if attack == "log-symlink":
    # Where the log used to be (and the name under MA_LOG_DIR): a symlink to the key file.
    replace(os.path.join(log_dir, log_name), lambda p: os.symlink(target, p))
    # The descriptor it writes its output to names the real log; try to reach it too.
    print("STDOUT-IS", os.readlink("/proc/self/fd/1"), flush=True)
    print("PLANTED", flush=True)
elif attack == "log-fifo":
    replace(os.path.join(log_dir, log_name), os.mkfifo)
    print("PLANTED", flush=True)
    time.sleep(float(os.environ.get("LINGER", "0")))
elif attack == "output-symlink":
    replace(out, lambda p: os.symlink(target, p))
    print("PLANTED", flush=True)
elif attack == "output-plants":
    os.makedirs(os.path.join(out, "ckpt"), exist_ok=True)
    open(os.path.join(out, "ckpt", "model.txt"), "w").write("trained")
    os.symlink(target, os.path.join(out, "key.txt"))                     # a file symlink
    os.symlink(os.path.dirname(target), os.path.join(out, "hostdir"))    # a folder symlink
    os.symlink(os.path.dirname(target), os.path.join(out, "ckpt", "up")) # ... deeper down
    os.mkfifo(os.path.join(out, "pipe"))                                 # a FIFO
    print("PLANTED", flush=True)
elif attack == "retry":
    home = "/home/ma-user"
    if os.path.exists(os.path.join(home, ".planted-before")):
        print("PLANTED-FILES-SURVIVED", flush=True)
        sys.exit(0)
    open(os.path.join(home, ".planted-before"), "w").write("x")
    os.makedirs(os.path.join(home, ".config", "pip"), exist_ok=True)
    open(os.path.join(home, ".config", "pip", "pip.conf"), "w").write(
        "[global]\nindex-url = http://127.0.0.1:9/evil\n")
    replace(os.path.join(log_dir, log_name), lambda p: os.symlink(target, p))
    replace(out, lambda p: os.symlink(os.path.dirname(target), p))
    print("PLANTED", flush=True)
    sys.exit(3)
elif attack == "plant-in-fs":
    os.symlink(target, "/mnt/work/data/sub")
    print("PLANTED", flush=True)
elif attack == "swap-mount-source":
    os.rename("/mnt/work/data", "/mnt/work/data.old")
    os.symlink(target, "/mnt/work/data")
    print("PLANTED", flush=True)
'''


def _hostile(t: Target, name: str, attack: str, target: str | Path, out: str,
             annotations: dict[str, str] | None = None, **env: str) -> str:
    url = t.put_code("hostile", {"train.py": HOSTILE})
    try:
        t.client.get_algorithm("hostile")
    except Exception:
        t.client.create_algorithm(algorithm_for(url, "hostile"))
    body = job_for("hostile", out, name=name, annotations=annotations or {},
                   environments={"ATTACK": attack, "TARGET": str(target), **env})
    return str(t.client.create_job(body)["metadata"]["id"])


def _wait(t: Target, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        record = t.client.get_job(job_id)
        if record["status"]["phase"] in ("Completed", "Failed", "Terminated", "Abnormal"):
            return record
        assert time.monotonic() < deadline, record["status"]
        time.sleep(0.2)


def _events(t: Target, job_id: str) -> list[str]:
    return [e["message"] for e in t.client.job_events(job_id)["events"]]


def test_a_job_cannot_make_the_log_api_read_the_servers_key_file(target: Target,
                                                                 sandboxed: None) -> None:
    job_id = _hostile(target, "log-symlink", "log-symlink", target.key_file,
                      "obs://out/log-symlink/")
    done = _wait(target, job_id)
    preview = target.client.log_preview(job_id)["content"]
    assert done["status"]["phase"] == "Completed", (done["status"], preview)
    assert "PLANTED" in preview
    streamed = "".join(target.client.stream_log(job_id))
    assert "PLANTED" in streamed
    secret = target.key_text.split(":")[1].strip()
    for text in (preview, streamed):
        assert secret not in text and target.key_text.strip() not in text
    assert target.key_file.read_text() == target.key_text
    # The job's descriptor names no file inside its sandbox it could replace.
    assert "STDOUT-IS /home/ma-user" not in preview


def test_a_fifo_for_a_log_neither_hangs_nor_feeds_the_api(target: Target,
                                                          sandboxed: None) -> None:
    job_id = _hostile(target, "log-fifo", "log-fifo", "", "obs://out/log-fifo/", LINGER="4")
    deadline = time.monotonic() + 60
    while "PLANTED" not in target.client.log_preview(job_id)["content"]:
        assert time.monotonic() < deadline, "the job never planted its FIFO"
        time.sleep(0.2)
    # As in the report: many previews while the FIFO waits for a writer. Each answers.
    started = time.monotonic()
    for _ in range(50):
        assert "PLANTED" in target.client.log_preview(job_id)["content"]
    assert target.client.health()["status"] == "ok"
    assert time.monotonic() - started < 30  # generous: a hang would be forever
    assert _wait(target, job_id)["status"]["phase"] == "Completed"

    # Whatever might put a FIFO or a symlink where the platform's log is (not the job: it
    # has no name for it), the API reads it as empty and stays up.
    log = target.home / "jobs" / job_id / "logs" / f"modelarts-job-{job_id}-worker-0.log"
    assert log.is_file()
    log.unlink()
    os.mkfifo(log)
    with httpx.Client(timeout=5) as raw:
        for _ in range(50):
            assert target.client.log_preview(job_id)["content"] == ""
        assert raw.get(target.info.url + "/health").status_code == 200
    log.unlink()
    log.symlink_to(target.key_file)
    assert target.client.log_preview(job_id)["content"] == ""
    assert "".join(target.client.stream_log(job_id)) == ""


def test_an_output_folder_replaced_by_a_symlink_uploads_nothing(target: Target,
                                                                sandboxed: None) -> None:
    out = "obs://out/output-symlink/"
    job_id = _hostile(target, "output-symlink", "output-symlink", target.home, out)
    done = _wait(target, job_id)
    assert done["status"]["phase"] == "Completed", done["status"]
    # The final upload copied the database, every job folder and the object store once.
    assert target.stored(out) == []
    assert any("the output folder" in m and "symbolic link" in m
               for m in _events(target, job_id))
    assert target.key_file.read_text() == target.key_text


def test_symlinks_and_fifos_left_in_outputs_are_skipped_with_a_warning(
        target: Target, sandboxed: None) -> None:
    out = "obs://out/output-plants/"
    job_id = _hostile(target, "output-plants", "output-plants", target.key_file, out)
    done = _wait(target, job_id)
    assert done["status"]["phase"] == "Completed", done["status"]
    assert target.stored(out) == ["ckpt/model.txt"]
    events = _events(target, job_id)
    for name in ("key.txt", "hostdir", "ckpt/up", "pipe"):
        assert any(f"Output train_url: {name} is a" in m and "not uploaded" in m
                   for m in events), (name, events)


def test_a_retry_starts_clean_and_never_appends_through_a_planted_log(
        target: Target, sandboxed: None) -> None:
    victim = target.home / "victim.txt"
    victim.write_text("host file\n")
    job_id = _hostile(target, "retry", "retry", victim, "obs://out/retry/",
                      {"fault-tolerance/job-unconditional-retry": "true"})
    done = _wait(target, job_id, timeout=180)
    log = target.client.log_preview(job_id)["content"]
    # Every attempt planted its traps and failed; none found anything of the one before.
    assert done["status"]["phase"] == "Failed", done["status"]
    records = done["status"]["running_records"]
    assert len(records) >= 2, records
    assert log.count("PLANTED\n") == len(records), (records, log)
    assert "PLANTED-FILES-SURVIVED" not in log, log
    assert "the job's folders start empty again" in log
    assert victim.read_text() == "host file\n"
    assert target.stored("obs://out/retry/") == []
    assert sorted(p.name for p in victim.parent.iterdir() if p.name.startswith("victim")) \
        == ["victim.txt"]


# ---------------------------------------------------------------- file systems
PROJECT = "p"


@pytest.mark.usefixtures("sandboxed")
def test_preload_never_writes_through_a_folder_symlink_a_job_planted(
        service: Service, code: Any, settings: Settings, tmp_path: Path) -> None:
    host_dir = tmp_path / "host-etc"
    host_dir.mkdir()
    (host_dir / "passwd").write_text("root:x:0:0\n")
    fss = FileSystemService(settings, service.db,
                            spawn=lambda s, task_id: TaskRunner(s, service.db).run(task_id))
    work = Path(fss.create(PROJECT, "work")["path"])
    (work / "data").mkdir()
    service.algorithms.create(PROJECT, algorithm_for(code("hostile", HOSTILE), "hostile"))
    body = job_for("hostile", "obs://out/plant-in-fs/",
                   environments={"ATTACK": "plant-in-fs", "TARGET": str(host_dir)},
                   spec={"volumes": [{"filesystem": {"name": "work", "storage_location": "/",
                                                     "local_path": "/mnt/work"}}]})
    job_id = str(service.jobs.create(PROJECT, body)["metadata"]["id"])
    done = wait_for(service, job_id, final, timeout=120, project=PROJECT)
    assert done["status"]["phase"] == "Completed", service.jobs.log_preview(PROJECT, job_id)
    assert (work / "data" / "sub").is_symlink()

    source = settings.obs_root / "bkt" / "dataset"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "passwd").write_text("attacker::0:0\n")
    (source / "train.csv").write_text("1,2\n")
    task = fss.preload(PROJECT, "work", "obs://bkt/dataset/", "/data")
    assert task["status"] == "FAIL"
    assert "sub" in task["message"] and "symlink" in task["message"]
    assert (host_dir / "passwd").read_text() == "root:x:0:0\n"
    assert sorted(p.name for p in host_dir.iterdir()) == ["passwd"]
    assert (work / "data" / "train.csv").read_text() == "1,2\n"  # the rest arrived

    # Export does not follow it either: only the regular file goes.
    exported = fss.export(PROJECT, "work", "/data", "obs://bkt/exported/")
    assert exported["status"] == "SUCCESS", exported
    stored = sorted(p.relative_to(settings.obs_root / "bkt" / "exported").as_posix()
                    for p in (settings.obs_root / "bkt" / "exported").rglob("*")
                    if p.is_file())
    assert stored == ["train.csv"]
    whole = fss.export(PROJECT, "work", "/", "obs://bkt/whole/")  # the root itself, too
    assert whole["status"] == "SUCCESS", whole
    assert whole["progress"]["files"] == whole["progress"]["total_files"] == 1


def test_a_mount_source_swapped_for_a_symlink_is_refused(settings: Settings, tmp_path: Path,
                                                         sandboxed: None) -> None:
    """Job B's mount was resolved when B was created; job A, sharing the file system
    writable, swaps the folder for a symlink to a host folder before B starts. B must not
    get the host folder bound (writable) into its sandbox."""
    host_dir = tmp_path / "host-root"
    host_dir.mkdir()
    (host_dir / "authorized_keys").write_text("ssh-ed25519 AAAA admin\n")
    fs = tmp_path / "fs-work"
    (fs / "data").mkdir(parents=True)
    a, state = run(settings, make_plan(
        settings, HOSTILE, mounts=[MountPlan(source=str(fs), target="/mnt/work")],
        environments={"ATTACK": "swap-mount-source", "TARGET": str(host_dir)}))
    assert state.phase == "Completed" and "PLANTED" in a.log, a.log
    assert (fs / "data").is_symlink()

    writer = ("open('/mnt/data/authorized_keys', 'a').write('ssh-ed25519 BBBB attacker\\n')\n"
              "print('WROTE')\n")
    b, state = run(settings, make_plan(
        settings, writer, mounts=[MountPlan(source=str(fs / "data"), target="/mnt/data")]))
    assert (state.phase, state.reason) == ("Failed", "staging"), b.log
    assert "is now a symbolic link" in state.message and "WROTE" not in b.log
    assert (host_dir / "authorized_keys").read_text() == "ssh-ed25519 AAAA admin\n"
