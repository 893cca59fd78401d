"""The engine catalog: ModelArts engine names and versions mapped to what really runs them.

Before this catalog any ``engine_name``/``engine_version`` was accepted and the job ran on
the server's Python whatever it asked for; a typo ran too. Now an engine is an entry of a
YAML file shipped with the package (``engines.yaml``), extended by the administrator's own
file (setting ``engine_catalog``), and an algorithm or job naming an engine that is not an
enabled entry is refused at create, listing the ones that are.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator
from typing_extensions import TypedDict

from modelyard.settings import Settings
from modelyard.spec.algorithm import Engine
from modelyard.spec.errors import SpecError, from_pydantic
from modelyard.spec.images import parse_image_ref
from modelyard.spec.plan import EnginePlan, RunPlan

_PINNED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+")


class ImageInfo(TypedDict):
    cpu_image_url: str
    gpu_image_url: str
    image_version: str


class Tag(TypedDict):
    key: str
    value: str


class EngineRecord(TypedDict):
    """A ``/training-job-engines`` item: ModelArts' shape, then ours (kind, packages)."""

    engine_id: str
    engine_name: str
    engine_version: str
    v1_compatible: bool
    run_user: str
    image_info: ImageInfo
    tags: list[Tag]
    kind: str
    packages: list[str]


class EngineEntry(BaseModel):
    """One catalog entry (see the comments at the top of ``engines.yaml``)."""

    model_config = ConfigDict(extra="forbid")

    engine_id: str = ""
    """Optional for a host engine only: ``<engine_name>-<X.Y>`` of the interpreter."""
    engine_name: str
    engine_version: str = ""
    kind: Literal["host", "env", "image"]
    enabled: bool = True
    description: str = ""
    packages: list[str] = []
    image_url: str | None = None

    @field_validator("packages")
    @classmethod
    def _pinned(cls, v: list[str]) -> list[str]:
        """An engine is reproducible only if every package is pinned to one version."""
        for i, line in enumerate(v):
            if not _PINNED.fullmatch(line.strip()):
                raise SpecError(f"packages[{i}]", line, "an engine's packages are pinned "
                                "as name==version")
        return [line.strip() for line in v]

    @model_validator(mode="after")
    def _complete(self) -> EngineEntry:
        if self.kind == "env" and not self.packages:
            raise SpecError("packages", [], "an 'env' engine lists its pinned packages")
        if self.kind == "image":
            parse_image_ref(self.image_url, "image_url")
        if self.kind != "host" and not (self.engine_version and self.engine_id):
            raise SpecError("engine_version", self.engine_version,
                            f"a {self.kind!r} engine has an engine_id and an engine_version")
        return self

    def record(self, settings: Settings) -> EngineRecord:
        """The ModelArts ``/training-job-engines`` item shape, plus what implements it."""
        return {
            "engine_id": self.engine_id,
            "engine_name": self.engine_name,
            "engine_version": self.engine_version,
            "v1_compatible": False,
            "run_user": "1000",
            "image_info": {"cpu_image_url": self.image_url or "", "gpu_image_url": "",
                           "image_version": ""},
            "tags": [Tag(key="kind", value=self.kind),
                     *([Tag(key="description", value=self.description)]
                       if self.description else []),
                     *([Tag(key="python", value=settings.python)]
                       if self.kind != "image" else [])],
            "kind": self.kind,
            "packages": self.packages,
        }

    def plan(self, settings: Settings) -> EnginePlan:
        """What the runtime needs to run on this engine, fixed at create."""
        return EnginePlan(engine_id=self.engine_id, engine_name=self.engine_name,
                          engine_version=self.engine_version, kind=self.kind,
                          python=settings.python if self.kind != "image" else None,
                          packages=self.packages, image_url=self.image_url)


def _host_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _filled(entry: EngineEntry) -> EngineEntry:
    """A host engine's version is its interpreter's, unless the catalog says otherwise."""
    if entry.kind != "host":
        return entry
    version = entry.engine_version or _host_version()
    return entry.model_copy(update={
        "engine_version": version,
        "engine_id": entry.engine_id or f"{entry.engine_name}-{version}"})


def _read(text: str, source: str) -> list[EngineEntry]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError("engine_catalog", source, f"is not valid YAML: {exc}") from None
    items = data.get("engines") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise SpecError("engine_catalog", source, "holds a list under 'engines:'")
    out = []
    for i, item in enumerate(items):
        try:
            entry = EngineEntry.model_validate(item)
        except ValidationError as exc:
            err = from_pydantic(exc, f"engines[{i}]")
            raise SpecError(f"engine_catalog {source}: {err.field}", err.value,
                            err.rule) from None
        out.append(_filled(entry))
    return out


@cache
def _shipped() -> tuple[EngineEntry, ...]:
    text = files("modelyard.service").joinpath("engines.yaml").read_text(encoding="utf-8")
    return tuple(_read(text, "engines.yaml (shipped)"))


