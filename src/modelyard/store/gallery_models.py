"""Tables of the algorithm gallery (seed S1.1): published assets, their immutable versions,
and projects' subscriptions.

Kept apart from ``store.models`` so that this area adds its own migration
(``0006_gallery``). A version's ``algorithm`` is the full algorithm body as it was
published, its ``code_dir`` pointing at the snapshot the service copied; nothing here points
back at the publisher's algorithm row, so deleting or editing that algorithm changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from modelyard.store.models import Base


class GalleryAssetRow(Base):
    """One published algorithm (ModelArts: a gallery "content"); ``id`` is its content_id."""

    __tablename__ = "gallery_assets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)  # the publisher
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class GalleryVersionRow(Base):
    """One immutable version of an asset; ``id`` is the publication's version_id, which a
    job names as ``item_version_id``."""

    __tablename__ = "gallery_versions"
    __table_args__ = (
        UniqueConstraint("content_id", "version_num", name="uq_gallery_version_num"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("gallery_assets.id", ondelete="CASCADE"), index=True)
    version_num: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    algorithm: Mapped[dict[str, Any]] = mapped_column(JSON)  # the snapshot's algorithm body
    source_algorithm_id: Mapped[str] = mapped_column(String(64))
    snapshot_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # published | withdrawn
    created_at: Mapped[float] = mapped_column(Float)
    withdrawn_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class GallerySubscriptionRow(Base):
    """A project's subscription to an asset: the only way its jobs may run the asset."""

    __tablename__ = "gallery_subscriptions"
    __table_args__ = (
        UniqueConstraint("project_id", "content_id", name="uq_gallery_subscription"),
        Index("ix_gallery_subscriptions_content", "content_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    content_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("gallery_assets.id", ondelete="CASCADE"))
    created_at: Mapped[float] = mapped_column(Float)
