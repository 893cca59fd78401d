"""Persistence of the control plane: SQLAlchemy models and Alembic migrations."""

from modelyard.store.db import Database
from modelyard.store.models import AlgorithmRow, Base, EventRow, JobRow

__all__ = ["AlgorithmRow", "Base", "Database", "EventRow", "JobRow"]
