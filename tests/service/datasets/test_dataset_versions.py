"""Publishing dataset versions (issue 18): a ModelArts manifest in the work path with a
train/eval split, statistics, and every refusal naming its field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fixtures.datasets import classification_tree, png_bytes, read_manifest, write_local
from fixtures.datasets import dataset_body as body
from fixtures.jobs import out_dir
from modelyard.service import Service
from modelyard.service.errors import Conflict
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError


@pytest.fixture
def pets(service: Service, settings: Settings) -> str:
    write_local(settings, "data", classification_tree("pets/", per_label=10))
    return str(service.datasets.create("p", body("pets", "obs://data/pets/",
                                                 "obs://data/work/"))["dataset_id"])


def test_version_with_train_eval_split(service: Service, settings: Settings, pets: str) -> None:
    v = service.datasets.create_version("p", pets, {"train_evaluate_sample_ratio": "0.8",
                                                    "description": "first cut"})
    assert v["version_name"] == "V001" and v["status"] == 1
    assert v["version_format"] == "Default" and v["train_evaluate_sample_ratio"] == "0.8"
    assert (v["total_sample_count"], v["annotated_sample_count"]) == (31, 30)
    assert (v["train_sample_count"], v["eval_sample_count"]) == (24, 6)
    assert v["label_type"] == "single" and v["data_split"] is True
    assert {s["name"]: s["sample_count"] for s in v["label_stats"]} == \
        {"cat": 10, "dog": 10, "fox": 10}
    assert v["manifest_path"] == \
        f"obs://data/work/pets-{pets}/annotation/V001/pets-V001.manifest"
    lines = read_manifest(out_dir(settings, v["manifest_path"]))
    assert len(lines) == 31
    labelled = [line for line in lines if "annotation" in line]
    assert {line["usage"] for line in labelled} == {"TRAIN", "EVAL"}
    assert "usage" not in next(line for line in lines if line["source"].endswith("loose.png"))
    for line in labelled:  # the documented format, field by field
        assert set(line) == {"source", "id", "usage", "annotation"}
        assert line["source"].startswith("obs://data/pets/")
        assert re.fullmatch(r"[0-9a-f]{32}", line["id"])
        (ann,) = line["annotation"]
        assert set(ann) == {"type", "name", "property", "annotated-by", "creation-time"}
        assert ann["type"] == "modelarts/image_classification"
        assert ann["name"] == line["source"].split("/")[-2]
        assert ann["annotated-by"] == "human"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", ann["creation-time"])
    per_label = {}
    for line in labelled:
        per_label.setdefault(line["annotation"][0]["name"], []).append(line["usage"])
    assert all(u.count("EVAL") == 2 for u in per_label.values())  # stratified


def test_versions_are_numbered_listed_and_found_by_name(service: Service, pets: str) -> None:
    first = service.datasets.create_version("p", pets, {})
    second = service.datasets.create_version("p", pets, {"version_name": "final"})
    third = service.datasets.create_version("p", pets, {})
    assert (first["version_name"], second["version_name"], third["version_name"]) == \
        ("V001", "final", "V003")
    assert first["data_split"] is False and first["eval_sample_count"] == 0
    assert [v["version_name"] for v in service.datasets.versions("p", pets)] == \
        ["V003", "final", "V001"]
    assert service.datasets.version("p", "pets", "final")["version_id"] == second["version_id"]
    assert service.datasets.get("p", pets)["current_version_name"] == "V003"
    with pytest.raises(Conflict, match="already a version"):
        service.datasets.create_version("p", pets, {"version_name": "final"})
    service.datasets.delete_version("p", pets, "final")
    assert len(service.datasets.versions("p", pets)) == 2


@pytest.mark.parametrize(("request_body", "field", "phrase"), [
    ({"train_evaluate_sample_ratio": "1.5"}, "train_evaluate_sample_ratio", "from 0 to 1"),
    ({"train_evaluate_sample_ratio": -1}, "train_evaluate_sample_ratio", "from 0 to 1"),
    ({"version_format": "CarbonData"}, "version_format", "not supported"),
    ({"version_format": "Parquet"}, "version_format", "Default"),
    ({"version_name": "v 1"}, "version_name", "1-64 characters"),
])
def test_bad_version_requests(service: Service, pets: str, request_body: dict[str, Any],
                              field: str, phrase: str) -> None:
    with pytest.raises(SpecError) as err:
        service.datasets.create_version("p", pets, request_body)
    assert err.value.field == field and phrase in err.value.rule
    assert service.datasets.versions("p", pets) == []


def test_an_empty_dataset_has_no_version(service: Service) -> None:
    ds = service.datasets.create("p", body("empty", "obs://data/none/", "obs://data/w/"))
    with pytest.raises(SpecError) as err:
        service.datasets.create_version("p", ds["dataset_id"], {})
    assert err.value.field == "dataset_id" and "no samples" in err.value.rule


def test_types_without_a_split_refuse_a_ratio(service: Service, settings: Settings) -> None:
    write_local(settings, "data", {"seg/a.png": png_bytes()})
    ds = service.datasets.create("p", body("seg", "obs://data/seg/", "obs://data/w/", kind=3))
    with pytest.raises(SpecError) as err:
        service.datasets.create_version("p", ds["dataset_id"],
                                        {"train_evaluate_sample_ratio": 0.5})
    assert err.value.field == "train_evaluate_sample_ratio"
    assert "image segmentation" in err.value.rule and "not split" in err.value.rule
    v = service.datasets.create_version("p", ds["dataset_id"], {})
    assert v["label_type"] == "unlabeled" and v["total_sample_count"] == 1
