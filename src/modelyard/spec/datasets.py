"""Datasets (seed S4.2, issue 18): dataset types, requests, the manifest format, and the input
constraints an algorithm puts on a dataset input. No I/O.

Field names and codes are ModelArts' (v2 data management API and "Specifications for
Importing a Manifest File"): ``dataset_type`` 0 image classification ... 900 free format;
``status`` 0 creating ... 8 importing; manifests are JSON lines with ``source``, ``usage``
and an ``annotation`` list whose ``type`` is ``modelarts/<task>``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelyard.spec.errors import SpecError
from modelyard.spec.names import check_description, check_name
from modelyard.spec.paths import Location, parse_location


class DatasetType(IntEnum):
    """ModelArts ``dataset_type`` codes."""

    IMAGE_CLASSIFICATION = 0
    OBJECT_DETECTION = 1
    IMAGE_SEGMENTATION = 3
    TEXT_CLASSIFICATION = 100
    NAMED_ENTITY_RECOGNITION = 101
    TEXT_TRIPLET = 102
    SOUND_CLASSIFICATION = 200
    SPEECH_CONTENT = 201
    SPEECH_PARAGRAPH = 202
    TABLE = 400
    VIDEO = 600
    FREE_FORMAT = 900


class DatasetStatus(IntEnum):
    """ModelArts dataset ``status`` codes (the ones ModelYard passes through)."""

    CREATING = 0
    NORMAL = 1
    DELETING = 2
    DELETED = 3
    ABNORMAL = 4
    IMPORTING = 8


class VersionStatus(IntEnum):
    """ModelArts dataset-version ``status`` codes."""

    CREATING = 0
    NORMAL = 1
    DELETING = 2
    DELETED = 3
    ABNORMAL = 4


class VersionFormat(StrEnum):
    DEFAULT = "Default"
    CARBONDATA = "CarbonData"


class Usage(StrEnum):
    TRAIN = "TRAIN"
    EVAL = "EVAL"
    TEST = "TEST"
    INFERENCE = "INFERENCE"


ANNOTATION_TYPES: dict[DatasetType, str] = {
    DatasetType.IMAGE_CLASSIFICATION: "modelarts/image_classification",
    DatasetType.OBJECT_DETECTION: "modelarts/object_detection",
    DatasetType.IMAGE_SEGMENTATION: "modelarts/image_segmentation",
    DatasetType.TEXT_CLASSIFICATION: "modelarts/text_classification",
    DatasetType.NAMED_ENTITY_RECOGNITION: "modelarts/text_entity",
    DatasetType.TEXT_TRIPLET: "modelarts/text_triplet",
    DatasetType.SOUND_CLASSIFICATION: "modelarts/audio_classification",
    DatasetType.SPEECH_CONTENT: "modelarts/audio_content",
    DatasetType.SPEECH_PARAGRAPH: "modelarts/audio_segmentation",
}
"""The manifest ``annotation[].type`` of each labelled task (table, video and free-format
datasets carry no annotations in a manifest)."""

SPLITTABLE = frozenset({DatasetType.IMAGE_CLASSIFICATION, DatasetType.OBJECT_DETECTION,
                        DatasetType.TEXT_CLASSIFICATION, DatasetType.SOUND_CLASSIFICATION})
"""Seed S4.2: splitting exists for image classification, object detection, text
classification and sound classification."""

_IMAGES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"})
_AUDIO = frozenset({".wav", ".mp3", ".aac", ".m4a", ".flac", ".ogg"})
SAMPLE_SUFFIXES: dict[DatasetType, frozenset[str] | None] = {
    DatasetType.IMAGE_CLASSIFICATION: _IMAGES,
    DatasetType.OBJECT_DETECTION: _IMAGES,
    DatasetType.IMAGE_SEGMENTATION: _IMAGES,
    DatasetType.TEXT_CLASSIFICATION: frozenset({".txt", ".csv"}),
    DatasetType.NAMED_ENTITY_RECOGNITION: frozenset({".txt", ".csv"}),
    DatasetType.TEXT_TRIPLET: frozenset({".txt", ".csv"}),
    DatasetType.SOUND_CLASSIFICATION: _AUDIO,
    DatasetType.SPEECH_CONTENT: _AUDIO,
    DatasetType.SPEECH_PARAGRAPH: _AUDIO,
    DatasetType.TABLE: frozenset({".csv"}),
    DatasetType.VIDEO: frozenset({".mp4", ".avi", ".mov", ".mkv"}),
    DatasetType.FREE_FORMAT: None,  # any file
}
"""Which files count as samples of each type (by name; images are also checked by content)."""

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"GIF87a", b"GIF89a")


def image_content_ok(head: bytes) -> bool:
    """Whether the first bytes of a file look like an image (PNG, JPEG, BMP, GIF, WebP)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return any(head.startswith(m) for m in _IMAGE_MAGIC)


def is_image_type(kind: DatasetType) -> bool:
    return SAMPLE_SUFFIXES[kind] is _IMAGES


CARBONDATA_RULE = (
    "version_format CarbonData is not supported by ModelYard (no CarbonData writer is "
    "available); publish the version as Default (a manifest)"
)


