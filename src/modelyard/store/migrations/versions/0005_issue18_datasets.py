"""Datasets, their samples and versions (issue 18, seed S4.2).

Revision ID: 0005_issue18_datasets
Revises: 0004_scheduling
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_issue18_datasets"
down_revision = "0004_scheduling"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("dataset_type", sa.Integer, nullable=False),
        sa.Column("data_path", sa.Text, nullable=False),
        sa.Column("work_path", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("import_result", sa.JSON, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_dataset_name"),
    )
    op.create_table(
        "dataset_samples",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("dataset_id", sa.String(64),
                  sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("annotations", sa.JSON, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("dataset_id", "source", name="uq_sample_source"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("dataset_id", sa.String(64),
                  sa.ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version_format", sa.String(16), nullable=False),
        sa.Column("ratio", sa.Float, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("manifest_path", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("stats", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("dataset_id", "name", name="uq_dataset_version_name"),
    )
    op.create_index("ix_dataset_versions_created", "dataset_versions",
                    ["dataset_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_dataset_versions_created", table_name="dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("dataset_samples")
    op.drop_table("datasets")
