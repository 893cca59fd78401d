"""Tables of the storage-acceleration area: file systems and their data tasks.

Kept apart from ``store.models`` so that this area adds its own migration
(``0002_filesystems``) without touching anyone else's tables.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.store.models import Base


class FileSystemRow(Base):
    """A named directory on fast storage that jobs may mount (seed S5)."""

    __tablename__ = "filesystems"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_filesystem_name"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    # True when ModelYard made the directory (the default under $MODELYARD_HOME/fs): deleting
    # the file system then deletes its data; a user's own --path is only unregistered.
    managed: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class FsTaskRow(Base):
    """An import, preload or export between object storage and a file system.

    Written by the detached worker as it goes, so any process can show progress and a task
    survives the command that started it.
    """

    __tablename__ = "filesystem_tasks"
    __table_args__ = (Index("ix_fs_tasks_fs_created", "filesystem_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    filesystem_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("filesystems.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    destination: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    total_files: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    files: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    rate: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)
