"""The run plan: everything a runtime needs to run one job, and nothing it must look up.

The service resolves a job against its algorithm into a RunPlan and hands it to an executor;
the runtime reads it from ``plan.json`` in the job folder. Keeping it self-contained is what
lets runtimes outlive the server.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from modelyard.spec.algorithm import Engine, Mode
from modelyard.spec.channels import AccessMethod
from modelyard.spec.contract import Contract


class DatasetChannel(BaseModel):
    """An input that is a dataset version (issue 18): the channel's ``url`` is the dataset's
    data source; the runtime also fetches ``manifest_url``, any sample outside the data
    source, and writes the manifest as ``manifest_name`` with local ``source`` paths."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str
    version_id: str
    manifest_url: str
    manifest_name: str


class ChannelPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    url: str
    access_method: AccessMethod = AccessMethod.PARAMETER
    prefetch_to_local: bool = False
    dataset: DatasetChannel | None = None


class MountPlan(BaseModel):
    """A host directory bound into the job (file-system mounts, S5.2)."""

    model_config = ConfigDict(extra="forbid")

    source: str
    target: str
    read_only: bool = False


class EnginePlan(BaseModel):
    """The engine a job runs on, resolved from the engine catalog at create (issue 15)."""

    model_config = ConfigDict(extra="forbid")

    engine_id: str
    engine_name: str
    engine_version: str
    kind: Literal["host", "env", "image"]
    python: str | None = None
    """host: the interpreter; env: the interpreter its virtual environment is made from."""
    packages: list[str] = Field(default_factory=list)
    """env: the pinned packages of the environment."""
    image_url: str | None = None


class ClusterPlan(BaseModel):
    """Where each task of a multi-node job runs (filled by the executor that placed it)."""
    model_config = ConfigDict(extra="forbid")
    task_index: int = 0
    hosts: list[str] = Field(default_factory=list)
    """One entry per task, in task order: the IP address of the node that task runs on."""
    master_port: int = 29500
    node_ip: str | None = None
    """The address of this task's node (hosts[task_index]); the job's network uses it."""


class RunPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: str = ""
    project_id: str = ""
    job_name: str = ""
    mode: Mode = Mode.PRESET
    code_dir: str | None = None
    boot_file: str | None = None
    command: str | None = None
    working_dir: str | None = None
    contract: Contract = Contract.MODELARTS
    engine: Engine | None = None
    engine_plan: EnginePlan | None = None
    """None in plans made before the engine catalog: the host interpreter, as then."""
    image_digest: str | None = None
    """The manifest digest the image's tag had when the job was created (None when the
    registry could not say): every attempt of the job runs that same image."""
    hyperparameters: list[tuple[str, str]] = Field(default_factory=list)
    inputs: list[ChannelPlan] = Field(default_factory=list)
    outputs: list[ChannelPlan] = Field(default_factory=list)
    environments: dict[str, str] = Field(default_factory=dict)
    mounts: list[MountPlan] = Field(default_factory=list)
    node_count: int = 1
    flavor_id: str | None = None
    upload_period: float = 30.0
    max_run_seconds: int | None = None
    cpus: int | None = None
    """Cores of the job's flavor: the runtime pins the job to them and sets thread counts."""
    cpu_set: list[int] | None = None
    """The cores reserved for the job (set by the scheduler when the node's cores exist);
    the runtime pins itself and with it every process of the job to them."""
    memory_gb: float | None = None
    """Memory of the job's flavor: the runtime accounts for it (and limits where it can)."""
    gpus: int = 0
    hang_seconds: float | None = None
    """With fault-tolerance/hang-retry: no log output and no CPU progress for this long ends
    the attempt as hung (the service then restarts it)."""
    cluster: ClusterPlan | None = None
    attempt: int = 0
    """0 for the first run, n for the n-th restart; the runtime appends to the same log."""

    @property
    def image_url(self) -> str | None:
        """The image the job runs in: its own (S1.3/S1.4), or its catalog engine's."""
        if self.engine is not None and self.engine.image_url:
            return self.engine.image_url
        if self.engine_plan is not None and self.engine_plan.kind == "image":
            return self.engine_plan.image_url
        return None
