"""Publishing a dataset version (issue 18): the samples as a ModelArts manifest in the work
path, with a deterministic, stratified train/eval split, and the version's statistics."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from modelyard.service.datasets.records import VersionStats
from modelyard.spec.dataset_types import SPLITTABLE, DatasetType, Usage
from modelyard.spec.manifest import manifest_name, sample_id, split_usage
from modelyard.spec.paths import parse_location
from modelyard.storage import TransferEngine
from modelyard.store.dataset_models import DatasetRow, SampleRow


def manifest_url(dataset: DatasetRow, version_name: str) -> str:
    """``<work_path>/<dataset name>-<dataset id>/annotation/<version>/<name>-<version>
    .manifest`` (the layout of ModelArts' work path; ours in its details)."""
    folder = parse_location(dataset.work_path).as_dir()
    rel = (f"{dataset.name}-{dataset.id}/annotation/{version_name}/"
           f"{manifest_name(dataset.name, version_name)}")
    return folder.child(rel).url


def manifest_lines(samples: list[SampleRow], kind: DatasetType, ratio: float
                   ) -> list[dict[str, Any]]:
    """One manifest object per sample. Labelled samples get ``usage`` TRAIN or EVAL (all
    TRAIN at ratio 1, or when the type has no split); unlabelled ones have no usage."""
    usage: dict[str, str] = {}
    if kind in SPLITTABLE:
        usage = split_usage(((s.source, list(s.labels)) for s in samples), ratio)
    lines = []
    for s in sorted(samples, key=lambda r: r.source):
        line: dict[str, Any] = {"source": s.source, "id": sample_id(s.source)}
        if s.annotations:
            line["usage"] = usage.get(s.source, Usage.TRAIN.value)
            line["annotation"] = s.annotations
        lines.append(line)
    return lines


def version_stats(lines: list[dict[str, Any]], samples: list[SampleRow], kind: DatasetType
                  ) -> VersionStats:
    """Counts, ``label_type`` (single, multi or unlabeled) and ``label_stats``."""
    count: Counter[str] = Counter()
    sample_count: Counter[str] = Counter()
    multi = False
    for s in samples:
        count.update(s.labels)
        sample_count.update(set(s.labels))
        multi = multi or len(set(s.labels)) > 1
    annotated = sum(1 for s in samples if s.annotations)
    usages = Counter(line.get("usage") for line in lines)
    return {
        "total_sample_count": len(samples),
        "annotated_sample_count": annotated,
        "train_sample_count": usages[Usage.TRAIN.value],
        "eval_sample_count": usages[Usage.EVAL.value],
        "label_type": "unlabeled" if annotated == 0 else "multi" if multi else "single",
        "label_stats": [{"name": name, "type": int(kind), "property": {},
                         "count": count[name], "sample_count": sample_count[name]}
                        for name in sorted(count)],
    }


def write_manifest(engine: TransferEngine, url: str, lines: list[dict[str, Any]]) -> None:
    """Uploads the manifest (UTF-8 JSON lines); readers never see a partial object."""
    with tempfile.TemporaryDirectory(prefix="modelyard-manifest-") as tmp:
        path = Path(tmp) / "version.manifest"
        path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines),
                        encoding="utf-8")
        loc = parse_location(url)
        engine.store(loc).ensure_bucket(loc.bucket)
        engine.copy(str(path), url)
