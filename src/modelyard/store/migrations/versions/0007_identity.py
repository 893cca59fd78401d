"""Accounts and tenancy (issue 14); merges the three heads into one.

Users, projects, roles, access keys (SK encrypted), console session tokens, bucket owners,
and output locks (one unfinished job per output location, enforced by a primary key).
Also makes ``jobs.running_records`` NOT NULL as the model says (null rows become ``[]``).

Revision ID: 0007_identity
Revises: 0002_filesystems, 0003_search, 0006_gallery (merges the heads)
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_identity"
down_revision = ("0002_filesystems", "0003_search", "0006_gallery")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "project_roles",
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("project_id", sa.String(64),
                  sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
    )
    op.create_table(
        "access_keys",
        sa.Column("access_key", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("secret_encrypted", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
    )
    op.create_table(
        "session_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False, index=True),
        sa.Column("access_key", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False, index=True),
    )
    op.create_table(
        "bucket_owners",
        sa.Column("scheme", sa.String(8), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "output_locks",
        sa.Column("location", sa.String(1024), primary_key=True),
        sa.Column("job_id", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.execute("UPDATE jobs SET running_records = '[]' WHERE running_records IS NULL")
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("running_records", existing_type=sa.JSON, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("running_records", existing_type=sa.JSON, nullable=True)
    for table in ("output_locks", "bucket_owners", "session_tokens", "access_keys",
                  "project_roles", "projects", "users"):
        op.drop_table(table)
