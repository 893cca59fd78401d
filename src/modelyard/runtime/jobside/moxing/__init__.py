"""``moxing`` for jobs on ModelYard: the ``mox.file`` API of ModelArts' MoXing, ours.

Written from ModelArts' public MoXing documentation, not from the ``moxing`` package on PyPI
(an unrelated project: never install it). ``obs://`` and ``s3://`` URLs reach the locations
bound to the job as inputs (read-only local copies) and outputs (folders uploaded by the
platform); local paths work as they are. See docs/contract.md.
"""

from . import file

__all__ = ["file"]
__version__ = "modelyard"
