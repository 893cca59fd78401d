"""Training jobs in the ModelArts v2 shape (``/training-jobs`` body)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from modelyard.spec.algorithm import Engine, Metadata
from modelyard.spec.channels import InputBinding, OutputBinding
from modelyard.spec.fields import CodeDir, Environments
from modelyard.spec.parameters import ParameterValue


class JobAlgorithm(BaseModel):
    """The job's ``algorithm``: a reference to a stored algorithm (``id`` or ``name``) or an
    inline definition, plus this job's hyperparameter values and channel bindings."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    name: str | None = None
    subscription_id: str | None = None
    item_version_id: str | None = None  # with subscription_id: a gallery version (seed S1.1)
    code_dir: CodeDir = None
    boot_file: str | None = None
    command: str | None = None
    engine: Engine | None = None
    parameters: list[ParameterValue] = Field(default_factory=list)
    inputs: list[InputBinding] = Field(default_factory=list)
    outputs: list[OutputBinding] = Field(default_factory=list)
    environments: Environments = Field(default_factory=dict)
    parameters_customization: bool | None = None
    working_dir: str | None = None
    contract: str | None = None
    """Inline jobs only (ours): ``sagemaker`` or ``modelarts``, see ``JobConfig.contract``."""
    policies: dict[str, Any] | None = None  # ModelArts: policies.auto_search (spec/autosearch)

    @property
    def is_reference(self) -> bool:
        return bool(self.id or self.name or self.subscription_id or self.item_version_id)


class Resource(BaseModel):
    model_config = ConfigDict(extra="ignore")

    flavor_id: str | None = None
    node_count: int = Field(default=1, ge=1, le=64)
    policy: str | None = None


class AutoStop(BaseModel):
    model_config = ConfigDict(extra="ignore")

    enabled: bool = True
    duration_seconds: int | None = Field(default=None, ge=1)


class SchedulePolicy(BaseModel):
    model_config = ConfigDict(extra="ignore")

    priority: int = Field(default=1, ge=1, le=3)


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")

    resource: Resource = Field(default_factory=Resource)
    volumes: list[dict[str, Any]] = Field(default_factory=list)
    auto_stop: AutoStop | None = None
    schedule_policy: SchedulePolicy | None = None
    log_export_path: dict[str, Any] | None = None


class TrainingJob(BaseModel):
    """A training job as submitted. ``status`` is filled by the service, never by users."""

    model_config = ConfigDict(extra="ignore")

    kind: str = "job"
    metadata: Metadata
    algorithm: JobAlgorithm
    spec: JobSpec = Field(default_factory=JobSpec)
    status: dict[str, Any] | None = None
