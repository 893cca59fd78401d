"""Datasets as training inputs (issue 18): import, versions, and resolution of a job input's
``remote.dataset``."""

from modelyard.service.datasets.service import DatasetService

__all__ = ["DatasetService"]
