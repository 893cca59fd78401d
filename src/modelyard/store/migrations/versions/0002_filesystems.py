"""File systems and their data tasks (issue 7, seed S5).

Revision ID: 0002_filesystems
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_filesystems"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "filesystems",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("managed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_filesystem_name"),
    )
    op.create_table(
        "filesystem_tasks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False, index=True),
        sa.Column(
            "filesystem_id", sa.String(64),
            sa.ForeignKey("filesystems.id", ondelete="CASCADE"), nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("destination", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("total_files", sa.Integer, nullable=True),
        sa.Column("total_bytes", sa.BigInteger, nullable=True),
        sa.Column("files", sa.Integer, nullable=False, server_default="0"),
        sa.Column("bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rate", sa.Float, nullable=False, server_default="0"),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("ended_at", sa.Float, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_fs_tasks_fs_created", "filesystem_tasks",
                    ["filesystem_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_fs_tasks_fs_created", table_name="filesystem_tasks")
    op.drop_table("filesystem_tasks")
    op.drop_table("filesystems")
