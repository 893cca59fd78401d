"""The control plane's logic: algorithms, job lifecycle, scheduling, reconciliation."""

from modelyard.service.app import Service
from modelyard.service.errors import Conflict, NotFound, ServiceError

__all__ = ["Conflict", "NotFound", "Service", "ServiceError"]
