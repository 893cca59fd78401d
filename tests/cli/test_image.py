"""``modelyard image pull|import|list|prune`` as an administrator runs them (real registry)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.images import BuiltImage, Registry

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-c", "from modelyard.cli.main import main; main()"]


def run(home: Path, *args: str, registry: Registry | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELYARD_HOME": str(home), "COLUMNS": "200"}
    env.pop("MODELYARD_URL", None)
    if registry is not None:
        env["MODELYARD_INSECURE_REGISTRIES"] = registry.host
    return subprocess.run([*CLI, "image", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_pull_list_prune(home: Path, registry: Registry, tiny_image: BuiltImage) -> None:
    url = registry.push(tiny_image, "cli/tiny")
    first = run(home, "pull", url, registry=registry)
    assert first.returncode == 0, first.stderr
    assert tiny_image.digest in first.stdout and "pulled in" in first.stdout
    assert "setuid/setgid cleared" in first.stdout
    again = run(home, "pull", url, registry=registry)
    assert "already here" in again.stdout
    listed = json.loads(run(home, "list", "--json").stdout)
    assert [(i["digest"], i["references"], i["in_use"]) for i in listed] == [
        (tiny_image.digest, [url], False)]
    assert url in run(home, "list").stdout
    assert run(home, "prune").stdout.strip() == "nothing to prune"
    pruned = run(home, "prune", "--all")
    assert pruned.returncode == 0 and f"removed {tiny_image.digest}" in pruned.stdout
    assert json.loads(run(home, "list", "--json").stdout) == []


def test_import_an_archive(home: Path, tiny_image: BuiltImage, tmp_path: Path) -> None:
    archive = tmp_path / "saved.tar"
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{tiny_image.layout}:1",
                    f"docker-archive:{archive}:team/tiny:1"], check=True, capture_output=True)
    res = run(home, "import", str(archive), "--as", "local.example.com/team/tiny:1")
    assert res.returncode == 0, res.stderr
    assert "as local.example.com/team/tiny:1" in res.stdout


def test_errors_are_one_line_and_exit_2(home: Path, registry: Registry) -> None:
    res = run(home, "pull", f"{registry.host}/cli/none:1", registry=registry)
    assert res.returncode == 2 and res.stderr.startswith("error: Resolving image")
    assert "manifest unknown" in res.stderr.lower() and "Traceback" not in res.stderr
    bad = run(home, "pull", "Bad Ref")
    assert bad.returncode == 2 and "image_url" in bad.stderr and "Traceback" not in bad.stderr
