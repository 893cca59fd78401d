"""Automatic search: searches, trials, and the Optuna study journal.

Revision ID: 0003_search
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_search"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "searches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("policy", sa.JSON, nullable=False),
        sa.Column("dimensions", sa.JSON, nullable=False),
        sa.Column("template", sa.JSON, nullable=False),
        sa.Column("algorithm", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("num_samples", sa.Integer, nullable=False),
        sa.Column("parallel", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("best_trial", sa.Integer, nullable=True),
        sa.Column("best_value", sa.Float, nullable=True),
        sa.Column("journal_len", sa.Integer, nullable=False, server_default="0"),
        sa.Column("driver_pid", sa.Integer, nullable=True),
        sa.Column("resumes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float, nullable=True),
    )
    op.create_table(
        "search_trials",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("search_id", sa.String(64),
                  sa.ForeignKey("searches.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("trial_id", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True, index=True),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("best_value", sa.Float, nullable=True),
        sa.Column("steps", sa.Integer, nullable=False, server_default="0"),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("earlystop_requested", sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("ended_at", sa.Float, nullable=True),
        sa.UniqueConstraint("search_id", "number", name="uq_search_trial_number"),
        sa.UniqueConstraint("search_id", "trial_id", name="uq_search_trial_id"),
    )
    op.create_table(
        "search_journal",
        sa.Column("search_id", sa.String(64),
                  sa.ForeignKey("searches.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("log", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("search_journal")
    op.drop_table("search_trials")
    op.drop_table("searches")
