"""Tables of datasets (issue 18): datasets, their samples and their published versions.

Kept apart from ``store.models`` so this area adds its own migration
(``0005_issue18_datasets``) without touching anyone else's tables. A version's samples are
not copied here: the version is its manifest in the work path, written once at publish.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.store.models import Base


class DatasetRow(Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_dataset_name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    dataset_type: Mapped[int] = mapped_column(Integer)
    data_path: Mapped[str] = mapped_column(Text)
    work_path: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    import_result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """The last import's report: counts and the first paths of files it could not use."""
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class SampleRow(Base):
    """One sample: an object in storage and its annotations (the manifest's ``annotation``
    list, so publishing writes them back as they came)."""

    __tablename__ = "dataset_samples"
    __table_args__ = (UniqueConstraint("dataset_id", "source", name="uq_sample_source"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(Text)
    annotations: Mapped[list[Any]] = mapped_column(JSON)
    labels: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)


class VersionRow(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "name", name="uq_dataset_version_name"),
        Index("ix_dataset_versions_created", "dataset_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    version_format: Mapped[str] = mapped_column(String(16))
    ratio: Mapped[float] = mapped_column(Float)
    status: Mapped[int] = mapped_column(Integer)
    manifest_path: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Sample counts (total, annotated, train, eval), label_type and label_stats."""
    created_at: Mapped[float] = mapped_column(Float)
