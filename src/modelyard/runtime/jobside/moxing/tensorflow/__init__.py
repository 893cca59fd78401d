"""``moxing.tensorflow``: only its ``file`` API (the same as ``moxing.file``), so that
``import moxing.tensorflow as mox; mox.file.copy_parallel(...)`` runs. Nothing else of MoXing's
tensorflow helpers exists here."""

from .. import file

__all__ = ["file"]
