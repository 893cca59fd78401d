"""The engine catalog: engines mean what they say (issue 15 (a)).

An engine that is not an enabled catalog entry is refused at create, listing the ones there
are; engine_id alone is accepted and filled in; the administrator's catalog file adds and
replaces entries; the job's events name the engine it runs on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fixtures.jobs import algorithm_for, final, job_for, wait_for
from modelyard.service import Service, engines
from modelyard.settings import Settings
from modelyard.spec import SpecError
from modelyard.spec.algorithm import Engine


def _algo(engine: dict[str, Any] | None, name: str = "a") -> dict[str, Any]:
    return algorithm_for("obs://code/x/", name, **({"engine": engine} if engine else {}))


def test_shipped_catalog_has_light_engines_enabled_and_heavy_ones_documented(
        settings: Settings) -> None:
    entries = {e.engine_name: e for e in engines.catalog(settings)}
    assert entries["python"].kind == "host" and entries["python"].enabled
    assert entries["Scikit_Learn"].kind == "env" and entries["Scikit_Learn"].enabled
    assert all("==" in p for p in entries["XGBoost-Sklearn"].packages)
    for heavy in ("PyTorch", "TensorFlow", "MindSpore"):
        assert not entries[heavy].enabled
    available = {e.engine_name for e in engines.available(settings)}
    assert available == {"python", "Scikit_Learn", "XGBoost-Sklearn"}


def test_unknown_engine_is_refused_listing_the_available_ones(service: Service) -> None:
    with pytest.raises(SpecError) as err:
        service.algorithms.create("p", _algo({"engine_name": "PyTorchh",
                                              "engine_version": "no-such-version"}))
    assert err.value.field == "job_config.engine"
    assert err.value.value == "PyTorchh no-such-version"
    assert "not an engine of this installation" in err.value.rule
    assert "scikit-learn-1.9 (Scikit_Learn scikit_learn_1.9.1)" in err.value.rule
    assert service.algorithms.list("p")[1] == 0


def test_a_disabled_engine_says_so(service: Service) -> None:
    with pytest.raises(SpecError) as err:
        service.algorithms.create("p", _algo({"engine_id": "pytorch-2.5-cpu"}))
    assert err.value.field == "job_config.engine.engine_id"
    assert "not enabled on this installation" in err.value.rule


def test_engine_id_alone_is_accepted_and_filled_in(service: Service) -> None:
    host = engines.default_engine(service.settings)
    record, _ = service.algorithms.create("p", _algo({"engine_id": host.engine_id}))
    engine = record["job_config"]["engine"]
    assert engine == {"engine_id": host.engine_id, "engine_name": "python",
                      "engine_version": host.engine_version}


def test_engine_id_and_a_different_name_disagree(service: Service) -> None:
    with pytest.raises(SpecError) as err:
        service.algorithms.create("p", _algo({"engine_id": "scikit-learn-1.9",
                                              "engine_name": "PyTorch"}))
    assert err.value.field == "job_config.engine.engine_name"


def test_a_job_with_an_unknown_engine_stores_nothing(service: Service) -> None:
    job = {"metadata": {"name": "j"},
           "algorithm": {"code_dir": "obs://code/x/", "boot_file": "train.py",
                         "engine": {"engine_name": "PyTorch", "engine_version": "2.1"}}}
    with pytest.raises(SpecError) as err:
        service.jobs.create("p", job)
    assert err.value.field == "algorithm.engine" and "available:" in err.value.rule
    assert service.jobs.list("p")[1] == 0


def test_custom_images_are_not_catalog_engines(settings: Settings) -> None:
    image = Engine(image_url="swr.example.com/team/train:1")
    on_image = Engine(engine_name="PyTorch", engine_version="custom",
                      image_url="swr.example.com/team/torch:1")
    assert engines.resolve(settings, image, "engine") is None
    assert engines.resolve(settings, on_image, "engine") is None  # S1.3: the image provides it


def test_the_administrators_catalog_adds_and_replaces(settings: Settings, tmp_path: Path
                                                      ) -> None:
    extra = tmp_path / "engines.yaml"
    extra.write_text("engines:\n"
                     "  - {engine_id: pytorch-2.5-cpu, engine_name: PyTorch,\n"
                     "     engine_version: pytorch_2.5.1-cpu-py_3.11, kind: env,\n"
                     "     packages: [torch==2.5.1]}\n"
                     "  - {engine_id: team-tf, engine_name: TensorFlow, engine_version: tf_2,\n"
                     "     kind: image, image_url: 'reg.example.com/team/tf:2'}\n")
    mine = settings.model_copy(update={"engine_catalog": extra})
    ids = {e.engine_id for e in engines.available(mine)}
    assert {"pytorch-2.5-cpu", "team-tf", "scikit-learn-1.9"} <= ids
    entry = engines.resolve(mine, Engine(engine_name="PyTorch",
                                         engine_version="pytorch_2.5.1-cpu-py_3.11"), "e")
    assert entry is not None and entry.packages == ["torch==2.5.1"]


@pytest.mark.parametrize(("body", "field", "phrase"), [
    ("engines: [{engine_id: x, engine_name: X, engine_version: '1', kind: env,"
     " packages: [numpy]}]", "packages[0]", "pinned as name==version"),
    ("engines: [{engine_id: x, engine_name: X, engine_version: '1', kind: env}]",
     "packages", "lists its pinned packages"),
    ("engines: [{engine_id: x, engine_name: X, engine_version: '1', kind: image,"
     " image_url: 'Bad/Image'}]", "image_url", "lower-case"),
    ("engines: [{engine_id: x, engine_name: X, kind: chroot}]", "kind", ""),
    ("engines: {}", "engine_catalog", "a list under 'engines:'"),
])
def test_a_broken_catalog_names_the_entry(settings: Settings, tmp_path: Path, body: str,
                                          field: str, phrase: str) -> None:
    extra = tmp_path / "engines.yaml"
    extra.write_text(body)
    with pytest.raises(SpecError) as err:
        engines.catalog(settings.model_copy(update={"engine_catalog": extra}))
    assert field in err.value.field and phrase in err.value.rule


@pytest.mark.slow
def test_the_jobs_events_name_its_engine(service: Service, code) -> None:  # type: ignore[no-untyped-def]
    url = code("eng", "print('hi')\n")
    host = engines.default_engine(service.settings)
    service.algorithms.create("p", algorithm_for(url, "eng", engine={"engine_id": host.engine_id}))
    rec = service.jobs.create("p", job_for("eng", "obs://out/eng/"))
    done = wait_for(service, rec["metadata"]["id"], final)
    assert done["status"]["phase"] == "Completed", done["status"]
    messages = [e["message"] for e in service.jobs.events("p", rec["metadata"]["id"])[0]]
    assert f"Engine: python {host.engine_version} ({host.engine_id}), the host interpreter " \
           f"{service.settings.python}" in messages


@pytest.mark.slow
def test_an_image_job_is_pinned_at_create_and_names_its_digest(
        settings: Settings, registry, tiny_image) -> None:  # type: ignore[no-untyped-def]
    """The tag is resolved once, at create: every attempt runs that digest, and a cached
    image starts without asking the registry again."""
    url = registry.push(tiny_image, "svc/tiny")
    svc = Service(settings.model_copy(update={"insecure_registries": registry.host}))
    try:
        job = {"metadata": {"name": "img"},
               "algorithm": {"command": "echo IN-THE-IMAGE", "engine": {"image_url": url}}}
        rec = svc.jobs.create("p", job)
        assert rec["image"] == {"url": url, "digest": tiny_image.digest}  # shown in the console
        done = wait_for(svc, rec["metadata"]["id"], final)
        assert done["status"]["phase"] == "Completed", done["status"]
        messages = [e["message"] for e in svc.jobs.events("p", rec["metadata"]["id"])[0]]
        assert f"Image {url} is {tiny_image.digest}: every attempt of this job runs it" \
            in messages
        assert f"Engine: image {url} at {tiny_image.digest}" in messages
        assert "IN-THE-IMAGE" in svc.jobs.log_preview("p", rec["metadata"]["id"])["content"]
    finally:
        svc.close()


def test_an_unreachable_registry_at_create_is_left_to_staging(settings: Settings) -> None:
    from modelyard.spec.plan import RunPlan

    plan = RunPlan(command="true", engine=Engine(image_url="127.0.0.1:9/x/y:1"))
    pinned, note = engines.pin_image(settings, plan, "p")
    assert pinned.image_digest is None and note is not None
    assert "not resolved at create" in note and "staging tries again" in note


SKLEARN = """
import sys, sklearn, numpy
print("ENGINE", sklearn.__version__, numpy.__version__, sys.prefix)
"""


@pytest.mark.slow
def test_a_job_on_the_scikit_learn_engine_gets_it(service: Service, code) -> None:  # type: ignore[no-untyped-def]
    """The first job builds the engine's environment from its pinned list (pip, from the
    installation's package index); the second finds it built."""
    url = code("sk", SKLEARN)
    service.algorithms.create("p", algorithm_for(url, "sk", engine={
        "engine_name": "Scikit_Learn", "engine_version": "scikit_learn_1.9.1"}))
    prefixes = []
    for run in ("first", "second"):
        rec = service.jobs.create("p", job_for("sk", f"obs://out/sk-{run}/", name=run))
        done = wait_for(service, rec["metadata"]["id"], final, timeout=600)
        assert done["status"]["phase"] == "Completed", done["status"]
        log = service.jobs.log_preview("p", rec["metadata"]["id"])["content"]
        [line] = [x for x in log.splitlines() if x.startswith("ENGINE ")]
        assert line.split()[1:3] == ["1.9.1", "2.4.6"]
        prefixes.append(line.split()[3])
        messages = [e["message"] for e in service.jobs.events("p", rec["metadata"]["id"])[0]]
        built = [m for m in messages if m.startswith("Engine scikit-learn-1.9:")]
        assert built and ("built its environment" in built[0]) == (run == "first"), messages
    assert prefixes[0] == prefixes[1]
    assert prefixes[0].startswith(str(service.settings.engine_envs_root))


