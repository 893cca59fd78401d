"""docs/contract.md "Dependencies": requirements.txt installed into a layer cached by a key over
the file (and what it refers to, the engine, the pip settings: see test_layer_key.py and
tests/security/test_requirements_cache.py); the second job with the same file installs
nothing."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from modelyard.runtime.deps import ensure_layer, find_requirements, has_requirements
from modelyard.runtime.report import StagingError
from modelyard.settings import Settings

from .jobkit import make_plan, run


def tiny_wheel(name: str = "tinypkg", version: str = "1.0", value: str = "42") -> bytes:
    """A pure-Python wheel built by hand: no build backend, no network."""
    files = {
        f"{name}/__init__.py": f"VALUE = {value}\n",
        f"{name}-{version}.dist-info/METADATA":
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL":
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = "\n".join(record) + "\n"
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return buf.getvalue()


USES_IT = "import tinypkg, sys\nprint('TINYPKG', tinypkg.VALUE, tinypkg.__file__)\n"
REQUIREMENTS = "--no-index\n--find-links ./wheels\ntinypkg==1.0\n"


@pytest.mark.slow
def test_requirements_are_installed_once_and_then_cached(settings: Settings) -> None:
    files: dict[str, str | bytes] = {
        "requirements.txt": REQUIREMENTS,
        "wheels/tinypkg-1.0-py3-none-any.whl": tiny_wheel(),
    }
    first, state1 = run(settings, make_plan(settings, USES_IT, files=files), timeout=120)
    assert state1.phase == "Completed", first.log
    assert "TINYPKG 42" in first.log
    assert "Installing requirements.txt into a new environment layer" in first.log
    assert "Successfully installed tinypkg-1.0" in first.log  # pip's own output, in the log
    layers = [p for p in settings.envs_root.iterdir() if p.is_dir()]
    assert len(layers) == 1 and (layers[0] / "tinypkg" / "__init__.py").is_file()
    key = layers[0].name

    second, state2 = run(settings, make_plan(settings, USES_IT, files=files))
    assert state2.phase == "Completed", second.log
    assert "TINYPKG 42" in second.log
    assert "using the cached environment layer" in second.log
    assert "Successfully installed" not in second.log
    assert sorted(p.name for p in settings.envs_root.iterdir() if p.is_dir()) == [key]


@pytest.mark.slow
def test_pip_requirements_txt_is_accepted_and_a_failed_install_fails_the_job(
        settings: Settings) -> None:
    files: dict[str, str | bytes] = {"pip-requirements.txt": "--no-index\nno-such-pkg-xyz==9\n"}
    job, state = run(settings, make_plan(settings, "print('CODE-RAN')", files=files))
    assert (state.phase, state.reason) == ("Failed", "staging")
    assert state.message == "Installing pip-requirements.txt failed (pip exit code 1); see the log"
    assert "CODE-RAN" not in job.log
    assert "no-such-pkg-xyz" in job.log  # pip's error is in the log
    assert not [p for p in settings.envs_root.iterdir() if p.is_dir()]


def test_requirement_files_are_found_at_the_top_only(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "requirements.txt").write_text("x")
    assert find_requirements(tmp_path) is None
    (tmp_path / "pip-requirements.txt").write_text("# nothing\n\n")
    found = find_requirements(tmp_path)
    assert found is not None and not has_requirements(found)
    (tmp_path / "requirements.txt").write_text("numpy\n")
    assert find_requirements(tmp_path) == tmp_path / "requirements.txt"


def test_concurrent_installs_of_the_same_file_install_once(tmp_path: Path) -> None:
    key = hashlib.sha256(b"tinypkg").hexdigest()
    envs = tmp_path / "envs"
    calls: list[Path] = []

    def install(target: Path, key: str) -> int:
        calls.append(target)
        time.sleep(0.5)
        (target / "marker").write_text(key)
        return 0

    results = []
    threads = [threading.Thread(target=lambda: results.append(ensure_layer(key, envs, install)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert sorted(r.cached for r in results) == [False, True, True]
    assert (envs / key / "marker").read_text() == key
    assert [p.name for p in envs.iterdir() if p.is_dir()] == [key]


def test_a_failed_install_leaves_no_layer(tmp_path: Path) -> None:
    with pytest.raises(StagingError, match="pip exit code 1"):
        ensure_layer("0" * 64, tmp_path / "envs", lambda target, key: 1)
    assert not [p for p in (tmp_path / "envs").iterdir() if p.is_dir()]


@pytest.mark.slow
def test_requirements_on_top_of_the_engine_install_only_what_it_lacks(tmp_path: Path) -> None:
    """pip resolves the file against the engine (here the test's interpreter, which has
    boto3 and six 1.17.0): only the missing package and the conflicting pin are left, and
    the pin is reported as a conflict naming the package."""
    import json
    import subprocess
    import sys

    from modelyard.runtime.deps import dry_run_command, missing_from_report
    from modelyard.runtime.engine_env import installed_packages

    req = tmp_path / "requirements.txt"
    req.write_text("boto3\nsix==1.16.0\ntomli-w==1.0.0\n")
    report = tmp_path / "report.json"
    res = subprocess.run(dry_run_command(sys.executable, req, report), capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    engine = installed_packages(sys.executable)
    assert "boto3" in engine and engine["six"] != "1.16.0"
    lines, conflicts = missing_from_report(json.loads(report.read_text()), engine)
    assert sorted(lines) == ["six==1.16.0", "tomli_w==1.0.0"]
    assert [(c.name, c.wanted, c.engine_has) for c in conflicts] == [
        ("six", "1.16.0", engine["six"])]
    assert "pins six 1.16.0, but the engine has six" in conflicts[0].message("requirements.txt")


@pytest.mark.slow
def test_requirements_sit_on_top_of_the_engine(settings: Settings) -> None:
    """Only what the engine lacks is installed (boto3, which the engine has, is not even
    looked for: --no-index would fail it); a pin that replaces an engine package (six) is
    a warning event naming it."""
    reqs = "--no-index\n--find-links ./wheels\nboto3\nsix==1.16.0\ntinypkg==1.0\n"
    files: dict[str, str | bytes] = {
        "requirements.txt": reqs,
        "wheels/tinypkg-1.0-py3-none-any.whl": tiny_wheel(),
        "wheels/six-1.16.0-py3-none-any.whl": tiny_wheel("six", "1.16.0"),
    }
    job, state = run(settings, make_plan(settings, USES_IT, files=files), timeout=120)
    assert state.phase == "Completed", job.log
    assert "TINYPKG 42" in job.log
    assert "Successfully installed six-1.16.0 tinypkg-1.0" in job.log
    warnings = [e.message for e in job.events if e.level.value == "Warning"]
    assert any("requirements.txt pins six 1.16.0, but the engine has six" in w
               for w in warnings), warnings
