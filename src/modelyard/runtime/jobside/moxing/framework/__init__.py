"""``moxing.framework``: only its ``file`` API (the same as ``moxing.file``), so that
``import moxing.framework as mox; mox.file.copy_parallel(...)`` runs. Nothing else of MoXing's
framework helpers exists here."""

from .. import file

__all__ = ["file"]