@pytest.mark.slow
def test_an_administrators_image_engine_runs_in_its_image(
        settings: Settings, registry, python_image, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    """An engine of kind image (how an administrator enables PyTorch from an image of
    their own): an algorithm names it by engine_id, the job runs the image's python."""
    url = registry.push(python_image, "svc/engine")
    catalog = tmp_path / "engines.yaml"
    catalog.write_text("engines:\n  - {engine_id: team-torch, engine_name: PyTorch, "
                       f"engine_version: team_1, kind: image, image_url: '{url}'}}\n")
    svc = Service(settings.model_copy(update={"insecure_registries": registry.host,
                                               "engine_catalog": catalog}))
    try:
        code = settings.obs_root / "code" / "img-engine"
        code.mkdir(parents=True)
        (code / "train.py").write_text("import sys\nprint('EXE', sys.executable)\n")
        svc.algorithms.create("p", algorithm_for("obs://code/img-engine/", "ie",
                                                 engine={"engine_id": "team-torch"}))
        rec = svc.jobs.create("p", job_for("ie", "obs://out/ie/"))
        done = wait_for(svc, rec["metadata"]["id"], final)
        log = svc.jobs.log_preview("p", rec["metadata"]["id"])["content"]
        assert done["status"]["phase"] == "Completed", log
        assert "EXE /home/ma-user/anaconda/bin/python" in log
        messages = [e["message"] for e in svc.jobs.events("p", rec["metadata"]["id"])[0]]
        assert f"Engine: PyTorch team_1 (team-torch), image {url}" in messages
    finally:
        svc.close()
