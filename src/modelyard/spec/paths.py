"""Storage locations as users write them, normalised to one form.

docs/contract.md "Paths in specs": ``obs://bucket/key``, ``s3://bucket/key``, ``file:///abs/path``
and the ModelArts short form ``/bucket/key`` (= ``obs://bucket/key``). Keys never contain
``..``, ``.``, empty or absolute components, so a location can never escape its bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.spec.errors import SpecError

SCHEMES = ("obs", "s3", "file")
MAX_COMPONENT_BYTES = 255
_RULE = (
    "a location is obs://bucket/key, s3://bucket/key, file:///absolute/path or /bucket/key, "
    "without empty, '.' or '..' components (docs/contract.md paths in specs)"
)


@dataclass(frozen=True, order=True)
class Location:
    """A parsed location. For ``file`` the bucket is empty and the key is the absolute path
    without its leading slash."""

    scheme: str
    bucket: str
    key: str

    @property
    def url(self) -> str:
        if self.scheme == "file":
            return f"file:///{self.key}"
        return f"{self.scheme}://{self.bucket}/{self.key}" if self.key else f"{self.scheme}://{self.bucket}/"

    @property
    def name(self) -> str:
        """The last path component (where S2.2 puts a downloaded code directory)."""
        return self.key.rstrip("/").rsplit("/", 1)[-1] if self.key.strip("/") else self.bucket

    @property
    def is_dir(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def as_dir(self) -> Location:
        return self if self.is_dir else Location(self.scheme, self.bucket, self.key + "/")

    def child(self, relative: str) -> Location:
        """The location of ``relative`` (a '/'-separated safe path) below this one."""
        base = self.as_dir().key
        return parse_location(Location(self.scheme, self.bucket, base + relative).url)

    def relative_to(self, parent: Location) -> str | None:
        """The key of this location relative to ``parent`` (a directory), or None if outside."""
        p = parent.as_dir()
        if (self.scheme, self.bucket) != (p.scheme, p.bucket):
            return None
        if p.key == "":
            return self.key
        return self.key[len(p.key):] if self.key.startswith(p.key) else None

    def __str__(self) -> str:
        return self.url


def parse_location(text: str, field: str = "location") -> Location:
    """Parses and checks a location; raises SpecError naming ``field`` when it is malformed."""
    if not isinstance(text, str) or not text.strip():
        raise SpecError(field, text, _RULE)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text.strip()):
        raise SpecError(field, text, "a location has no control characters (newline, NUL...)")
    raw = text.strip()
    if raw.startswith("file://"):
        path = raw[len("file://"):]
        if not path.startswith("/"):
            raise SpecError(field, text, _RULE)
        scheme, bucket, key = "file", "", path[1:]  # "file:////x" keeps its empty part
    elif "://" in raw:
        scheme, _, rest = raw.partition("://")
        scheme = scheme.lower()
        if scheme not in ("obs", "s3"):
            raise SpecError(field, text, f"unknown scheme {scheme!r}; {_RULE}")
        bucket, _, key = rest.partition("/")
    elif raw.startswith("/"):
        scheme = "obs"
        bucket, _, key = raw[1:].partition("/")
    else:
        raise SpecError(field, text, _RULE)
    if scheme != "file" and not _valid_bucket(bucket):
        raise SpecError(
            field, text,
            "the bucket name must be 3-63 characters of a-z, 0-9, '.' and '-', starting and "
            "ending with a letter or digit",
        )
    parts = key.split("/")
    inner = parts[:-1] if key.endswith("/") else parts
    if key and any(p in ("", ".", "..") for p in inner):
        raise SpecError(field, text, _RULE)
    long = next((p for p in parts if len(p.encode("utf-8")) > MAX_COMPONENT_BYTES), None)
    if long is not None:
        raise SpecError(field, text, f"each '/'-separated part of a location has at most "
                        f"{MAX_COMPONENT_BYTES} bytes (a file name's limit); one has "
                        f"{len(long.encode('utf-8'))}")
    return Location(scheme, bucket, key)


def _valid_bucket(bucket: str) -> bool:
    if not 3 <= len(bucket) <= 63:
        return False
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789.-")
    return set(bucket) <= allowed and bucket[0].isalnum() and bucket[-1].isalnum()


def safe_relative_path(rel: str, field: str = "path") -> str:
    """Checks a '/'-separated relative path (e.g. a key below a prefix) and returns it."""
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise SpecError(field, rel, "a relative path has no empty, '.', '..' or absolute parts")
    return rel
