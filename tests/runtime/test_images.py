"""Real jobs in real images (issue 15 (c)): the image from a real registry is the sandbox's
root, the job runs as ma-user in /home/ma-user whatever the image says, its environment is
the image's, then the platform's, then the user's, and the seed's conda ways all work."""

from __future__ import annotations

import pytest

from fixtures.images import BuiltImage, Registry
from modelyard.runtime.sandbox import find_bwrap
from modelyard.settings import Settings
from modelyard.spec.algorithm import Engine
from modelyard.storage.images import ImageStore

from .jobkit import make_plan, run

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(find_bwrap() is None, reason="images need bubblewrap")]


@pytest.fixture
def image_settings(settings: Settings, registry: Registry) -> Settings:
    return settings.model_copy(update={"insecure_registries": registry.host})


FULLY_CUSTOM = ("echo START; id -u && pwd && cat /etc/hosts && echo \"$IMAGE_VAR $MA_HOME\" "
                "&& ls /opt && bash -c 'echo BASH $BASH_VERSION' "
                "&& cat ${MA_JOB_DIR}/demo-code/a.txt")


def test_a_fully_custom_image_runs_its_boot_command(image_settings: Settings,
                                                    registry: Registry,
                                                    tiny_image: BuiltImage) -> None:
    url = registry.push(tiny_image, "jobs/tiny")
    plan = make_plan(image_settings, files={"a.txt": "code-was-downloaded"},
                     command=FULLY_CUSTOM, engine=Engine(image_url=url), mode="custom_image",
                     environments={"IMAGE_VAR": "from-user"})
    job, state = run(image_settings, plan, timeout=120)
    assert state.phase == "Completed", job.log
    lines = job.log.splitlines()
    assert "START" in lines and "1000" in lines  # ma-user, whatever the image's User says
    assert "/home/ma-user" in lines  # not the image's WorkingDir (/srv)
    assert "stale-host-from-the-image" not in job.log  # /etc/hosts is generated
    assert "from-user /home/ma-user" in lines  # user over image; platform over image
    assert "old" in lines and "gone.txt" not in job.log  # the image's layers, whiteouts applied
    assert any(line.startswith("BASH 5") for line in lines)
    assert "code-was-downloaded" in job.log.replace("code-was-downloaded\"", ""), job.log
    messages = [e.message for e in job.events]
    assert f"Engine: image {url} at {tiny_image.digest}" in messages
    assert any(m.startswith(f"Pulled image {url}: {tiny_image.digest}") for m in messages)
    # a second job finds the image here
    again, state2 = run(image_settings, make_plan(
        image_settings, files={"a.txt": "x"}, command="true", engine=Engine(image_url=url),
        mode="custom_image"))
    assert state2.phase == "Completed", again.log
    assert f"Image {url}: {tiny_image.digest}, already here" in [e.message for e in again.events]


TRAIN = """
import os, sys
print("EXE", sys.executable)
print("PP", os.environ["PYTHONPATH"].split(":")[0])
print("LD", os.environ["LD_LIBRARY_PATH"].split(":")[0])
site = [p for p in sys.path if p.endswith("-packages") and os.path.isdir(p)][0]
print("SITE", site)
with open(os.path.join(site, "installed_by_job.py"), "w") as fh:   # as pip install would
    fh.write("X = 7\\n")
import installed_by_job
print("IMPORTED", installed_by_job.X)
"""


