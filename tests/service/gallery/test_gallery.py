"""The gallery through the service: publishing snapshots the code, versions are immutable,
withdrawal stops new jobs only, subscriptions belong to a project, and jobs from a
subscription run for real (local executor, real runtimes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fixtures.jobs import final, out_dir, phase_is, wait_for
from modelyard.service import Conflict, NotFound, Service
from modelyard.service.errors import Forbidden
from modelyard.settings import Settings
from modelyard.spec import SpecError
from service.gallery.conftest import PUB, SUB, sub_job, train_py

pytestmark = pytest.mark.slow


def run(service: Service, job: dict[str, Any], project: str = SUB) -> dict[str, Any]:
    rec = service.jobs.create(project, job)
    return wait_for(service, rec["metadata"]["id"], final, project=project)


def test_publish_returns_the_official_shape_and_lists_the_asset(
        service: Service, published: dict[str, Any]) -> None:
    assert published["version_num"] == "1.0.0"
    assert published["content_uri"] == f"gallery://algorithms/{published['content_id']}"
    asset = service.gallery.get(published["content_id"])
    assert asset["name"] == "algo" and asset["publisher"] == PUB
    [version] = asset["versions"]
    assert version["version_id"] == published["version_id"]
    assert version["desc"] == "first release" and version["status"] == "published"
    assert [p["name"] for p in version["job_config"]["parameters"]] == ["lr", "sleep", "seed"]
    assert "code_dir" not in version["job_config"]  # a server path is nobody's business
    listed, total = service.gallery.list(name="alg")
    assert total == 1 and listed[0]["content_id"] == published["content_id"]


def test_publisher_edits_after_publishing_change_nothing(
        service: Service, settings: Settings, code: Callable[[str, str], str],
        published: dict[str, Any], subscription: dict[str, Any]) -> None:
    code("algo", train_py("v2"))  # the publisher rewrites its code in place...
    service.algorithms.update(PUB, "algo", {"job_config": {
        "code_dir": "obs://code/algo/", "boot_file": "train.py", "parameters": [],
        "outputs": [{"name": "train_url"}], "parameters_customization": True}})
    done = run(service, sub_job(subscription, published["version_id"], "obs://out/imm/",
                                parameters=[{"name": "lr", "value": 0.3}]))
    assert done["status"]["phase"] == "Completed", done["status"]
    assert (out_dir(settings, "obs://out/imm/") / "model.txt").read_text() == "v1 lr=0.3"
    log = service.jobs.log_preview(SUB, done["metadata"]["id"])["content"]
    assert "code v1 score=1.0000" in log
    algorithm = done["algorithm"]  # the job records which asset and version it ran
    assert algorithm["subscription_id"] == subscription["subscription_id"]
    assert algorithm["item_version_id"] == published["version_id"]
    assert algorithm["content_id"] == published["content_id"]
    assert algorithm["version_num"] == "1.0.0" and algorithm["content_name"] == "algo"


def test_content_id_adds_a_version_that_runs_its_own_snapshot(
        service: Service, settings: Settings, code: Callable[[str, str], str],
        published: dict[str, Any], subscription: dict[str, Any]) -> None:
    code("algo", train_py("v2"))
    second = service.gallery.publish(PUB, {"content_id": published["content_id"],
                                           "algorithm": {"id": "algo"}})
    assert second["content_id"] == published["content_id"]
    assert second["version_num"] == "2.0.0" and second["version_id"] != published["version_id"]
    labelled = service.gallery.publish(PUB, {"content_id": published["content_id"],
                                             "content_info": {"version_num": "2.1-beta"},
                                             "algorithm": {"id": "algo"}})
    assert labelled["version_num"] == "2.1-beta"
    fresh = service.gallery.get_subscription(SUB, subscription["subscription_id"])
    assert [v["version_num"] for v in fresh["item_versions"]] == ["1.0.0", "2.0.0", "2.1-beta"]
    for version_id, out, expect in ((published["version_id"], "obs://out/va/", "v1"),
                                    (second["version_id"], "obs://out/vb/", "v2")):
        done = run(service, sub_job(subscription, version_id, out))
        assert done["status"]["phase"] == "Completed", done["status"]
        assert (out_dir(settings, out) / "model.txt").read_text() == f"{expect} lr=0.1"
    with pytest.raises(Conflict, match="already has this version"):
        service.gallery.publish(PUB, {"content_id": published["content_id"],
                                      "content_info": {"version_num": "2.0.0"},
                                      "algorithm": {"id": "algo"}})


def test_withdraw_keeps_running_jobs_and_refuses_new_ones(
        service: Service, settings: Settings, published: dict[str, Any],
        subscription: dict[str, Any]) -> None:
    rec = service.jobs.create(SUB, sub_job(subscription, published["version_id"],
                                           "obs://out/wd/",
                                           parameters=[{"name": "sleep", "value": 2}]))
    job_id = rec["metadata"]["id"]
    wait_for(service, job_id, phase_is("Running"), project=SUB)
    withdrawn = service.gallery.withdraw(PUB, published["content_id"], published["version_id"])
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdraw_time"]
    with pytest.raises(SpecError) as err:
        service.jobs.create(SUB, sub_job(subscription, published["version_id"], "obs://out/w2/"))
    assert err.value.field == "algorithm.item_version_id"
    assert err.value.value == published["version_id"]
    assert "withdrawn by its publisher" in err.value.rule
    done = wait_for(service, job_id, final, project=SUB)
    assert done["status"]["phase"] == "Completed", done["status"]
    assert (out_dir(settings, "obs://out/wd/") / "model.txt").read_text() == "v1 lr=0.1"
    with pytest.raises(Conflict, match="already withdrawn"):
        service.gallery.withdraw(PUB, published["content_id"], published["version_id"])
    with pytest.raises(SpecError, match="every version of this asset was withdrawn"):
        service.gallery.subscribe("late", {"content_id": published["content_id"]})


@pytest.mark.parametrize(("change", "field", "value"), [
    ({"code_dir": "obs://code/other/"}, "algorithm.code_dir", "obs://code/other/"),
    ({"boot_file": "other.py"}, "algorithm.boot_file", "other.py"),
    ({"engine": {"engine_name": "python", "engine_version": "3.12"}}, "algorithm.engine", None),
    ({"command": "python x.py"}, "algorithm.command", "python x.py"),
])
def test_a_subscriber_cannot_change_code_or_engine(
        service: Service, published: dict[str, Any], subscription: dict[str, Any],
        change: dict[str, Any], field: str, value: Any) -> None:
    with pytest.raises(SpecError) as err:
        service.jobs.create(SUB, sub_job(subscription, published["version_id"],
                                         "obs://out/x/", **change))
    assert err.value.field == field
    if value is not None:
        assert err.value.value == value
    assert "publisher" in err.value.rule and "seed S1.1" in err.value.rule
    assert service.jobs.list(SUB)[1] == 0


def test_a_subscriber_sets_only_what_the_publisher_exposed(
        service: Service, published: dict[str, Any], subscription: dict[str, Any]) -> None:
    def refused(**algorithm: Any) -> SpecError:
        with pytest.raises(SpecError) as err:
            service.jobs.create(SUB, sub_job(subscription, published["version_id"],
                                             "obs://out/x/", **algorithm))
        return err.value

    unexposed = refused(parameters=[{"name": "momentum", "value": 0.9}])
    assert unexposed.field == "algorithm.parameters[0].name" and unexposed.value == "momentum"
    assert "did not expose this hyperparameter (it exposes: lr, sleep, seed)" in unexposed.rule
    fixed = refused(parameters=[{"name": "seed", "value": 8}])
    assert fixed.field == "algorithm.parameters[0].value" and "not editable" in fixed.rule
    out_of_range = refused(parameters=[{"name": "lr", "value": 5}])
    assert out_of_range.field == "algorithm.parameters[0].value" and "lr" in out_of_range.rule
    channel = refused(inputs=[{"name": "data_url", "remote": {"obs": {"obs_url": "obs://data/x/"}}}])
    assert channel.field == "algorithm.inputs[0].name" and channel.value == "data_url"
    assert service.jobs.list(SUB)[1] == 0


def test_subscriptions_belong_to_their_project(
        service: Service, published: dict[str, Any], subscription: dict[str, Any]) -> None:
    job = sub_job(subscription, published["version_id"], "obs://out/x/")
    with pytest.raises(SpecError) as err:
        service.jobs.create("other", job)
    assert err.value.field == "algorithm.subscription_id"
    assert "no such subscription in this project" in err.value.rule
    with pytest.raises(NotFound):
        service.gallery.get_subscription("other", subscription["subscription_id"])
    with pytest.raises(NotFound):
        service.gallery.unsubscribe("other", subscription["subscription_id"])
    assert service.gallery.list_subscriptions("other") == []
    with pytest.raises(Conflict, match="already subscribes"):
        service.gallery.subscribe(SUB, {"content_id": published["content_id"]})
    service.gallery.unsubscribe(SUB, subscription["subscription_id"])
    with pytest.raises(SpecError, match="no such subscription"):
        service.jobs.create(SUB, job)


def test_the_version_must_be_named_and_belong_to_the_subscription(
        service: Service, published: dict[str, Any], subscription: dict[str, Any]) -> None:
    with pytest.raises(SpecError) as err:
        service.jobs.create(SUB, sub_job(subscription, "", "obs://out/x/"))
    assert err.value.field == "algorithm.item_version_id" and "1.0.0" in err.value.rule
    with pytest.raises(SpecError) as err:
        service.jobs.create(SUB, sub_job(subscription, "nope", "obs://out/x/"))
    assert err.value.field == "algorithm.item_version_id" and err.value.value == "nope"
    with pytest.raises(SpecError) as err:
        service.jobs.create(SUB, sub_job(subscription, published["version_id"], "obs://out/x/",
                                         name="j", id="algo"))
    assert err.value.field == "algorithm.subscription_id" and "not both" in err.value.rule
    job = sub_job(subscription, published["version_id"], "obs://out/x/")
    del job["algorithm"]["subscription_id"]
    with pytest.raises(SpecError) as err:
        service.jobs.create(SUB, job)
    assert err.value.field == "algorithm.subscription_id" and err.value.value is None


def test_only_the_publisher_adds_versions_or_withdraws(
        service: Service, code: Callable[[str, str], str], published: dict[str, Any]) -> None:
    from fixtures.jobs import algorithm_for

    service.algorithms.create("intruder", algorithm_for(code("evil", train_py("evil")), "evil"))
    with pytest.raises(Forbidden, match="only its publisher adds versions"):
        service.gallery.publish("intruder", {"content_id": published["content_id"],
                                             "algorithm": {"id": "evil"}})
    with pytest.raises(Forbidden):
        service.gallery.withdraw("intruder", published["content_id"], published["version_id"])
    assert len(service.gallery.get(published["content_id"])["versions"]) == 1


def test_bad_publications_store_nothing(service: Service, settings: Settings,
                                        code: Callable[[str, str], str]) -> None:
    before = service.gallery.list()[1]
    with pytest.raises(SpecError) as err:
        service.gallery.publish(PUB, {"algorithm": {"id": "missing"}})
    assert err.value.field == "algorithm.id" and err.value.value == "missing"
    with pytest.raises(SpecError) as err:
        service.gallery.publish(PUB, {})
    assert err.value.field == "algorithm"
    url = code("algo", train_py("v1"))
    service.algorithms.create(PUB, {"metadata": {"name": "algo"}, "job_config": {
        "code_dir": url, "boot_file": "train.py"}})
    with pytest.raises(SpecError) as err:
        service.gallery.publish(PUB, {"algorithm": {"id": "algo"},
                                      "content_info": {"version_num": "1 0"}})
    assert err.value.field == "content_info.version_num" and err.value.value == "1 0"
    with pytest.raises(SpecError) as err:
        service.gallery.publish(PUB, {"algorithm": {"id": "algo"}, "content_id": "unknown"})
    assert err.value.field == "content_id" and "no such gallery asset" in err.value.rule
    (settings.obs_root / "code" / "algo" / "train.py").unlink()  # nothing left to copy
    with pytest.raises(SpecError) as err:
        service.gallery.publish(PUB, {"algorithm": {"id": "algo"}})
    assert err.value.field == "job_config.code_dir" and "empty" in err.value.rule
    assert service.gallery.list()[1] == before
    leftovers = [p for p in (settings.home / "gallery").iterdir()
                 if p.name != "modelyard-digits"]
    assert leftovers == [], "a refused publication left a snapshot behind"


def test_automatic_search_on_a_subscription(
        service: Service, published: dict[str, Any], subscription: dict[str, Any]) -> None:
    policy = {
        "reward_attrs": [{"name": "score", "mode": "max", "regex": r"score=([0-9.]+)"}],
        "search_params": [{"name": "lr", "param_type": "discrete",
                           "discrete_values": [0.1, 0.3]}],
        "algo_configs": [{"name": "grid_search", "params": []}],
    }
    rec = service.jobs.create(SUB, sub_job(subscription, published["version_id"],
                                           "obs://out/search/", name="s",
                                           policies={"auto_search": policy}))
    sid = rec["metadata"]["id"]
    done = wait_for(service, sid, final, project=SUB, timeout=120)
    assert done["status"]["phase"] == "Completed", done["status"]
    trials = service.search.list_trials(SUB, sid)["trials"]
    assert sorted(t["params"]["lr"] for t in trials) == [0.1, 0.3]
    assert max(t["value"] for t in trials) == pytest.approx(1.0)
    for t in trials:  # each trial is a job from the same subscription and version
        job = service.jobs.get(SUB, t["job_id"])
        assert job["algorithm"]["item_version_id"] == published["version_id"]
        assert job["algorithm"]["content_id"] == published["content_id"]


def test_publishing_honours_the_host_paths_policy(settings: Settings, tmp_path: Path) -> None:
    """A file:// code directory is the publisher's host path: allowed only under the
    installation's roots. The snapshot is the service's own, so jobs from it never need a
    host-path root (here none is under the service's home)."""
    from fixtures.jobs import algorithm_for
    from service.gallery.conftest import PARAMS

    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    for folder in (allowed, outside):
        (folder / "code").mkdir(parents=True)
        (folder / "code" / "train.py").write_text(train_py(folder.name))
    service = Service(settings.model_copy(update={"host_paths": [allowed]}))
    try:
        for name, folder in (("ok", allowed), ("bad", outside)):
            service.algorithms.create(PUB, algorithm_for(f"file://{folder}/code/", name,
                                                         parameters=PARAMS))
        with pytest.raises(Forbidden) as err:
            service.gallery.publish(PUB, {"algorithm": {"id": "bad"}})
        assert err.value.message.startswith("job_config.code_dir: ")
        assert "host_paths" in err.value.message
        assert service.gallery.list(name="bad")[1] == 0
        published = service.gallery.publish(PUB, {"algorithm": {"id": "ok"}})
        sub = service.gallery.subscribe(SUB, {"content_id": published["content_id"]})
        done = run(service, sub_job(sub, published["version_id"], "obs://out/hp/"))
        assert done["status"]["phase"] == "Completed", done["status"]
        assert (out_dir(service.settings, "obs://out/hp/") / "model.txt").read_text() \
            == "allowed lr=0.1"
        with pytest.raises(Forbidden):  # the job's own channels are still checked
            service.jobs.create(SUB, sub_job(sub, published["version_id"],
                                             f"file://{outside}/out/"))
    finally:
        service.close()
