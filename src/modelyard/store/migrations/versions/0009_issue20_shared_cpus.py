"""A job's reserved CPUs become a fraction (issue 20): the shared flavor
``modelarts.vm.cpu.shared`` reserves 1/N of a core, and the scheduler adds these up.

Whole numbers stay what they were (1 -> 1.0); the batch operation rebuilds the table on
SQLite, which cannot change a column's type in place.

Revision ID: 0009_issue20_shared_cpus
Revises: 0008_issue20_job_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_issue20_shared_cpus"
down_revision = "0008_issue20_job_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("cpus", type_=sa.Float, existing_type=sa.Integer,
                           existing_nullable=False, existing_server_default="1")


def downgrade() -> None:
    # A shared job's fraction rounds up to the whole core it would have needed before.
    op.execute("UPDATE jobs SET cpus = 1 WHERE cpus > 0 AND cpus < 1")
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("cpus", type_=sa.Integer, existing_type=sa.Float,
                           existing_nullable=False, existing_server_default="1")
