"""The ModelArts manifest format (issue 18): JSON lines with ``source``, ``usage`` and an
``annotation`` list whose ``type`` is ``modelarts/<task>`` ("Specifications for Importing a
Manifest File"); parsing, rewriting for a job's staged copy, and the stratified split."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modelyard.spec.dataset_types import ANNOTATION_TYPES, DatasetType, Usage
from modelyard.spec.errors import SpecError


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
