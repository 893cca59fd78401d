"""Image references (``image_url``, seed S1.3/S1.4): what a well-formed one looks like.

An ``image_url`` names an OCI or Docker image in a registry the way SWR addresses look:
``host[:port]/namespace/name:tag`` or ``...@sha256:<64 hex>``. The grammar is the
distribution project's reference grammar (the one ``docker pull`` and ``skopeo`` accept), so
a reference that passes here is one skopeo understands; checking it at create time is what
turns a typo into a 400 instead of a job that fails at staging minutes later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelyard.spec.errors import SpecError

DEFAULT_REGISTRY = "docker.io"
"""A reference without a registry host means Docker Hub, as for ``docker pull``."""
DEFAULT_TAG = "latest"
MAX_NAME_LENGTH = 255

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_HOST_RE = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference. ``digest`` set means the reference pins one manifest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def transport(self) -> str:
        """The reference as skopeo's ``docker://`` transport takes it (a digest wins over a
        tag: skopeo refuses both at once)."""
        if self.digest:
            return f"docker://{self.name}@{self.digest}"
        return f"docker://{self.name}:{self.tag or DEFAULT_TAG}"


def _split_host(name: str) -> tuple[str | None, str]:
    """Docker's rule: the first component is a registry host when it has a '.' or a ':' or
    is ``localhost``; otherwise the whole name is a repository on Docker Hub."""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        return first, rest
    return None, name


def parse_image_ref(value: object, field: str = "image_url") -> ImageRef:
    """Parses ``value`` or raises a SpecError naming ``field``, the value and the rule."""
    if not isinstance(value, str) or not value.strip():
        raise SpecError(field, value, "an image reference is a non-empty string such as "
                        "'swr.example.com/team/train:1.0'")
    text = value.strip()
    if "://" in text:
        raise SpecError(field, value, "an image reference has no scheme: write "
                        "'host[:port]/namespace/name:tag' (not docker:// or http://)")
    rest, _, digest = text.partition("@")
    if digest and not _DIGEST_RE.fullmatch(digest):
        raise SpecError(field, value, "a digest is 'sha256:' followed by 64 lower-case hex "
                        "digits")
    host, path = _split_host(rest)
    tag: str | None = None
    last_slash = path.rfind("/")
    colon = path.rfind(":")
    if colon > last_slash:
        path, tag = path[:colon], path[colon + 1:]
        if not _TAG_RE.fullmatch(tag):
            raise SpecError(field, value, "a tag has at most 128 letters, digits, '_', '.' "
                            "and '-', and does not start with '.' or '-'")
    if host is not None and not _HOST_RE.fullmatch(host):
        raise SpecError(field, value, f"{host!r} is not a registry host[:port]")
    if host is not None and ":" in host and not host.startswith("["):
        port = int(host.rsplit(":", 1)[1])
        if not 0 < port < 65536:
            raise SpecError(field, value, f"port {port} is not between 1 and 65535")
    if not _PATH_RE.fullmatch(path):
        raise SpecError(field, value, "the repository path is lower-case letters and digits "
                        "separated by '/', '.', '_', '__' or '-' (e.g. 'team/train')")
    registry = host or DEFAULT_REGISTRY
    if host is None and "/" not in path:
        path = f"library/{path}"  # Docker Hub's official images
    if len(f"{registry}/{path}") > MAX_NAME_LENGTH:
        raise SpecError(field, value, f"an image name has at most {MAX_NAME_LENGTH} "
                        "characters")
    return ImageRef(registry, path, tag if tag or digest else DEFAULT_TAG, digest or None)
