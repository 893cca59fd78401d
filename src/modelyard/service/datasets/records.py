"""The JSON shapes of datasets, versions, samples and import tasks (ModelArts' names).

TypedDicts, as in ``service/records.py``: plain dicts at run time, checked keys for mypy.
Version statistics and import tasks are also kept in JSON columns (``VersionRow.stats``,
``DatasetRow.import_result``), so the same shapes describe what is stored and what is shown.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict


class LabelRecord(TypedDict):
    name: str
    type: int  # the dataset type, as ModelArts gives it per label
    property: dict[str, Any]


class LabelCount(LabelRecord):
    count: int  # annotations with this label
    sample_count: int  # samples with this label


class VersionStats(TypedDict):
    total_sample_count: int
    annotated_sample_count: int
    train_sample_count: int
    eval_sample_count: int
    label_type: str  # single, multi or unlabeled
    label_stats: list[LabelCount]


class ProblemFile(TypedDict):
    path: str
    reason: str


class ImportReport(TypedDict):
    """What an import could not use (ours): counts, and the first files with a reason."""

    not_sample_count: int
    unreadable_count: int
    broken_annotation_count: int
    problems: list[ProblemFile]


class ImportTaskRecord(ImportReport):
    task_id: str
    status: str
    import_path: str
    create_time: int
    finished_time: int
    total_sample_count: int
    imported_sample_count: int
    annotated_sample_count: int


class DataSource(TypedDict):
    data_type: int
    data_path: str


class DatasetRecord(TypedDict):
    dataset_id: str
    dataset_name: str
    dataset_type: int
    data_format: str
    status: int
    data_sources: list[DataSource]
    work_path: str
    work_path_type: int
    description: str
    total_sample_count: int
    annotated_sample_count: int
    unconfirmed_sample_count: int
    labels: list[LabelRecord]
    version_count: int
    current_version_id: str | None
    current_version_name: str | None
    last_import: ImportTaskRecord | None
    create_time: int
    update_time: int


class SampleRecord(TypedDict):
    sample_id: str
    sample_type: int
    source: str
    sample_status: str
    labels: list[LabelRecord]
    annotation: list[Any]  # as imported; their form depends on the dataset type


class SamplePageRecord(TypedDict):
    sample_count: int
    samples: list[SampleRecord]


class LabelListRecord(TypedDict):
    labels: list[LabelRecord]


class SampleStats(TypedDict):
    all: int
    total: int
    manual_annotation: int
    un_annotation: int


class DatasetStatsRecord(TypedDict):
    label_list: list[LabelCount]
    sample_stats: SampleStats


class VersionRecord(VersionStats):
    """A published version: its facts, then its statistics."""

    version_id: str
    version_name: str
    dataset_id: str
    version_format: str
    status: int
    manifest_path: str
    train_evaluate_sample_ratio: str
    data_split: bool
    description: str
    create_time: int
