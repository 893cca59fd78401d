"""skopeo and umoci, run as argv lists, their failures turned into one clear ImageError.

Images are pulled without a daemon (no podman or docker engine runs here): skopeo talks to
the registry and writes an OCI layout, umoci unpacks a manifest's layers into a root
filesystem. Both are Debian packages. Their stderr is the registry's answer, which is what a
user needs to see when a pull fails ("manifest unknown", "unauthorized"...), so it is kept,
minus the noise of Go's log prefixes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence

TRANSIENT_WORDS = ("connection refused", "connection reset", "no such host", "timeout",
                   "timed out", "temporary failure", "tls handshake", "eof",
                   "503 service unavailable", "502 bad gateway", "too many requests",
                   "no space left on device")
"""Registry answers worth a retry by the fault-tolerance rules (a registry that is down, or
a disk that a prune may free), as opposed to a wrong name or refused credentials."""
_LOG_PREFIX = re.compile(r'^time="[^"]*" level=\w+ msg="(.*)"$')


class ImageError(RuntimeError):
    """A pull, import or unpack failed; ``transient`` says whether retrying may help."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def find_tool(name: str) -> str | None:
    return shutil.which(name)


def _clean(stderr: str) -> str:
    lines = []
    for line in stderr.strip().splitlines():
        m = _LOG_PREFIX.match(line.strip())
        lines.append(m.group(1) if m else line.strip())
    return "; ".join(line for line in lines if line)[-600:] or "no message"


def run_tool(argv: Sequence[str], what: str, timeout: float = 3600.0) -> str:
    """Runs ``argv``; returns its stdout, or raises ImageError saying ``what`` failed and
    what the tool answered."""
    try:
        res = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ImageError(f"{what}: {argv[0]} is not installed (Debian package "
                         f"{argv[0].rsplit('/', 1)[-1]})") from None
    except subprocess.TimeoutExpired:
        raise ImageError(f"{what}: no answer in {timeout:g} s", transient=True) from None
    if res.returncode != 0:
        answer = _clean(res.stderr)
        lowered = answer.lower()
        hint = ""
        if "http response to https client" in lowered:
            hint = (" (the registry speaks plain HTTP: list it in the setting "
                    "insecure_registries, MODELYARD_INSECURE_REGISTRIES)")
        raise ImageError(f"{what}: {answer}{hint}",
                         transient=any(w in lowered for w in TRANSIENT_WORDS))
    return res.stdout
