"""Input and output channels (seed S4): how data reaches the code and results leave it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelyard.spec.dataset_constraints import DATASET_DATA_TYPES, normalize_attributes
from modelyard.spec.errors import SpecError
from modelyard.spec.fields import Description, Name
from modelyard.spec.names import check_env_name
from modelyard.spec.paths import parse_location


class AccessMethod(StrEnum):
    PARAMETER = "parameter"
    ENV = "env"


ENV_CHANNEL_RULE = (
    "a channel passed as an environment variable (access_method env) is named "
    "[A-Za-z_][A-Za-z0-9_]* and does not start with MA_ (seed S4.2)"
)


def check_env_channel(name: str, field: str) -> str:
    """Seed S4.2: a channel with access method ``env`` becomes a variable of that name."""
    try:
        return check_env_name(name, field)
    except SpecError:
        raise SpecError(field, name, ENV_CHANNEL_RULE) from None


class RemoteConstraint(BaseModel):
    """Where an input may come from (S4.2): a storage location or a dataset.

    ``attributes`` (dataset_type, label_type, data_format, data_segmentation) is accepted in
    each shape ModelArts' API sends it and kept as one map of lists (spec.datasets)."""

    model_config = ConfigDict(extra="forbid")

    data_type: str = "obs"
    attributes: dict[str, list[str]] | None = None

    @field_validator("data_type")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v != "obs" and v not in DATASET_DATA_TYPES:
            raise SpecError("", v, "data_type is 'obs', 'dataset' or 'modelarts_dataset' "
                            "(seed S4.2)")
        return v

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes(cls, v: Any) -> dict[str, list[str]] | None:
        return normalize_attributes(v)


class ObsRemote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    obs_url: str

    @field_validator("obs_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return parse_location(v, "").url


class DatasetRemote(BaseModel):
    """ModelArts ``remote.dataset``: a published version of a dataset (issue 18).
    ``obs_url`` is what ModelArts reports back; it is ignored on input."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    version_id: str = Field(min_length=1, max_length=64)
    obs_url: str | None = None


class Remote(BaseModel):
    """ModelArts ``remote``: ``{"obs": {"obs_url": ...}}`` or ``{"dataset": {"id": ...,
    "version_id": ...}}``; the service resolves a dataset to its manifest and files."""

    model_config = ConfigDict(extra="forbid")

    obs: ObsRemote | None = None
    dataset: DatasetRemote | None = None

    @model_validator(mode="after")
    def _one(self) -> Remote:
        if self.dataset is not None and self.obs is not None:
            raise SpecError("dataset", self.dataset.id,
                            "a remote is either obs or dataset, not both (seed S4.1)")
        if self.obs is None and self.dataset is None:
            raise SpecError("obs", None, "a remote names obs.obs_url or dataset.id and "
                            "dataset.version_id (seed S4.1)")
        return self

    @property
    def url(self) -> str:
        """The storage location (obs remotes only; a dataset's is found by the service)."""
        if self.obs is None:
            raise SpecError("dataset", self.dataset.id if self.dataset else None,
                            "a dataset remote is only usable as a job's input")
        return self.obs.obs_url


class _ChannelBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description = None
    access_method: AccessMethod = AccessMethod.PARAMETER
    local_dir: str | None = None

    @field_validator("local_dir")
    @classmethod
    def _no_local_dir(cls, v: str | None) -> str | None:
        if v is not None:
            raise SpecError(
                "", v, "local_dir is chosen by the platform (/home/ma-user/modelarts/...)"
            )
        return v

    @model_validator(mode="after")
    def _env_name(self) -> _ChannelBase:
        if self.access_method is AccessMethod.ENV:
            check_env_channel(self.name, "name")
        return self



class InputSpec(_ChannelBase):
    """An input channel defined on an algorithm."""

    remote_constraints: list[RemoteConstraint] = Field(default_factory=list)


class OutputSpec(_ChannelBase):
    """An output channel defined on an algorithm."""

    prefetch_to_local: bool = False


class InputBinding(BaseModel):
    """A job's binding of an input channel to a location."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    remote: Remote
    access_method: AccessMethod | None = None
    description: str | None = None
    local_dir: str | None = None


class OutputBinding(InputBinding):
    """A job's binding of an output channel; ``prefetch_to_local`` downloads it first (S7.3)."""

    prefetch_to_local: bool | None = None
