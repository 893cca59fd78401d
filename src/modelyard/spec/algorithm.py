"""Algorithms in the ModelArts v2 shape: code, engine, hyperparameters, channels (S1-S4)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelyard.spec.channels import AccessMethod, InputSpec, OutputSpec
from modelyard.spec.contract import Contract, check_contract_outputs
from modelyard.spec.errors import SpecError
from modelyard.spec.fields import CodeDir, Description, Environments, Name
from modelyard.spec.images import parse_image_ref
from modelyard.spec.names import (
    looks_secret,
)
from modelyard.spec.parameters import Parameter
from modelyard.spec.paths import Location, parse_location


class Mode(StrEnum):
    """The four ways to implement an algorithm (seed S1)."""

    SUBSCRIBED = "subscribed"  # S1.1
    PRESET = "preset"  # S1.2
    PRESET_CUSTOM_IMAGE = "preset_custom_image"  # S1.3
    CUSTOM_IMAGE = "custom_image"  # S1.4


class Metadata(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    name: Name
    description: Description = None
    workspace_id: str | None = None
    create_time: int | None = None
    update_time: int | None = None
    annotations: dict[str, str] = Field(default_factory=dict)


class Engine(BaseModel):
    """A preset engine (engine_id, or name + version), a custom image, or a preset engine on
    a custom image. Whether a named engine exists on this installation is the service's
    question (its engine catalog); here only the shape is checked."""

    model_config = ConfigDict(extra="ignore")

    engine_id: str | None = None
    engine_name: str | None = None
    engine_version: str | None = None
    image_url: str | None = None

    @field_validator("image_url")
    @classmethod
    def _image_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        parse_image_ref(v, "")  # kept as written: the user sees back what they sent
        return v.strip()

    @model_validator(mode="after")
    def _complete(self) -> Engine:
        if (self.image_url is None and not self.engine_id
                and not (self.engine_name and self.engine_version)):
            raise SpecError(
                "", self.model_dump(exclude_none=True),
                "an engine is engine_id, or engine_name + engine_version, or an image_url "
                "(seed S1.2-S1.4)",
            )
        return self

    @property
    def names_engine(self) -> bool:
        """True when a preset engine is named (alone, or as the base of a custom image)."""
        return bool(self.engine_id or (self.engine_name and self.engine_version))


class JobConfig(BaseModel):
    """``job_config`` of an algorithm."""

    model_config = ConfigDict(extra="ignore")

    code_dir: CodeDir = None
    boot_file: str | None = None
    command: str | None = None
    engine: Engine | None = None
    parameters: list[Parameter] = Field(default_factory=list)
    inputs: list[InputSpec] = Field(default_factory=list)
    outputs: list[OutputSpec] = Field(default_factory=list)
    environments: Environments = Field(default_factory=dict)
    parameters_customization: bool = False
    working_dir: str | None = None
    contract: Contract = Contract.MODELARTS
    """Ours: ``sagemaker`` runs the code under SageMaker's training contract."""

    @field_validator("contract", mode="before")
    @classmethod
    def _contract(cls, v: Any) -> Any:
        if v is None:
            return Contract.MODELARTS
        if isinstance(v, str) and v.strip().lower() in {c.value for c in Contract}:
            return v.strip().lower()
        raise SpecError("", v, "contract is 'modelarts' (the default) or 'sagemaker'")

    @model_validator(mode="after")
    def _rules(self) -> JobConfig:
        self.boot_file = resolve_boot_file(self.code_dir, self.boot_file, "boot_file")
        mode = self.mode
        if mode is Mode.CUSTOM_IMAGE and not (self.command and self.command.strip()):
            raise SpecError(
                "command", self.command,
                "a boot command is required for a custom image (seed S2.5)",
            )
        if mode in (Mode.PRESET, Mode.PRESET_CUSTOM_IMAGE):
            if self.code_dir is None:
                raise SpecError(
                    "code_dir", None, "a preset engine needs a code directory (seed S2.1)"
                )
            if self.boot_file is None and not self.command:
                raise SpecError(
                    "boot_file", None, "a preset engine needs a boot file in the code directory "
                    "(seed S2.1)",
                )
        check_unique_channels(
            [p.name for p in self.parameters],
            [c.name for c in self.inputs],
            [c.name for c in self.outputs],
            "",
        )
        check_contract_outputs(self.contract, [c.name for c in self.outputs], "outputs")
        for c in [*self.inputs, *self.outputs]:
            if c.access_method is AccessMethod.ENV and c.name in self.environments:
                raise SpecError(
                    f"environments.{c.name}", self.environments[c.name],
                    f"{c.name} is the environment variable of channel {c.name!r} "
                    "(access_method env); rename the variable (seed S4.2)",
                )
        return self

    @property
    def mode(self) -> Mode:
        engine = self.engine
        if engine is None or engine.image_url is None:
            return Mode.PRESET
        if engine.names_engine:
            return Mode.PRESET_CUSTOM_IMAGE
        return Mode.CUSTOM_IMAGE


