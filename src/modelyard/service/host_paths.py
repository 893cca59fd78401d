"""Host paths are the administrator's decision: a ``file://`` location, or a file system's
directory, must lie under one of the installation's ``host_paths`` roots. Without the rule a
caller (or a job calling the API) could make the service read or write any file the
service's user can, e.g. an output at ``file:///root/.ssh``."""

from __future__ import annotations

import os
from pathlib import Path

from modelyard.service.errors import Forbidden
from modelyard.settings import Settings
from modelyard.spec.paths import parse_location
from modelyard.spec.plan import RunPlan

_SETTING = "host_paths (MODELYARD_HOST_PATHS)"


def check_host_path(settings: Settings, field: str, path: str | Path) -> None:
    """Refuses (403) a host path outside the allowed roots, as written and as resolved
    (``..`` and symbolic links cannot lead out)."""
    written = Path(os.path.normpath(os.path.abspath(path)))
    resolved = Path(os.path.realpath(written))
    roots = settings.host_path_roots()
    if all(any(p == r or r in p.parents for r in roots) for p in (written, resolved)):
        return
    allowed = ", ".join(str(r) for r in roots) or "none"
    raise Forbidden(f"{field}: {str(path)!r} is not allowed: host paths must lie under a "
                    f"root of the setting {_SETTING}; allowed here: {allowed}")


def check_location(settings: Settings, field: str, url: str) -> None:
    loc = parse_location(url, field)
    if loc.scheme == "file":
        check_host_path(settings, field, "/" + loc.key)


def check_plan(settings: Settings, plan: RunPlan) -> None:
    """Every location a job would read or write on the host."""
    if plan.code_dir:
        check_location(settings, "algorithm.code_dir", plan.code_dir)
    if plan.boot_file and plan.boot_file.startswith(("file:", "/")):
        check_location(settings, "algorithm.boot_file", plan.boot_file)
    for kind, channels in (("inputs", plan.inputs), ("outputs", plan.outputs)):
        for ch in channels:
            check_location(settings, f"{kind}.{ch.name}", ch.url)
