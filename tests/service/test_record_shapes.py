"""The typed records (TypedDicts in service/records.py, filesystem_records.py,
identity_records.py, gallery/records.py, datasets/records.py, engines.py, catalog.py)
describe what the services really return: real records, made by a real service on a real
database and store, are validated against their shape with pydantic (every required key
present, every value of the declared type). Closed shapes must also hold no key they do
not declare; algorithm and job records carry the user's body through, so only theirs are
open."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import TypeAdapter

from fixtures.datasets import classification_tree, write_local
from fixtures.datasets import dataset_body as body
from fixtures.jobs import algorithm_for, final, job_for, wait_for
from modelyard.service import Service
from modelyard.service.catalog import FlavorRecord, flavors
from modelyard.service.datasets.records import (
    DatasetRecord,
    DatasetStatsRecord,
    ImportTaskRecord,
    LabelListRecord,
    SamplePageRecord,
    VersionRecord,
)
from modelyard.service.engines import EngineRecord, available
from modelyard.service.filesystem_records import FileSystemRecord, FsTaskRecord
from modelyard.service.filesystems import FileSystemService
from modelyard.service.fs_tasks import TaskRunner
from modelyard.service.gallery.records import AssetRecord, SubscriptionRecord
from modelyard.service.gallery.records import VersionRecord as GalleryVersionRecord
from modelyard.service.identity_records import (
    AccessKeyRecord,
    NewAccessKey,
    NewProject,
    NewUser,
    ProjectRecord,
    RoleGrant,
    SessionToken,
    UserRecord,
)
from modelyard.service.job_listing import search_jobs
from modelyard.service.records import (
    AlgorithmRecord,
    EventRecord,
    JobPage,
    JobRecord,
    LogPreviewRecord,
)
from modelyard.settings import Settings


def conforms(shape: Any, record: Any, closed: bool = True) -> None:
    """``record`` has ``shape``'s required keys with values of their types (pydantic,
    strict: no coercion) and, if the shape is closed, no other key."""
    TypeAdapter(shape).validate_python(record, strict=True)
    if closed:
        declared = shape.__required_keys__ | shape.__optional_keys__
        assert set(record) <= declared, f"undeclared keys: {set(record) - declared}"


def test_the_checker_refuses_a_missing_key_a_wrong_type_and_an_extra_key() -> None:
    good = {"time": "2026-01-01T00:00:00Z", "timestamp": 1, "level": "Info",
            "source": "Job", "message": "m"}
    conforms(EventRecord, good)
    for bad in ({k: v for k, v in good.items() if k != "level"}, {**good, "timestamp": "1"}):
        with pytest.raises(ValueError):
            conforms(EventRecord, bad)
    with pytest.raises(AssertionError, match="undeclared keys"):
        conforms(EventRecord, {**good, "extra": 1})


@pytest.mark.slow
def test_algorithm_job_event_and_search_records(service: Service,
                                               code: Callable[[str, str], str]) -> None:
    """A real job, run to its end in the sandboxed runtime."""
    url = code("shape", "print('hello')\n")
    record, _ = service.algorithms.create("p", algorithm_for(url, "shape"))
    conforms(AlgorithmRecord, record, closed=False)
    conforms(AlgorithmRecord, service.algorithms.update(
        "p", "shape", {"metadata": {"name": "shape", "description": "d"}}), closed=False)
    job = service.jobs.create("p", job_for("shape", "obs://out/shape/"))
    conforms(JobRecord, job, closed=False)
    done = wait_for(service, job["metadata"]["id"], final)
    assert done["status"]["phase"] == "Completed"
    conforms(JobRecord, done, closed=False)
    page = search_jobs(service, "p", {})
    conforms(JobPage, page)
    assert [r["metadata"]["id"] for r in page["items"]] == [job["metadata"]["id"]]
    events, total = service.jobs.events("p", job["metadata"]["id"])
    assert total == len(events) > 0
    for event in events:
        conforms(EventRecord, event)
    preview = service.jobs.log_preview("p", job["metadata"]["id"])
    conforms(LogPreviewRecord, preview)
    assert "hello" in preview["content"]


def test_gallery_records(service: Service) -> None:
    """The built-in digits asset, and a subscription to it."""
    assets, total = service.gallery.list()
    assert total == len(assets) >= 1
    for asset in assets:
        conforms(AssetRecord, asset)
        for version in asset["versions"]:
            conforms(GalleryVersionRecord, version)  # nested shapes are closed too
    subscription = service.gallery.subscribe("p", {"content_id": assets[0]["content_id"]})
    conforms(SubscriptionRecord, subscription)
    conforms(SubscriptionRecord, service.gallery.list_subscriptions("p")[0])


def test_filesystem_and_task_records(service: Service, settings: Settings) -> None:
    def run_inline(_settings: Settings, task_id: str) -> None:
        TaskRunner(settings, service.db).run(task_id)

    fss = FileSystemService(settings, service.db, spawn=run_inline)
    conforms(FileSystemRecord, fss.create("p", "fast"))
    shown = fss.get("p", "fast")
    conforms(FileSystemRecord, shown)
    assert "capacity" in shown and shown["mounted_by"] == []
    conforms(FileSystemRecord, fss.list("p")[0])
    write_local(settings, "bkt", {"in/a.txt": b"a"})
    task = fss.preload("p", "fast", "obs://bkt/in/")
    conforms(FsTaskRecord, task)
    assert task["status"] == "SUCCESS"
    conforms(FsTaskRecord, fss.tasks("p", "fast")[0])
    deleted = fss.delete("p", "fast")
    conforms(FileSystemRecord, deleted)
    assert deleted["data_deleted"] is True


def test_dataset_records(service: Service, settings: Settings) -> None:
    write_local(settings, "data", classification_tree("pets/"))
    record = service.datasets.create("p", body("pets", "obs://data/pets/", "obs://data/work/"))
    conforms(DatasetRecord, record)
    conforms(ImportTaskRecord, record["last_import"])
    ds = record["dataset_id"]
    conforms(SamplePageRecord, service.datasets.samples("p", ds))
    conforms(LabelListRecord, service.datasets.labels("p", ds))
    conforms(DatasetStatsRecord, service.datasets.stats("p", ds))
    version = service.datasets.create_version("p", ds, {"train_evaluate_sample_ratio": 0.75})
    conforms(VersionRecord, version)
    conforms(VersionRecord, service.datasets.versions("p", ds)[0])
    conforms(DatasetRecord, service.datasets.get("p", ds))  # now with a current version


def test_identity_records(service: Service) -> None:
    ids = service.identity
    conforms(NewUser, ids.create_user("ann"))
    conforms(NewProject, ids.create_project("proj"))
    conforms(RoleGrant, ids.grant("ann", "proj", "member"))
    key = ids.create_key("ann")
    conforms(NewAccessKey, key)
    conforms(AccessKeyRecord, ids.list_keys("ann")[0])
    conforms(UserRecord, ids.list_users()[0])
    conforms(ProjectRecord, ids.list_projects()[0])
    caller = ids.caller_for_key(key["access_key"])
    conforms(SessionToken, ids.issue_token(caller))


def test_engine_and_flavor_records(settings: Settings) -> None:
    engines = [e.record(settings) for e in available(settings)]
    assert engines
    for engine in engines:
        conforms(EngineRecord, engine)
    for flavor in flavors(settings):
        conforms(FlavorRecord, flavor.record())
