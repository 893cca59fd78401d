"""Indexes that match the job list's and search's filters and sort (issue 20).

A page is ``WHERE project_id = ? [AND phase = ?] ORDER BY <sort column>, created_at, id
LIMIT 50``: with an index whose columns are exactly these, in this order, the database walks
the first 50 entries of the index and stops, instead of sorting every job of the project.
``ix_jobs_project_created`` (project_id, created_at) is a prefix of the new page index and
is dropped.

Revision ID: 0008_issue20_job_indexes
Revises: 0007_identity
"""

from alembic import op

revision = "0008_issue20_job_indexes"
down_revision = "0007_identity"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_jobs_project_page": ["project_id", "created_at", "id"],
    "ix_jobs_project_phase_page": ["project_id", "phase", "created_at", "id"],
    "ix_jobs_project_updated": ["project_id", "updated_at", "created_at", "id"],
    "ix_jobs_project_name": ["project_id", "name", "created_at", "id"],
}


def upgrade() -> None:
    op.drop_index("ix_jobs_project_created", table_name="jobs")
    for name, columns in INDEXES.items():
        op.create_index(name, "jobs", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="jobs")
    op.create_index("ix_jobs_project_created", "jobs", ["project_id", "created_at"])
