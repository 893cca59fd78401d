"""Importing datasets from object storage (issue 18): one folder per label, a manifest,
PASCAL VOC; bad files reported, not swallowed. On the embedded store, and on a real S3
endpoint (SeaweedFS) for obs:// sources."""

from __future__ import annotations

from typing import Any

import pytest

from fixtures.datasets import (
    classification_tree,
    manifest,
    png_bytes,
    voc_xml,
    write_local,
    write_s3,
)
from fixtures.datasets import (
    dataset_body as body,
)
from modelyard.service import Service
from modelyard.service.datasets.importer import voc_labels
from modelyard.service.errors import Conflict, NotFound
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.storage.seaweed import SeaweedServer


def check_classification(service: Service, record: dict[str, Any], root: str) -> None:
    assert record["status"] == 1  # normal: the import has finished
    assert record["total_sample_count"] == 13  # 3 labels x 4 + one loose file
    assert record["annotated_sample_count"] == 12
    assert [lb["name"] for lb in record["labels"]] == ["cat", "dog", "fox"]
    task = record["last_import"]
    assert task["status"] == "COMPLETED"
    assert (task["not_sample_count"], task["unreadable_count"]) == (1, 2)
    problems = {p["path"]: p["reason"] for p in task["problems"]}
    assert problems[f"{root}cat/notes.txt"].startswith("not a sample")
    assert problems[f"{root}dog/empty.png"].startswith("unreadable")
    assert problems[f"{root}fox/fake.png"].startswith("unreadable")


def test_folder_per_label_on_the_embedded_store(service: Service, settings: Settings) -> None:
    write_local(settings, "data", classification_tree("pets/"))
    record = service.datasets.create("p", body("pets", "obs://data/pets/", "obs://data/work/"))
    check_classification(service, record, "obs://data/pets/")
    ds = record["dataset_id"]
    stats = service.datasets.stats("p", ds)
    assert {s["name"]: s["sample_count"] for s in stats["label_list"]} == \
        {"cat": 4, "dog": 4, "fox": 4}
    assert stats["sample_stats"]["un_annotation"] == 1
    cats = service.datasets.samples("p", ds, label="cat")
    assert cats["sample_count"] == 4
    sample = cats["samples"][0]
    assert sample["sample_status"] == "MANUAL_ANNOTATION" and sample["sample_type"] == 0
    assert sample["annotation"][0]["type"] == "modelarts/image_classification"
    assert service.datasets.samples("p", ds, offset=12, limit=5)["samples"][0]["source"] \
        .endswith("loose.png")
    assert service.datasets.get("p", "pets")["dataset_id"] == ds  # by name too


def test_without_import_annotations_samples_are_unlabelled(service: Service,
                                                           settings: Settings) -> None:
    write_local(settings, "data", classification_tree("raw/"))
    record = service.datasets.create("p", body("raw", "/data/raw", "/data/w",
                                               import_annotations=False))
    assert record["total_sample_count"] == 13 and record["annotated_sample_count"] == 0


@pytest.mark.slow
def test_folder_per_label_through_s3(s3_settings: Settings, s3_bucket: str, s3_prefix: str,
                                     seaweed: SeaweedServer) -> None:
    write_s3(seaweed.client(), s3_bucket, classification_tree(s3_prefix + "pets/"))
    service = Service(s3_settings)
    try:
        root = f"obs://{s3_bucket}/{s3_prefix}pets/"
        record = service.datasets.create(
            "p", body("pets", root, f"obs://{s3_bucket}/{s3_prefix}work/"))
        check_classification(service, record, root)
        # A data source that cannot be read refuses the dataset and stores nothing.
        with pytest.raises(SpecError) as err:
            service.datasets.create("p", body("gone", "obs://no-such-bucket-here/x/",
                                              f"obs://{s3_bucket}/{s3_prefix}w/"))
        assert err.value.field == "data_sources[0].data_path"
        assert "cannot be read" in err.value.rule
        assert [d["dataset_name"] for d in service.datasets.list("p")] == ["pets"]
    finally:
        service.close()