def check_dataset_type(value: Any, field: str = "dataset_type") -> DatasetType:
    try:
        return DatasetType(int(value))
    except (TypeError, ValueError):
        codes = ", ".join(f"{t.value} ({t.name.lower().replace('_', ' ')})" for t in DatasetType)
        raise SpecError(field, value, f"dataset_type is one of {codes}") from None


def check_storage_url(value: Any, field: str) -> Location:
    """A dataset location: a folder in object storage. ``file://`` is refused: datasets are
    created through the API too, and a remote caller never names a host path."""
    loc = parse_location(value, field)
    if loc.scheme == "file":
        raise SpecError(field, value, "a dataset location is in object storage (obs://, s3:// "
                        "or /bucket/key), never a path on the server")
    return loc


class DataSource(BaseModel):
    """ModelArts ``data_sources[]``: ``data_type`` 0 is OBS (the only kind served here)."""

    model_config = ConfigDict(extra="ignore")

    data_type: int = 0
    data_path: str

    @field_validator("data_type")
    @classmethod
    def _obs(cls, v: int) -> int:
        if v != 0:
            raise SpecError("", v, "data_type 0 (OBS) is the only data source ModelYard serves")
        return v

    @field_validator("data_path")
    @classmethod
    def _path(cls, v: str) -> str:
        return check_storage_url(v, "").as_dir().url


