"""Datasets in the spec layer (issue 18, seed S4.2): the manifest format (from the format
documentation's own examples), requests, and each input-constraint rule."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from modelyard.spec import parse_algorithm, parse_job, resolve_job
from modelyard.spec.channels import DatasetRemote
from modelyard.spec.dataset_constraints import VersionFacts, check_constraints, normalize_attributes
from modelyard.spec.dataset_types import DatasetType, image_content_ok
from modelyard.spec.datasets import DatasetCreate, VersionCreate
from modelyard.spec.errors import SpecError, from_pydantic
from modelyard.spec.manifest import parse_manifest, rewrite_manifest, split_usage
from spec.builders import algorithm_doc, expect_error

# "Specifications for Importing a Manifest File" (ModelArts user guide), image classification.
DOC_CLASSIFICATION = {
    "source": "s3://path/to/image1.jpg",
    "usage": "TRAIN",
    "hard": "true",
    "hard-coefficient": 0.8,
    "id": "0162005993f8065ef47eefb59d1e4970",
    "annotation": [
        {"type": "modelarts/image_classification", "name": "cat",
         "property": {"color": "white", "kind": "Persian cat"},
         "hard": "true", "hard-coefficient": 0.8,
         "annotated-by": "human", "creation-time": "2019-01-23 11:30:30"},
        {"type": "modelarts/image_classification", "name": "animal",
         "annotated-by": "modelarts/active-learning", "confidence": 0.8,
         "creation-time": "2019-01-23 11:30:30"},
    ],
    "inference-loc": "/path/to/inference-output",
}
# The same document, object detection: boxes live in a PASCAL VOC file.
DOC_DETECTION = {
    "source": "s3://path/to/image1.jpg",
    "usage": "TRAIN",
    "hard": "true",
    "hard-coefficient": 0.8,
    "annotation": [
        {"type": "modelarts/object_detection",
         "annotation-loc": "s3://path/to/annotation1.xml",
         "annotation-format": "PASCAL VOC",
         "annotated-by": "human", "creation-time": "2019-01-23 11:30:30"},
    ],
}


def _lines(*docs: dict[str, Any]) -> str:
    return "".join(json.dumps(d) + "\n" for d in docs)


def facts(**changes: Any) -> VersionFacts:
    base: dict[str, Any] = dict(
        dataset_id="ds1", dataset_name="digits", version_id="v1", version_name="V001",
        dataset_type=DatasetType.IMAGE_CLASSIFICATION, label_type="single",
        version_format="Default", split=True, data_url="obs://bkt/digits/",
        manifest_url="obs://bkt/work/digits-V001.manifest",
        manifest_name="digits-V001.manifest")
    base.update(changes)
    return VersionFacts(**base)


# --- manifests -------------------------------------------------------------------------


def test_documented_classification_line() -> None:
    lines, broken = parse_manifest(_lines(DOC_CLASSIFICATION))
    assert broken == []
    (line,) = lines
    assert line.source == "s3://path/to/image1.jpg"
    assert line.usage == "TRAIN"
    assert line.labels == ["cat", "animal"]
    assert line.raw["annotation"][0]["property"] == {"color": "white", "kind": "Persian cat"}


def test_documented_detection_line() -> None:
    (line,), broken = parse_manifest(_lines(DOC_DETECTION))
    assert broken == []
    assert line.annotation_locs == ["s3://path/to/annotation1.xml"]
    assert line.labels == []


def test_rewrite_changes_only_sources_and_annotation_locations() -> None:
    text = _lines(DOC_CLASSIFICATION, DOC_DETECTION)
    out = rewrite_manifest(text, {"s3://path/to/image1.jpg": "/in/image1.jpg",
                                  "s3://path/to/annotation1.xml": "/in/annotation1.xml"})
    first, second = (json.loads(x) for x in out.splitlines())
    assert first["source"] == "/in/image1.jpg"
    assert {k: v for k, v in first.items() if k != "source"} == \
        {k: v for k, v in DOC_CLASSIFICATION.items() if k != "source"}
    assert second["annotation"][0]["annotation-loc"] == "/in/annotation1.xml"
    assert second["annotation"][0]["annotation-format"] == "PASCAL VOC"


@pytest.mark.parametrize(("row", "phrase"), [
    ("not json", "JSON Lines"),
    ("[1, 2]", "one JSON object"),
    ('{"usage": "TRAIN"}', "has a source"),
    ('{"source": "s3://b/x.jpg", "usage": "LATER"}', "TRAIN, EVAL, TEST or INFERENCE"),
    ('{"source": "s3://b/x.jpg", "annotation": {"type": "x"}}', "a list of objects"),
    ('{"source": "s3://b/x.jpg", "annotation": [{"name": "cat"}]}', "with a type"),
])
def test_broken_lines_are_reported_with_their_number(row: str, phrase: str) -> None:
    lines, broken = parse_manifest(_lines(DOC_DETECTION) + "\n" + row + "\n")
    assert len(lines) == 1
    assert len(broken) == 1 and broken[0].startswith("manifest line 3") and phrase in broken[0]


def test_split_is_stratified_and_deterministic() -> None:
    samples = [(f"obs://b/{label}/{i}.png", [label]) for label in "ab" for i in range(10)]
    samples.append(("obs://b/unlabelled.png", []))
    usage = split_usage(samples, 0.8)
    assert usage == split_usage(list(reversed(samples)), 0.8)
    for label in "ab":
        mine = [usage[s] for s, labels in samples if labels == [label]]
        assert mine.count("TRAIN") == 8 and mine.count("EVAL") == 2
    assert "obs://b/unlabelled.png" not in usage
    assert set(split_usage(samples, 1.0).values()) == {"TRAIN"}


def test_image_content_sniffing() -> None:
    assert image_content_ok(b"\x89PNG\r\n\x1a\n....")
    assert image_content_ok(b"\xff\xd8\xff\xe0")
    assert not image_content_ok(b"hello, world")
    assert not image_content_ok(b"")


# --- requests --------------------------------------------------------------------------


def _create(**changes: Any) -> DatasetCreate:
    body: dict[str, Any] = {"dataset_name": "digits", "dataset_type": 0,
                            "data_sources": [{"data_type": 0, "data_path": "/bkt/digits"}],
                            "work_path": "/bkt/work/"}
    body.update(changes)
    try:
        req = DatasetCreate.model_validate(body)
    except ValidationError as exc:
        raise from_pydantic(exc) from None
    req.check_paths()
    return req


def test_create_normalizes_paths() -> None:
    req = _create()
    assert req.data_path == "obs://bkt/digits/" and req.work_path == "obs://bkt/work/"
    assert req.import_annotations is True  # as in ModelArts


@pytest.mark.parametrize(("changes", "field", "phrase"), [
    ({"dataset_type": 2}, "dataset_type", "0 (image classification)"),
    ({"dataset_type": "x"}, "dataset_type", "900 (free format)"),
    ({"dataset_name": "my data"}, "dataset_name", "1-64 characters"),
    ({"work_path": "file:///etc/"}, "work_path", "never a path on the server"),
    ({"data_sources": [{"data_path": "file:///srv/x"}]}, "data_sources[0].data_path",
     "never a path on the server"),
    ({"data_sources": [{"data_type": 1, "data_path": "/bkt/x"}]},
     "data_sources[0].data_type", "OBS"),
    ({"work_path": "/bkt/digits/work/"}, "work_path", "must not contain each other"),
    ({"data_sources": []}, "data_sources", ""),
])
def test_create_rules(changes: dict[str, Any], field: str, phrase: str) -> None:
    with pytest.raises(SpecError) as info:
        _create(**changes)
    assert info.value.field == field, info.value.message
    assert phrase in info.value.rule


@pytest.mark.parametrize("ratio", ["0.8", 0.8, 0, 1, "1.00"])
def test_ratio_accepts_numbers_and_strings(ratio: Any) -> None:
    assert VersionCreate.model_validate({"train_evaluate_sample_ratio": ratio}) \
        .train_evaluate_sample_ratio == float(ratio)


@pytest.mark.parametrize("ratio", ["1.5", -0.1, "abc", True, "nan"])
def test_ratio_outside_0_1_is_refused(ratio: Any) -> None:
    with pytest.raises(ValidationError) as info:
        VersionCreate.model_validate({"train_evaluate_sample_ratio": ratio})
    err = from_pydantic(info.value)
    assert err.field == "train_evaluate_sample_ratio" and "from 0 to 1" in err.rule


def test_carbondata_is_refused_clearly() -> None:
    with pytest.raises(ValidationError) as info:
        VersionCreate.model_validate({"version_format": "CarbonData"})
    err = from_pydantic(info.value)
    assert err.field == "version_format" and err.value == "CarbonData"
    assert "not supported" in err.rule and "Default" in err.rule


# --- attributes: every shape the ModelArts API sends ----------------------------------

ISSUE_EXAMPLE = {"data_format": ["CarbonData"], "data_segmentation": ["false"],
                 "dataset_type": ["0"]}


@pytest.mark.parametrize("shape", [
    ISSUE_EXAMPLE,
    [{"data_format": "CarbonData"}, {"data_segmentation": "false"}, {"dataset_type": 0}],
    [{"key": "data_format", "value": "CarbonData"}, {"key": "data_segmentation",
                                                      "value": ["false"]},
     {"key": "dataset_type", "value": "0"}],
    json.dumps(ISSUE_EXAMPLE),
])
def test_attributes_shapes(shape: Any) -> None:
    assert normalize_attributes(shape) == ISSUE_EXAMPLE


def test_the_issue_constraint_is_accepted_on_an_algorithm() -> None:
    doc = algorithm_doc(inputs=[{"name": "data_url", "remote_constraints": [
        {"data_type": "modelarts_dataset", "attributes": ISSUE_EXAMPLE}]}])
    c = parse_algorithm(doc).job_config.inputs[0].remote_constraints[0]
    assert c.data_type == "modelarts_dataset" and c.attributes == ISSUE_EXAMPLE


@pytest.mark.parametrize(("attributes", "field", "phrase"), [
    ({"data_format": ["Parquet"]}, "data_format", "Default (manifest) or CarbonData"),
    ({"data_segmentation": ["maybe"]}, "data_segmentation", "no_limit"),
    ({"dataset_type": ["7"]}, "dataset_type", "dataset_type is one of"),
    ({"label_type": ["many"]}, "label_type", "single, multi or unlabeled"),
    ("{not json", "", "JSON"),
    (42, "", "map of lists"),
])
def test_bad_attributes(attributes: Any, field: str, phrase: str) -> None:
    doc = algorithm_doc(inputs=[{"name": "data_url", "remote_constraints": [
        {"data_type": "dataset", "attributes": attributes}]}])
    prefix = "job_config.inputs[0].remote_constraints[0].attributes"
    with pytest.raises(SpecError) as info:
        parse_algorithm(doc)
    assert info.value.field == (f"{prefix}.{field}" if field else prefix), info.value.message
    assert phrase in info.value.rule


# --- input constraints (seed S4.2): each rule ------------------------------------------

FIELD = "algorithm.inputs[0].remote.dataset"


@pytest.mark.parametrize(("attributes", "version", "rule_field", "value", "phrase"), [
    ({"dataset_type": ["1"]}, facts(), "dataset_type", 0, "type 1 only"),
    ({"label_type": ["multi"]}, facts(), "label_type", "single", "label_type multi only"),
    ({"data_format": ["CarbonData"]}, facts(), "data_format", "Default",
     "data_format CarbonData only"),
    ({"data_segmentation": ["true"]}, facts(split=False), "data_segmentation", "false",
     "only split datasets"),
    ({"data_segmentation": ["false"]}, facts(split=True), "data_segmentation", "true",
     "only unsplit datasets"),
])
def test_each_constraint_rule(attributes: dict[str, list[str]], version: VersionFacts,
                              rule_field: str, value: Any, phrase: str) -> None:
    expect_error(lambda: check_constraints([("modelarts_dataset", attributes)], version, FIELD),
                 f"{FIELD}.{rule_field}", value, phrase)


@pytest.mark.parametrize("attributes", [
    {}, {"data_segmentation": ["no_limit"]}, {"data_segmentation": ["true", "false"]},
    {"dataset_type": ["0", "1"], "data_format": ["Default", "CarbonData"],
     "label_type": ["single"], "data_segmentation": ["true"]},
])
def test_constraints_that_are_met(attributes: dict[str, list[str]]) -> None:
    check_constraints([("dataset", attributes)], facts(), FIELD)
    check_constraints([], facts(), FIELD)  # no constraints: anything goes


def test_one_of_several_constraints_is_enough() -> None:
    check_constraints([("dataset", {"dataset_type": ["1"]}),
                       ("dataset", {"dataset_type": ["0"]})], facts(), FIELD)


def test_storage_only_constraints_refuse_a_dataset() -> None:
    expect_error(lambda: check_constraints([("obs", None)], facts(), FIELD), FIELD, "ds1",
                 "only a storage location")


# --- resolution of a job input bound to a dataset version ------------------------------


def _algorithm(constraints: list[dict[str, Any]]) -> Any:
    return parse_algorithm(algorithm_doc(inputs=[
        {"name": "data_url", "remote_constraints": constraints}],
        outputs=[{"name": "train_url"}]))


def _job(remote: dict[str, Any], out: dict[str, Any] | None = None) -> Any:
    return parse_job({"metadata": {"name": "j"}, "algorithm": {
        "id": "a", "inputs": [{"name": "data_url", "remote": remote}],
        "outputs": [{"name": "train_url",
                     "remote": out or {"obs": {"obs_url": "obs://bkt/out/"}}}]}})


def _resolver(ref: DatasetRemote, field: str) -> VersionFacts:
    if ref.id != "ds1":
        raise SpecError(field, ref.id, "no such dataset")
    return facts(version_id=ref.version_id)


DATASET = {"dataset": {"id": "ds1", "version_id": "v1"}}


def test_a_dataset_input_becomes_a_dataset_channel() -> None:
    plan = resolve_job(_job(DATASET), _algorithm([{"data_type": "modelarts_dataset"}]),
                       _resolver)
    ch = plan.inputs[0]
    assert ch.url == "obs://bkt/digits/"
    assert ch.dataset is not None and ch.dataset.manifest_name == "digits-V001.manifest"


def test_a_violated_constraint_names_the_job_field() -> None:
    algorithm = _algorithm([{"data_type": "dataset",
                             "attributes": {"data_segmentation": ["false"]}}])
    expect_error(lambda: resolve_job(_job(DATASET), algorithm, _resolver),
                 "algorithm.inputs[0].remote.dataset.data_segmentation", "true",
                 "only unsplit")


def test_an_unknown_dataset_is_refused() -> None:
    job = _job({"dataset": {"id": "nope", "version_id": "v1"}})
    expect_error(lambda: resolve_job(job, _algorithm([]), _resolver),
                 "algorithm.inputs[0].remote.dataset", "nope", "no such dataset")


def test_dataset_only_input_refuses_a_storage_location() -> None:
    algorithm = _algorithm([{"data_type": "dataset"}])
    expect_error(lambda: resolve_job(_job({"obs": {"obs_url": "obs://bkt/x/"}}), algorithm,
                                     _resolver),
                 "algorithm.inputs[0].remote.obs", "obs://bkt/x/", "allow only a dataset")


def test_outputs_are_never_datasets() -> None:
    job = _job({"obs": {"obs_url": "obs://bkt/x/"}}, out=DATASET)
    expect_error(lambda: resolve_job(job, _algorithm([]), _resolver),
                 "algorithm.outputs[0].remote.dataset", "ds1", "not to a dataset")


def test_without_a_service_a_dataset_cannot_be_resolved() -> None:
    expect_error(lambda: resolve_job(_job(DATASET), _algorithm([])),
                 "algorithm.inputs[0].remote.dataset", "ds1", "resolved by a ModelYard")
