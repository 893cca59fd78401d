"""Python packages that every job can import, whatever its engine: ``moxing`` (ours).

This folder goes last on a job's ``PYTHONPATH`` (bound read-only at ``PYLIB_MOUNT`` in the
sandbox, its own path without one), so ``import moxing as mox`` works in a job without
installing anything, and a package the job brings itself still wins. The code here runs
inside jobs: it imports nothing from ModelYard and nothing outside the standard library.
"""

from __future__ import annotations

from pathlib import Path

PYLIB = Path(__file__).resolve().parent
PYLIB_MOUNT = Path("/home/ma-user/.modelyard/python")
LOCATIONS_VAR = "MA_MOX_LOCATIONS"
"""The variable through which the runtime tells ``moxing`` where the job's bound locations
are: a JSON list of ``{"url", "path", "kind": "input"|"output", "file": bool}``."""