class DatasetCreate(BaseModel):
    """``POST /v2/{project_id}/datasets``. Unknown ModelArts fields (``labels``,
    ``workspace_id``...) are accepted and ignored, as the official SDK sends them."""

    model_config = ConfigDict(extra="ignore")

    dataset_name: str
    dataset_type: DatasetType = DatasetType.IMAGE_CLASSIFICATION
    data_sources: list[DataSource] = Field(min_length=1, max_length=1)
    work_path: str
    work_path_type: int = 0
    description: str | None = None
    import_annotations: bool = True
    import_data: bool = True

    @field_validator("dataset_name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> str:
        return check_name(v, "")

    @field_validator("dataset_type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> DatasetType:
        return check_dataset_type(v, "")

    @field_validator("work_path")
    @classmethod
    def _work(cls, v: str) -> str:
        return check_storage_url(v, "").as_dir().url

    @field_validator("work_path_type")
    @classmethod
    def _work_type(cls, v: int) -> int:
        if v != 0:
            raise SpecError("", v, "work_path_type 0 (OBS) is the only work path kind")
        return v

    @field_validator("description")
    @classmethod
    def _description(cls, v: str | None) -> str | None:
        return check_description(v, "")

    @property
    def data_path(self) -> str:
        return self.data_sources[0].data_path

    def check_paths(self) -> None:
        """ModelArts: the work path is where versions are written; it must not lie inside
        the data source (a published manifest would be imported as data next time)."""
        data, work = parse_location(self.data_path), parse_location(self.work_path)
        if work.relative_to(data) is not None or data.relative_to(work) is not None:
            raise SpecError("work_path", self.work_path,
                            f"the work path and the data source ({self.data_path}) must not "
                            "contain each other")


class ImportCreate(BaseModel):
    """``POST /v2/{project_id}/datasets/{id}/import-tasks``."""

    model_config = ConfigDict(extra="ignore")

    import_path: str
    import_annotations: bool = True

    @field_validator("import_path")
    @classmethod
    def _path(cls, v: str) -> str:
        return check_storage_url(v, "").url


def parse_ratio(value: Any, field: str = "train_evaluate_sample_ratio") -> float:
    """ModelArts sends the ratio as a string ("0.8"); numbers are accepted too."""
    rule = "the share of samples used for training, a number from 0 to 1 (e.g. 0.8)"
    if isinstance(value, bool):
        raise SpecError(field, value, rule)
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise SpecError(field, value, rule) from None
    if not 0.0 <= ratio <= 1.0 or ratio != ratio:
        raise SpecError(field, value, rule)
    return ratio


class VersionCreate(BaseModel):
    """``POST /v2/{project_id}/datasets/{id}/versions``."""

    model_config = ConfigDict(extra="ignore")

    version_name: str | None = None
    version_format: VersionFormat = VersionFormat.DEFAULT
    train_evaluate_sample_ratio: float = 1.0
    description: str | None = None

    @field_validator("version_name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> str | None:
        return None if v is None else check_name(v, "")

    @field_validator("version_format", mode="before")
    @classmethod
    def _format(cls, v: Any) -> VersionFormat:
        if v == VersionFormat.CARBONDATA.value:
            raise SpecError("", v, CARBONDATA_RULE)
        if v != VersionFormat.DEFAULT.value:
            raise SpecError("", v, "version_format is Default (a manifest) or CarbonData")
        return VersionFormat.DEFAULT

    @field_validator("train_evaluate_sample_ratio", mode="before")
    @classmethod
    def _ratio(cls, v: Any) -> float:
        return parse_ratio(v, "")

    @field_validator("description")
    @classmethod
    def _description(cls, v: str | None) -> str | None:
        return check_description(v, "")


# --------------------------------------------------------------------------- manifests


def manifest_name(dataset_name: str, version_name: str) -> str:
    """ModelArts names a published manifest ``<dataset name>-<version name>.manifest``."""
    return f"{dataset_name}-{version_name}.manifest"


@dataclass
class ManifestLine:
    """One sample of a manifest, as parsed (``raw`` keeps every field for writing back)."""

    source: str
    raw: dict[str, Any]
    labels: list[str] = field(default_factory=list)
    annotation_locs: list[str] = field(default_factory=list)

    @property
    def usage(self) -> str | None:
        usage = self.raw.get("usage")
        return usage if isinstance(usage, str) else None


def parse_manifest_line(text: str, number: int) -> ManifestLine:
    """One JSON line; raises SpecError naming the line when it breaks the format."""
    where = f"manifest line {number}"
    try:
        data = json.loads(text)
    except ValueError:
        raise SpecError(where, text[:80], "each line of a manifest is one JSON object "
                        "(JSON Lines)") from None
    if not isinstance(data, dict):
        raise SpecError(where, text[:80], "each line of a manifest is one JSON object")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        raise SpecError(f"{where}.source", source, "every manifest line has a source")
    usage = data.get("usage")
    if usage is not None and usage not in {u.value for u in Usage} and usage != "":
        raise SpecError(f"{where}.usage", usage, "usage is TRAIN, EVAL, TEST or INFERENCE")
    annotations = data.get("annotation", [])
    if annotations is None:
        annotations = []
    if not isinstance(annotations, list):
        raise SpecError(f"{where}.annotation", annotations, "annotation is a list of objects")
    line = ManifestLine(source=source.strip(), raw=data)
    for i, ann in enumerate(annotations):
        if not isinstance(ann, dict) or not isinstance(ann.get("type"), str):
            raise SpecError(f"{where}.annotation[{i}]", ann,
                            "each annotation is an object with a type (modelarts/<task>)")
        name = ann.get("name")
        if isinstance(name, str) and name:
            line.labels.append(name)
        loc = ann.get("annotation-loc")
        if isinstance(loc, str) and loc:
            line.annotation_locs.append(loc)
    return line


def parse_manifest(text: str) -> tuple[list[ManifestLine], list[str]]:
    """All good lines, and one message per broken line (blank lines are skipped)."""
    lines: list[ManifestLine] = []
    broken: list[str] = []
    for number, row in enumerate(text.splitlines(), start=1):
        if not row.strip():
            continue
        try:
            lines.append(parse_manifest_line(row, number))
        except SpecError as exc:
            broken.append(exc.message)
    return lines, broken


def rewrite_manifest(text: str, mapping: Mapping[str, str]) -> str:
    """The manifest with every ``source`` and ``annotation-loc`` found in ``mapping``
    replaced (a job's staged copy points at the local files); other fields untouched."""
    out = []
    for row in text.splitlines():
        if not row.strip():
            continue
        data = json.loads(row)
        data["source"] = mapping.get(data["source"], data["source"])
        for ann in data.get("annotation") or []:
            loc = ann.get("annotation-loc") if isinstance(ann, dict) else None
            if isinstance(loc, str) and loc in mapping:
                ann["annotation-loc"] = mapping[loc]
        out.append(json.dumps(data, ensure_ascii=False))
    return "\n".join(out) + "\n" if out else ""


def classification_annotation(kind: DatasetType, label: str, created: str) -> dict[str, Any]:
    """An ``annotation[]`` item for a label given by the import (folder name)."""
    return {"type": ANNOTATION_TYPES[kind], "name": label, "property": {},
            "annotated-by": "human", "creation-time": created}


def detection_annotation(loc: str, created: str) -> dict[str, Any]:
    """Object detection keeps its boxes in a PASCAL VOC file the manifest points to."""
    return {"type": ANNOTATION_TYPES[DatasetType.OBJECT_DETECTION], "annotation-loc": loc,
            "annotation-format": "PASCAL VOC", "annotated-by": "human",
            "creation-time": created}


def sample_id(source: str) -> str:
    """A stable 32-hex id per source (the shape of ModelArts' sample ids)."""
    return hashlib.md5(source.encode(), usedforsecurity=False).hexdigest()


def split_usage(samples: Iterable[tuple[str, list[str]]], ratio: float
                ) -> dict[str, str]:
    """TRAIN or EVAL for each labelled sample (source, labels): per first label, sources
    sorted by a hash and the first ``round(n * ratio)`` go to training, so the split is
    stratified and the same dataset always splits the same way."""
    groups: dict[str, list[str]] = {}
    for source, labels in samples:
        if labels:
            groups.setdefault(labels[0], []).append(source)
    usage: dict[str, str] = {}
    for sources in groups.values():
        sources.sort(key=sample_id)
        n_train = round(len(sources) * ratio)
        for i, source in enumerate(sources):
            usage[source] = Usage.TRAIN.value if i < n_train else Usage.EVAL.value
    return usage


# ------------------------------------------------------------------ input constraints

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
