"""An algorithm's input constraints on a dataset input (seed S4.2, issue 18): ``attributes``
in each shape ModelArts' API sends, and the check of a dataset version against them.

No pydantic models here: job resolution and ``spec.channels`` import this on every job."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from modelyard.spec.dataset_types import DatasetType, VersionFormat, check_dataset_type
from modelyard.spec.errors import SpecError

DATASET_DATA_TYPES = frozenset({"dataset", "modelarts_dataset"})
SPLIT_VALUES = frozenset({"true", "false", "no_limit"})
LABEL_TYPES = frozenset({"single", "multi", "unlabeled"})
CONSTRAINT_KEYS = ("dataset_type", "label_type", "data_format", "data_segmentation")


def normalize_attributes(value: Any, field: str = "") -> dict[str, list[str]] | None:
    """A constraint's ``attributes`` in each shape the ModelArts API uses: a map of lists
    (``{"data_format": ["Default"]}``), a list of maps (``[{"data_format": "Default"}]``
    or ``[{"key": "data_format", "value": "Default"}]``), or either one as a JSON string.
    Returns one map of lists of strings."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SpecError(field, value, "attributes given as a string are JSON (a map of "
                            "lists or a list of maps)") from None
    out: dict[str, list[str]] = {}

    def add(key: Any, item: Any) -> None:
        if not isinstance(key, str):
            raise SpecError(field, value, "attribute names are strings")
        items = item if isinstance(item, list) else [item]
        for one in items:
            if not isinstance(one, str | int | float) or isinstance(one, bool):
                raise SpecError(f"{field}.{key}" if field else key, item,
                                "attribute values are strings (or lists of strings)")
            out.setdefault(key, []).append(str(one))

    if isinstance(value, dict):
        for key, item in value.items():
            add(key, item)
    elif isinstance(value, list):
        for entry in value:
            if not isinstance(entry, dict):
                raise SpecError(field, value, "a list of attributes holds objects")
            if set(entry) == {"key", "value"}:
                add(entry["key"], entry["value"])
            else:
                for key, item in entry.items():
                    add(key, item)
    else:
        raise SpecError(field, value, "attributes are a map of lists, a list of maps or a "
                        "JSON string of either")
    _check_attribute_values(out, field)
    return out


def _check_attribute_values(attrs: dict[str, list[str]], field: str) -> None:
    def where(key: str) -> str:
        return f"{field}.{key}" if field else key

    for code in attrs.get("dataset_type", []):
        check_dataset_type(code, where("dataset_type"))
    for fmt in attrs.get("data_format", []):
        if fmt not in {f.value for f in VersionFormat}:
            raise SpecError(where("data_format"), fmt,
                            "data_format is Default (manifest) or CarbonData (seed S4.2)")
    for split in attrs.get("data_segmentation", []):
        if split.lower() not in SPLIT_VALUES:
            raise SpecError(where("data_segmentation"), split,
                            "data_segmentation is true (only split datasets), false (only "
                            "unsplit) or no_limit (seed S4.2)")
    for label in attrs.get("label_type", []):
        if label not in LABEL_TYPES:
            raise SpecError(where("label_type"), label,
                            "label_type is single, multi or unlabeled")


@dataclass(frozen=True)
class VersionFacts:
    """A published dataset version as a job input: what the input constraints look at and
    where the runtime finds its manifest and files."""

    dataset_id: str
    dataset_name: str
    version_id: str
    version_name: str
    dataset_type: DatasetType
    label_type: str
    version_format: str
    split: bool
    data_url: str
    """The dataset's data source (a folder): what the job's input folder mirrors."""
    manifest_url: str
    manifest_name: str


def check_constraints(constraints: list[tuple[str, dict[str, list[str]] | None]],
                      facts: VersionFacts, field: str) -> None:
    """Seed S4.2: the version must satisfy the algorithm's constraints. ``constraints`` are
    (data_type, attributes) pairs; with none that allows a dataset, a dataset is refused.
    With several dataset constraints, one that is fully met is enough; otherwise the first
    violation of the first one is reported."""
    if not constraints:
        return
    dataset_ones = [attrs for kind, attrs in constraints if kind in DATASET_DATA_TYPES]
    if not dataset_ones:
        raise SpecError(field, facts.dataset_id,
                        "the algorithm's input constraints allow only a storage location "
                        "(data_type obs) for this input, not a dataset (seed S4.2)")
    first: SpecError | None = None
    for attrs in dataset_ones:
        try:
            _check_one(attrs or {}, facts, field)
            return
        except SpecError as exc:
            first = first or exc
    assert first is not None
    raise first


def _check_one(attrs: dict[str, list[str]], facts: VersionFacts, field: str) -> None:
    kinds = attrs.get("dataset_type")
    if kinds and str(facts.dataset_type.value) not in kinds:
        raise SpecError(f"{field}.dataset_type", facts.dataset_type.value,
                        f"the algorithm accepts datasets of type {', '.join(kinds)} only "
                        f"(dataset {facts.dataset_name!r} is {facts.dataset_type.value}, "
                        f"{facts.dataset_type.name.lower().replace('_', ' ')}; seed S4.2 "
                        "label type)")
    labels = attrs.get("label_type")
    if labels and facts.label_type not in labels:
        raise SpecError(f"{field}.label_type", facts.label_type,
                        f"the algorithm accepts label_type {', '.join(labels)} only "
                        f"(version {facts.version_name!r} is {facts.label_type})")
    formats = attrs.get("data_format")
    if formats and facts.version_format not in formats:
        raise SpecError(f"{field}.data_format", facts.version_format,
                        f"the algorithm accepts data_format {', '.join(formats)} only "
                        f"(version {facts.version_name!r} is {facts.version_format}; "
                        "seed S4.2)")
    splits = {s.lower() for s in attrs.get("data_segmentation", [])}
    if splits and "no_limit" not in splits:
        wanted = "true" in splits
        if "false" in splits and "true" in splits:
            return
        if facts.split != wanted:
            state = "split into train/eval" if facts.split else "not split"
            need = "only split datasets" if wanted else "only unsplit datasets"
            raise SpecError(f"{field}.data_segmentation", str(facts.split).lower(),
                            f"the algorithm accepts {need} (version {facts.version_name!r} is "
                            f"{state}; seed S4.2 data split)")