def resolve_boot_file(code_dir: str | None, boot_file: str | None, field: str) -> str | None:
    """Seed S2.1 / docs/contract.md: a boot file ends in .py and lies inside the code directory.

    Accepts a full location or a path relative to the code directory; returns the relative
    path, which is all the runtime needs.
    """
    if boot_file is None or boot_file == "":
        return None
    if not boot_file.endswith(".py"):
        raise SpecError(field, boot_file, "a boot file ends in .py (seed S2.1)")
    if code_dir is None:
        raise SpecError(field, boot_file, "a boot file needs a code directory (seed S2.1)")
    code = parse_location(code_dir, "code_dir")
    if "://" in boot_file or boot_file.startswith("/"):
        rel = parse_location(boot_file, field).relative_to(code)
    else:
        rel = boot_file
        while rel.startswith("./"):  # "./train.py" is "train.py"
            rel = rel[2:]
        if any(p in ("", ".", "..") for p in rel.split("/")):
            rel = None
    if not rel:
        raise SpecError(
            field, boot_file, f"the boot file must lie inside the code directory {code.url} "
            "(seed S2.1)",
        )
    return rel


def check_unique_channels(
    params: list[str], inputs: list[str], outputs: list[str], field: str
) -> None:
    """Names are unique across hyperparameters, inputs and outputs: they share one argv."""
    seen: dict[str, str] = {}
    for kind, names in (("parameters", params), ("inputs", inputs), ("outputs", outputs)):
        for i, name in enumerate(names):
            where = f"{field}.{kind}[{i}].name" if field else f"{kind}[{i}].name"
            if name in seen:
                raise SpecError(
                    where, name,
                    f"the name is already used by {seen[name]}; names are unique across "
                    "hyperparameters, inputs and outputs (they share one command line, "
                    "seed S3.1/S4)",
                )
            seen[name] = f"{kind}[{i}]"


class Algorithm(BaseModel):
    """An algorithm (ModelArts v2 ``/algorithms`` body)."""

    model_config = ConfigDict(extra="ignore")

    metadata: Metadata
    job_config: JobConfig
    resource_requirements: list[dict[str, Any]] | None = None
    advanced_config: dict[str, Any] | None = None
    policies: dict[str, Any] | None = None

    def warnings(self) -> list[str]:
        """Things that are allowed but probably wrong (seed S3.9)."""
        out = []
        for i, p in enumerate(self.job_config.parameters):
            if looks_secret(p.name) and not p.constraint.sensitive:
                out.append(
                    f"job_config.parameters[{i}].name: {p.name!r} looks like a secret; do not "
                    "pass credentials as hyperparameters (seed S3.9)"
                )
        return out

    @property
    def code_location(self) -> Location | None:
        cd = self.job_config.code_dir
        return None if cd is None else parse_location(cd)
