"""Issue 16 "done when", from the CLI: a ``ma-cli`` job file for a moxing script, a SageMaker
script-mode scikit-learn script and a SageMaker "bring your own container" program, each
submitted with ``modelyard job submit -f`` and run unchanged (examples/compat)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelyard.runtime.sandbox import find_bwrap, probe
from modelyard.settings import Settings

from .clikit import cli, fresh_context  # noqa: F401  (an autouse fixture)

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "compat"
HAVE_BWRAP = (bw := find_bwrap()) is not None and probe(bw) is None


def upload(tmp_path: Path, example: str, prefix: str, data: dict[str, str]) -> None:
    assert cli("storage", "cp", "-r", str(EXAMPLES / example / "code"),
               f"obs://demo/{prefix}/code/")[0] == 0
    folder = tmp_path / f"{prefix}-data"
    folder.mkdir()
    for name, text in data.items():
        (folder / name).write_text(text)
    assert cli("storage", "cp", "-r", str(folder), f"obs://demo/{prefix}/data/")[0] == 0


def stored(home: Path, rel: str) -> Path:
    return Settings(home=home).obs_root / "demo" / rel


def test_a_ma_cli_job_file_runs_a_moxing_script(tmp_path: Path, home: Path) -> None:
    upload(tmp_path, "moxing", "mox", {"a.csv": "1,2\n3,4\n", "b.csv": "5,6\n"})
    code, out = cli("job", "submit", "-f", str(EXAMPLES / "moxing" / "job.yaml"), "--wait")
    assert code == 0, out
    assert "files on OBS: ['a.csv', 'b.csv']" in out
    assert "epoch=2 rows=3 total=21" in out and "hello from ma-cli - saved" in out
    assert stored(home, "mox/out/model/model.txt").read_text() == "total=21\n"
    assert stored(home, "mox/out/metrics.txt").read_text() == "rows=3\n"
    assert "Traceback" not in out


def test_a_sagemaker_script_mode_sklearn_script(tmp_path: Path, home: Path) -> None:
    rows = "".join(f"{x},{y},{int(x > y)}\n" for x in range(6) for y in range(6))
    upload(tmp_path, "sagemaker-sklearn", "sm-sklearn", {"train.csv": rows})
    code, out = cli("job", "submit", "-f", str(EXAMPLES / "sagemaker-sklearn" / "job.yaml"),
                    "--wait")
    assert code == 0, out
    assert "--max_leaf_nodes 8 --n_estimators 20" in out
    assert "trained on 36 rows with 20 trees" in out
    assert stored(home, "sm-sklearn/model/model.joblib").stat().st_size > 0
    metrics = json.loads(stored(home, "sm-sklearn/output/metrics.json").read_text())
    assert metrics["accuracy"] > 0.9


@pytest.mark.skipif(not HAVE_BWRAP, reason="/opt/ml needs the sandbox (bubblewrap)")
def test_a_sagemaker_bring_your_own_container_program(tmp_path: Path, home: Path) -> None:
    upload(tmp_path, "sagemaker-byoc", "sm-byoc", {"rows.txt": "a\nb\nc\n"})
    code, out = cli("job", "submit", "-f", str(EXAMPLES / "sagemaker-byoc" / "job.yaml"),
                    "--wait")
    assert code == 0, out
    assert "Training complete: 3 rows, max_depth=5" in out
    assert json.loads(stored(home, "sm-byoc/model/model.json").read_text()) == {
        "max_depth": 5, "rows": 3}


def test_a_bad_ma_cli_job_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "job.yaml"
    bad.write_text("code-dir: obs://demo/x/code/\nboot-file: train.py\nnodes: 2\n")
    code, out = cli("job", "submit", "-f", str(bad))
    assert code == 2 and len(out.strip().splitlines()) == 1
    assert out.startswith("error: nodes: 2 is not allowed: not an option of ma-cli ma-job "
                          "submit")
