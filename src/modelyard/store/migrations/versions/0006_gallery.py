"""The algorithm gallery: assets, versions, subscriptions (issue 19, seed S1.1).

Revision ID: 0006_gallery
Revises: 0005_issue18_datasets
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_gallery"
down_revision = "0005_issue18_datasets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gallery_assets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "gallery_versions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("content_id", sa.String(64),
                  sa.ForeignKey("gallery_assets.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("algorithm", sa.JSON, nullable=False),
        sa.Column("source_algorithm_id", sa.String(64), nullable=False),
        sa.Column("snapshot_dir", sa.Text, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("withdrawn_at", sa.Float, nullable=True),
        sa.UniqueConstraint("content_id", "version_num", name="uq_gallery_version_num"),
    )
    op.create_table(
        "gallery_subscriptions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False, index=True),
        sa.Column("content_id", sa.String(64),
                  sa.ForeignKey("gallery_assets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "content_id", name="uq_gallery_subscription"),
    )
    op.create_index("ix_gallery_subscriptions_content", "gallery_subscriptions", ["content_id"])


def downgrade() -> None:
    op.drop_index("ix_gallery_subscriptions_content", "gallery_subscriptions")
    op.drop_table("gallery_subscriptions")
    op.drop_table("gallery_versions")
    op.drop_table("gallery_assets")
