"""The transfer engine (see ``engine``): one ``TransferEngine`` whose operations live in one
module each (``download``, ``upload``, ``copy``), on the shared machinery of ``workers``."""

from modelyard.storage.transfer.engine import TransferEngine
from modelyard.storage.transfer.workers import ProgressCallback, TransferReport

__all__ = ["ProgressCallback", "TransferEngine", "TransferReport"]
