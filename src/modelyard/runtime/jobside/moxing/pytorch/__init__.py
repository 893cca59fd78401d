"""``moxing.pytorch``: only its ``file`` API (the same as ``moxing.file``), so that
``import moxing.pytorch as mox; mox.file.copy_parallel(...)`` runs. Nothing else of MoXing's
pytorch helpers exists here."""

from .. import file

__all__ = ["file"]