def catalog(settings: Settings) -> list[EngineEntry]:
    """Every entry, enabled or not: the shipped ones, then the administrator's (which
    replace a shipped entry with the same engine_id)."""
    entries = {e.engine_id: e for e in _shipped()}
    extra: Path | None = settings.engine_catalog
    if extra is not None:
        try:
            text = extra.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError("engine_catalog", str(extra),
                            f"cannot be read: {exc.strerror}") from None
        for e in _read(text, str(extra)):
            entries[e.engine_id] = e
    return list(entries.values())


def available(settings: Settings) -> list[EngineEntry]:
    """The engines this installation runs: the enabled entries."""
    return [e for e in catalog(settings) if e.enabled]


def default_engine(settings: Settings) -> EngineEntry:
    """What a job with no engine at all runs on: the host interpreter."""
    for e in available(settings):
        if e.kind == "host":
            return e
    return _filled(EngineEntry(engine_name="python", kind="host"))


def _listing(entries: list[EngineEntry]) -> str:
    return ", ".join(f"{e.engine_id} ({e.engine_name} {e.engine_version})" for e in entries)


def resolve(settings: Settings, engine: Engine | None, field: str) -> EngineEntry | None:
    """The catalog entry a preset engine names, or a SpecError naming ``field`` and listing
    the engines there are. None for a fully custom image (the image is the engine). On a
    custom image (S1.3) the name and version say which framework the image was built on;
    the image, not the catalog, provides it, so any name is accepted there."""
    if engine is None:
        return default_engine(settings)
    if not engine.names_engine:
        return None
    if engine.image_url:
        return None
    entries = available(settings)
    if engine.engine_id:
        found = [e for e in entries if e.engine_id == engine.engine_id]
        value: Any = engine.engine_id
        where = f"{field}.engine_id"
        if found and engine.engine_name and found[0].engine_name != engine.engine_name:
            raise SpecError(f"{field}.engine_name", engine.engine_name,
                            f"engine {engine.engine_id} is {found[0].engine_name}")
    else:
        found = [e for e in entries if e.engine_name == engine.engine_name
                 and e.engine_version == engine.engine_version]
        value = f"{engine.engine_name} {engine.engine_version}"
        where = field
    if not found:
        disabled = [e for e in catalog(settings) if not e.enabled and (
            e.engine_id == engine.engine_id or (e.engine_name, e.engine_version)
            == (engine.engine_name, engine.engine_version))]
        why = ("is in the catalog but not enabled on this installation (an administrator "
               "enables it, see docs/engines.md)" if disabled else "is not an engine of this "
               "installation")
        raise SpecError(where, value, f"{why}; available: {_listing(entries)}")
    return found[0]


def describe(plan: RunPlan) -> str:
    """The job's event that names its engine (the runtime adds the image digest it ran)."""
    ep, engine = plan.engine_plan, plan.engine
    if ep is None:
        image = engine.image_url if engine is not None else None
        if image is None:
            return "Engine: the host interpreter"
        if engine is not None and engine.names_engine:
            base = " ".join(filter(None, (engine.engine_name or engine.engine_id,
                                          engine.engine_version)))
            return f"Engine: custom image {image} (built on {base})"
        return f"Engine: custom image {image}"
    how = {"host": f"the host interpreter {ep.python}",
           "env": f"an environment of {len(ep.packages)} pinned packages on {ep.python}",
           "image": f"image {ep.image_url}"}[ep.kind]
    return f"Engine: {ep.engine_name} {ep.engine_version} ({ep.engine_id}), {how}"


PIN_TIMEOUT = 15.0
"""Seconds the service waits for a registry at create before leaving it to staging."""


def pin_image(settings: Settings, plan: RunPlan, project: str) -> tuple[RunPlan, str | None]:
    """The job's image tag resolved to its manifest digest now, so that every attempt runs
    the image the job was submitted with and a cached image starts without asking the
    registry again. A registry that cannot answer is not an error here: the job then
    resolves at staging, where a failure is an event naming the image (and retried when
    transient). Returns the plan and the event to record."""
    url = plan.image_url
    if url is None:
        return plan, None
    from modelyard.storage.images import ImageError, ImageStore

    ref = parse_image_ref(url, "image_url")
    if ref.digest:
        return plan.model_copy(update={"image_digest": ref.digest}), None
    store = ImageStore(settings)
    imported = store.imported(str(ref))
    if imported is not None:  # a machine without a registry: the archive is the image
        return (plan.model_copy(update={"image_digest": imported.digest}),
                f"Image {url} is {imported.digest} (imported from an archive)")
    try:
        digest = store.resolve(ref, project, timeout=PIN_TIMEOUT)
    except ImageError as exc:
        return plan, f"Image {url}: not resolved at create ({exc}); staging tries again"
    return (plan.model_copy(update={"image_digest": digest}),
            f"Image {url} is {digest}: every attempt of this job runs it")