def test_a_preset_engine_on_a_custom_image_uses_the_images_python(
        image_settings: Settings, registry: Registry, python_image: BuiltImage) -> None:
    url = registry.push(python_image, "jobs/python")
    engine = Engine(engine_name="PyTorch", engine_version="custom", image_url=url)
    job, state = run(image_settings, make_plan(image_settings, TRAIN, engine=engine,
                                               mode="preset_custom_image"), timeout=120)
    assert state.phase == "Completed", job.log
    assert "EXE /home/ma-user/anaconda/bin/python" in job.log  # seed S2.4
    assert "PP /home/ma-user/modelarts/user-job-dir" in job.log
    assert "LD /home/ma-user/anaconda/lib" in job.log
    assert "IMPORTED 7" in job.log  # the image's conda is writable for the job...
    store = ImageStore(image_settings)
    record = store.find(url)
    assert record is not None
    [site] = [line.split()[1] for line in job.log.splitlines() if line.startswith("SITE ")]
    assert site.startswith("/home/ma-user/anaconda/")
    assert (store.rootfs(record) / site.lstrip("/")).is_dir()
    assert not (store.rootfs(record) / site.lstrip("/") / "installed_by_job.py").exists()


CONDA_WAYS = (
    "python -c 'import sys; print(\"WAY1\", sys.executable)'"
    " && /home/ma-user/anaconda/envs/work/bin/python -c 'import sys; print(\"WAY2\", "
    "sys.executable)'"
    " && PATH=/home/ma-user/anaconda/envs/work/bin:$PATH python -c 'import sys; "
    "print(\"WAY3\", sys.executable)'"
    " && $ANACONDA_DIR/bin/conda run -n work python -c 'import sys; print(\"WAY4\", "
    "sys.executable)'"
    " && export LD_LIBRARY_PATH=$ANACONDA_DIR/envs/work/lib:$LD_LIBRARY_PATH"
    " && python -c 'import os; print(\"LD\", os.environ[\"LD_LIBRARY_PATH\"])'"
)


def test_the_four_conda_ways_of_the_seed(image_settings: Settings, registry: Registry,
                                         python_image: BuiltImage) -> None:  # seed S2.6
    url = registry.push(python_image, "jobs/python")
    plan = make_plan(image_settings, files={"a.txt": "a"}, command=CONDA_WAYS,
                     engine=Engine(image_url=url), mode="custom_image",
                     environments={"DEFAULT_CONDA_ENV_NAME": "work"})
    job, state = run(image_settings, plan, timeout=120)
    assert state.phase == "Completed", job.log
    env_python = "/home/ma-user/anaconda/envs/work/bin/python"
    for way in ("WAY1", "WAY2", "WAY3", "WAY4"):
        assert f"{way} {env_python}" in job.log, job.log
    assert "LD /home/ma-user/anaconda/envs/work/lib" in job.log


def test_no_such_image_fails_at_staging_with_the_registrys_answer(
        image_settings: Settings, registry: Registry) -> None:
    url = f"{registry.host}/jobs/missing:1"
    plan = make_plan(image_settings, files={"a.txt": "a"}, command="echo should-not-run",
                     engine=Engine(image_url=url), mode="custom_image")
    job, state = run(image_settings, plan)
    assert (state.phase, state.reason) == ("Failed", "staging")
    assert url in state.message and "manifest unknown" in state.message.lower()
    assert "should-not-run" not in job.log.replace("echo should-not-run", "")


FALLBACK = """
import os, sys
print("EXE", sys.executable)
try:
    open(os.path.join(sys.prefix, "new.txt"), "w")
except OSError as exc:
    print("READ-ONLY", exc.errno)
open("/home/ma-user/mine.txt", "w").write("the job's own home is writable")
print("HOME-OK")
"""


def test_without_the_overlay_the_images_home_is_read_only(
        image_settings: Settings, registry: Registry, python_image: BuiltImage) -> None:
    """The documented fallback (a service that is not root, or image_home_overlay off)."""
    url = registry.push(python_image, "jobs/python")
    settings = image_settings.model_copy(update={"image_home_overlay": False})
    engine = Engine(engine_name="PyTorch", engine_version="custom", image_url=url)
    job, state = run(settings, make_plan(settings, FALLBACK, engine=engine,
                                         mode="preset_custom_image"), timeout=120)
    assert state.phase == "Completed", job.log
    assert "EXE /home/ma-user/anaconda/bin/python" in job.log
    assert "READ-ONLY 30" in job.log  # EROFS
    assert "HOME-OK" in job.log
