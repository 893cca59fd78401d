"""The CLI with MODELYARD_URL talks to the server: same commands, same output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fixtures.server import ServerInfo, algorithm_body

pytestmark = pytest.mark.slow


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**env, "COLUMNS": "250"}  # tables unwrapped
    return subprocess.run([sys.executable, "-m", "modelyard.cli.main", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def remote_env(keyed_server: ServerInfo) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env.update(MODELYARD_URL=keyed_server.url, MODELYARD_ACCESS_KEY=keyed_server.ak,
               MODELYARD_SECRET_KEY=keyed_server.sk, MODELYARD_PROJECT="cli-project",
               MODELYARD_HOME=str(keyed_server.home / "not-used-by-the-client"))
    return env


@pytest.fixture
def local_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env["MODELYARD_HOME"] = str(tmp_path / "embedded")
    return env


def test_cli_drives_a_job_on_the_server(remote_env: dict[str, str], test_code: Path,
                                        tmp_path: Path) -> None:
    spec = tmp_path / "algorithm.yaml"
    spec.write_text(yaml.safe_dump(algorithm_body("cli-algo", test_code)))
    r = cli(remote_env, "algorithm", "create", "-f", str(spec))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Created algorithm cli-algo (")
    r = cli(remote_env, "job", "run", "--algorithm", "cli-algo", "--name", "cli-job",
            "--param", "epochs=2", "--output", "train_url=obs://cli-bucket/run/", "--wait")
    assert r.returncode == 0, r.stderr
    assert "epoch 1 loss=0.500" in r.stdout and "Completed" in r.stdout
    job_id = r.stdout.split("(", 1)[1].split(")", 1)[0]
    shown = json.loads(cli(remote_env, "job", "show", job_id, "--json").stdout)
    assert shown["status"]["phase"] == "Completed"
    assert shown["metadata"]["workspace_id"] == "cli-project"
    assert job_id in cli(remote_env, "job", "list").stdout
    assert "epoch 0 loss=1.000" in cli(remote_env, "job", "logs", job_id).stdout
    assert cli(remote_env, "job", "delete", job_id).returncode == 0
    assert cli(remote_env, "algorithm", "delete", "cli-algo").returncode == 0


def test_errors_read_the_same_as_embedded(remote_env: dict[str, str],
                                          local_env: dict[str, str], test_code: Path,
                                          tmp_path: Path) -> None:
    bad = algorithm_body("bad-algo", test_code)
    bad["job_config"]["parameters"][0]["name"] = "learning rate"  # type: ignore[index]
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump(bad))
    cases = [("algorithm", "create", "-f", str(spec)), ("job", "show", "no-such-job")]
    for args in cases:
        remote, local = cli(remote_env, *args), cli(local_env, *args)
        assert (remote.returncode, remote.stderr) == (local.returncode, local.stderr), args
        assert remote.returncode == 2 and remote.stderr.startswith("error: ")


def test_wrong_secret_is_a_clear_cli_error(remote_env: dict[str, str]) -> None:
    r = cli({**remote_env, "MODELYARD_SECRET_KEY": "bad"}, "algorithm", "list")
    assert r.returncode == 2
    assert r.stderr.strip() == "error: signature does not match"
