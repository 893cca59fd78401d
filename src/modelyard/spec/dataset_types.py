"""Dataset types and codes (issue 18): ModelArts' ``dataset_type``, ``status`` and usage
values, which files are samples of each type, and where splitting exists (seed S4.2).

Plain enums and functions: imported by the runtime and by job resolution, which must not
pay for building the pydantic request models of ``spec.datasets``.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

from modelyard.spec.errors import SpecError


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


def check_dataset_type(value: Any, field: str = "dataset_type") -> DatasetType:
    try:
        return DatasetType(int(value))
    except (TypeError, ValueError):
        codes = ", ".join(f"{t.value} ({t.name.lower().replace('_', ' ')})" for t in DatasetType)
        raise SpecError(field, value, f"dataset_type is one of {codes}") from None
