"""Scheduling and fault tolerance: reserved resources, attempts, running records.

Revision ID: 0004_scheduling
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_scheduling"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("cpus", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("memory_gb", sa.Float, nullable=False, server_default="1"))
        batch.add_column(sa.Column("gpus", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("attempt", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("running_records", sa.JSON, nullable=True))
        batch.create_index("ix_jobs_phase_priority", ["phase", "priority", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_phase_priority")
        for column in ("running_records", "attempt", "gpus", "memory_gb", "cpus"):
            batch.drop_column(column)
