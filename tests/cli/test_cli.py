"""The CLI as a user meets it: tables, one-line errors with exit code 2, --wait's exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from modelyard.cli import context

from .clikit import cli, fresh_context  # noqa: F401  (an autouse fixture)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits"


def write_algorithm(tmp_path: Path, **changes: object) -> Path:
    doc = yaml.safe_load((EXAMPLE / "algorithm.yaml").read_text())
    doc["job_config"].update(changes)
    path = tmp_path / "algorithm.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_algorithm_create_list_show_delete(tmp_path: Path) -> None:
    code, out = cli("algorithm", "create", "-f", str(write_algorithm(tmp_path)))
    assert code == 0 and "Created algorithm digits" in out
    code, out = cli("algorithm", "list")
    assert code == 0 and "digits" in out and "train.py" in out
    code, out = cli("algorithm", "show", "digits")
    assert code == 0 and '"boot_file": "train.py"' in out
    assert cli("algorithm", "delete", "digits")[0] == 0
    code, out = cli("algorithm", "show", "digits")
    assert code == 2 and "algorithm 'digits' not found" in out


def test_bad_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = write_algorithm(tmp_path, boot_file="train.sh")
    code, out = cli("algorithm", "create", "-f", str(bad))
    assert code == 2
    assert out.strip().splitlines() == [
        "error: job_config.boot_file: 'train.sh' is not allowed: a boot file ends in .py "
        "(seed S2.1)"
    ]


def test_bad_param_option_is_refused(tmp_path: Path) -> None:
    cli("algorithm", "create", "-f", str(write_algorithm(tmp_path)))
    code, out = cli("job", "run", "-a", "digits", "-p", "epochs")
    assert code == 2 and "--param: 'epochs' is not allowed: use NAME=VALUE" in out
    code, out = cli("job", "run", "-a", "digits", "-p", "epochs=5000",
                    "-i", "data_url=obs://demo/d/", "-o", "train_url=obs://demo/o/")
    assert code == 2 and "[1, 1000]" in out and "epochs" in out
    code, out = cli("job", "run", "-a", "digits", "--remove-param", "epochs",
                    "-i", "data_url=obs://demo/d/", "-o", "train_url=obs://demo/o/")
    assert code == 2 and "required and cannot be removed (seed S3.7)" in out
    assert "Traceback" not in out
    assert cli("job", "list")[1].count("digits") == 0  # nothing half-created


def test_storage_cp_and_ls(tmp_path: Path) -> None:
    src = tmp_path / "d"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("bb")
    code, out = cli("storage", "cp", "-r", str(src), "obs://bkt/x/")
    assert code == 0 and "Copied 2 files (3 bytes)" in out
    code, out = cli("storage", "ls", "obs://bkt/x/")
    assert "obs://bkt/x/a.txt" in out and "obs://bkt/x/sub/b.txt" in out
    code, out = cli("storage", "cp", "obs://bkt/x/", str(tmp_path / "back"))
    assert code == 2 and "use -r" in out
    code, out = cli("storage", "cp", "obs://bkt/../x", str(tmp_path / "back"))
    assert code == 2 and "'..'" in out


@pytest.mark.slow
def test_job_run_wait_streams_log_and_exit_code(tmp_path: Path, home: Path) -> None:
    """--wait follows the log and exits 0 only if the job completed."""
    cli("storage", "cp", "-r", str(EXAMPLE / "code"), "obs://demo/digits/code/")
    data = tmp_path / "data"
    subprocess.run([sys.executable, str(EXAMPLE / "prepare_data.py"), str(data)], check=True)
    cli("storage", "cp", "-r", str(data), "obs://demo/digits/data/")
    cli("algorithm", "create", "-f", str(EXAMPLE / "algorithm.yaml"))
    code, out = cli("job", "run", "-a", "digits", "-p", "epochs=2",
                    "-i", "data_url=obs://demo/digits/data/",
                    "-o", "train_url=obs://demo/digits/out/,prefetch", "--wait")
    assert code == 0, out
    assert "epoch=2" in out and "accuracy=" in out and "Completed" in out
    code, out = cli("job", "run", "-a", "digits", "-p", "epochs=2",
                    "-i", "data_url=obs://demo/digits/missing/",
                    "-o", "train_url=obs://demo/digits/out2/", "--wait")
    assert code == 1 and "Failed" in out
    code, out = cli("job", "list")
    assert out.count("Completed") == 1 and out.count("Failed") == 1
    (job_id,) = [j["metadata"]["id"] for j in context.backend().list_jobs()
                 if j["status"]["phase"] == "Completed"]
    code, worker0 = cli("job", "logs", job_id, "--task", "worker-0")
    assert code == 0 and "epoch=2" in worker0
    code, out = cli("job", "logs", job_id, "--task", "worker-1")  # a one-node job
    assert code == 2 and "task 'worker-1' not found" in out, out


def test_real_process_never_prints_a_traceback(home: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "modelyard.cli.main", "job", "show", "nope"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: training job 'nope' not found"
    assert "Traceback" not in proc.stdout + proc.stderr


def test_run_options_become_the_job_spec(tmp_path: Path) -> None:
    """--retries, --mount, --priority and --max-time reach the same rules as the API."""
    cli("algorithm", "create", "-f", str(write_algorithm(tmp_path)))
    base = ["job", "run", "-a", "digits", "-i", "data_url=obs://demo/d/",
            "-o", "train_url=obs://demo/o/"]
    code, out = cli(*base, "--retries", "7")
    assert code == 2 and "fault-tolerance/job-retry-num: '7'" in out and "0 to 3" in out
    code, out = cli(*base, "--mount", "fs1:/data:/cache")
    assert code == 2 and "/cache" in out
    code, out = cli(*base, "--priority", "9")
    assert code == 2 and "priority" in out
    code, out = cli("job", "flavors")
    assert code == 0 and "modelarts.vm.cpu.1u" in out
