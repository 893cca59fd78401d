"""Tables of automatic search: searches, their trials, and the Optuna study journal.

Kept apart from ``store.models`` so that this area adds its own migration (``0003_search``).
A search is a training job (a ``jobs`` row, the parent); these tables hold what only a
search has. There are deliberately no foreign keys to ``jobs``: deleting a trial job must
not be blocked by, or cascade into, the search's record of that trial, and SQLite rebuilds
``jobs`` when another area alters it.

The Optuna study lives here too, as an append-only journal (``search_journal``) read by
Optuna's ``JournalStorage``: Optuna's own RDB schema keeps its version in the table
``alembic_version``, which our migrations already own (with several heads), so it cannot
share our database; the journal can, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.store.models import Base


class SearchRow(Base):
    """One search; ``id`` is the id of its parent training job."""

    __tablename__ = "searches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)  # the validated AutoSearch
    dimensions: Mapped[list[Any]] = mapped_column(JSON)  # the typed search space
    template: Mapped[dict[str, Any]] = mapped_column(JSON)  # job body each trial starts from
    algorithm: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(8))  # max | min
    num_samples: Mapped[int] = mapped_column(Integer)
    parallel: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)  # running | final phase
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    best_trial: Mapped[int | None] = mapped_column(Integer, nullable=True)
    best_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    journal_len: Mapped[int] = mapped_column(Integer, default=0)
    driver_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resumes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class TrialRow(Base):
    """One trial: an Optuna trial (``number``) and the training job that runs it."""

    __tablename__ = "search_trials"
    __table_args__ = (
        UniqueConstraint("search_id", "number", name="uq_search_trial_number"),
        UniqueConstraint("search_id", "trial_id", name="uq_search_trial_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    search_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("searches.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    trial_id: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(24))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    best_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    steps: Mapped[int] = mapped_column(Integer, default=0)
    values: Mapped[list[Any]] = mapped_column(JSON)  # [[step, value], ...] of the objective
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    earlystop_requested: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class JournalRow(Base):
    """One Optuna journal record of a search's study, numbered from 0 without gaps."""

    __tablename__ = "search_journal"

    search_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("searches.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    log: Mapped[dict[str, Any]] = mapped_column(JSON)
