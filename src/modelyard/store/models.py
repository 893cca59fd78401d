"""Tables. Specs are stored as the JSON the user sent (validated), so a record can always
be shown back exactly; the columns beside them are what we filter and sort on."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class AlgorithmRow(Base):
    __tablename__ = "algorithms"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_algorithm_name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # A page of a list or search walks one of these and stops (migration 0008).
        Index("ix_jobs_project_page", "project_id", "created_at", "id"),
        Index("ix_jobs_project_phase_page", "project_id", "phase", "created_at", "id"),
        Index("ix_jobs_project_updated", "project_id", "updated_at", "created_at", "id"),
        Index("ix_jobs_project_name", "project_id", "name", "created_at", "id"),
        Index("ix_jobs_phase_priority", "phase", "priority", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    algorithm_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    algorithm_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    phase: Mapped[str] = mapped_column(String(32), index=True)
    secondary_phase: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    executor: Mapped[str] = mapped_column(String(32), default="local")
    job_dir: Mapped[str] = mapped_column(Text)
    events_offset: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Scheduling and fault tolerance (migration 0004).
    cpus: Mapped[float] = mapped_column(Float, default=1.0)  # fractional: 0009_issue20
    memory_gb: Mapped[float] = mapped_column(Float, default=1.0)
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    running_records: Mapped[list[Any]] = mapped_column(JSON, default=list)


class EventRow(Base):
    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    time: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