def test_manifest_import_reports_missing_files_and_broken_lines(service: Service,
                                                                settings: Settings) -> None:
    ann = {"type": "modelarts/image_classification", "name": "cat",
           "annotated-by": "human", "creation-time": "2019-01-23 11:30:30"}
    lines = [
        {"source": "imgs/a.png", "usage": "TRAIN", "annotation": [ann]},     # relative
        {"source": "obs://data/m/imgs/b.png", "annotation": [{**ann, "name": "dog"}]},
        {"source": "/data/m/imgs/c.png"},                                   # unlabelled
        {"source": "obs://data/m/imgs/missing.png", "annotation": [ann]},   # unreadable
        {"source": "obs://data/m/imgs/d.png",
         "annotation": [{"type": "modelarts/object_detection", "name": "x"}]},  # wrong type
        {"source": "file:///etc/passwd.png"},                               # host path
    ]
    write_local(settings, "data", {
        "m/set.manifest": manifest(lines) + b"{broken\n",
        **{f"m/imgs/{n}.png": png_bytes() for n in "abcd"}})
    record = service.datasets.create("p", body("m", "obs://data/m/", "obs://data/work/",
                                               import_data=False))
    assert record["status"] == 1 and record["total_sample_count"] == 0
    task = service.datasets.import_("p", "m", {"import_path": "obs://data/m/set.manifest"})
    assert task["imported_sample_count"] == 4
    assert task["annotated_sample_count"] == 2
    assert task["unreadable_count"] == 2 and task["broken_annotation_count"] == 2
    reasons = " ".join(p["path"] for p in task["problems"])
    assert "missing.png" in reasons and "manifest line 7" in reasons
    assert "passwd" in reasons  # a host path in a manifest is refused, not read
    labels = service.datasets.labels("p", "m")["labels"]
    assert [lb["name"] for lb in labels] == ["cat", "dog"]
    assert service.datasets.import_task("p", "m", task["task_id"]) == task


def test_pascal_voc_detection(service: Service, settings: Settings) -> None:
    write_local(settings, "data", {
        "voc/1.jpg": b"\xff\xd8\xff\xe0 jpeg",
        "voc/1.xml": voc_xml("1.jpg", [("car", 1, 1, 5, 5), ("person", 2, 2, 6, 7)]),
        "voc/2.png": png_bytes(),
        "voc/2.xml": voc_xml("2.png", [("car", 1, 1, 4, 4)]),
        "voc/3.png": png_bytes(),
        "voc/3.xml": b"<annotation><object><name>car</name></object>",  # broken XML
        "voc/4.png": png_bytes(),                                        # no annotation
    })
    record = service.datasets.create("p", body("cars", "obs://data/voc/", "obs://data/w/",
                                               kind=1))
    assert record["total_sample_count"] == 4 and record["annotated_sample_count"] == 2
    task = record["last_import"]
    assert task["broken_annotation_count"] == 1
    assert task["problems"][0]["path"] == "obs://data/voc/3.xml"
    first = service.datasets.samples("p", "cars")["samples"][0]
    assert first["annotation"][0] == {
        **first["annotation"][0], "type": "modelarts/object_detection",
        "annotation-loc": "obs://data/voc/1.xml", "annotation-format": "PASCAL VOC"}
    stats = service.datasets.stats("p", "cars")["label_list"]
    assert {s["name"]: (s["count"], s["sample_count"]) for s in stats} == \
        {"car": (2, 2), "person": (1, 1)}


@pytest.mark.parametrize(("xml", "phrase"), [
    (b"<annotation><object><name>c</name><bndbox><xmin>5</xmin><ymin>1</ymin>"
     b"<xmax>2</xmax><ymax>4</ymax></bndbox></object></annotation>", "xmin < xmax"),
    (b"<annotation><object><bndbox/></object></annotation>", "has a name"),
    (b"<annotation><object><name>c</name></object></annotation>", "has a bndbox"),
    (b"<voc/>", "<annotation> root"),
    (b"<annotation>", "well-formed"),
])
def test_broken_voc_files(xml: bytes, phrase: str) -> None:
    with pytest.raises(SpecError, match=phrase):
        voc_labels(xml)


def test_refusals_store_nothing(service: Service, settings: Settings) -> None:
    write_local(settings, "data", classification_tree("pets/"))
    service.datasets.create("p", body("pets", "obs://data/pets/", "obs://data/work/"))
    with pytest.raises(Conflict, match="already exists"):
        service.datasets.create("p", body("pets", "obs://data/pets/", "obs://data/work/"))
    with pytest.raises(SpecError) as err:
        service.datasets.create("p", body("bad", "obs://data/pets/", "obs://data/pets/w/"))
    assert err.value.field == "work_path"
    assert [d["dataset_name"] for d in service.datasets.list("p")] == ["pets"]


def test_projects_do_not_see_each_other(service: Service, settings: Settings) -> None:
    write_local(settings, "data", classification_tree("pets/"))
    ds = service.datasets.create("p", body("pets", "obs://data/pets/", "obs://data/w/"))
    for call in (lambda: service.datasets.get("q", ds["dataset_id"]),
                 lambda: service.datasets.samples("q", "pets"),
                 lambda: service.datasets.import_("q", "pets", {"import_path": "/data/pets"}),
                 lambda: service.datasets.create_version("q", "pets", {}),
                 lambda: service.datasets.delete("q", "pets")):
        with pytest.raises(NotFound):
            call()
    assert service.datasets.list("q") == []
