"""``Estimator``: train from an algorithm in two lines, ModelArts/SageMaker style.

    est = Estimator(algorithm="digits", hyperparameters={"epochs": 15},
                    outputs=[OutputData("train_url", "obs://demo/runs/1/")])
    job = est.fit(inputs=[InputData("data_url", "obs://demo/digits/data/")], wait=True)

An estimator builds the ModelArts v2 training-job JSON and submits it; the server validates
it (the same rules as everywhere), so a bad hyperparameter fails at ``fit`` with the field
named.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, TextIO

from modelyard.client.http import ModelYardClient
from modelyard.client.resources import Algorithm, TrainingJob

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class InputData:
    """An input channel: its name in the algorithm and where the data is."""

    name: str
    obs_path: str

    def body(self) -> dict[str, Any]:
        return {"name": self.name, "remote": {"obs": {"obs_url": self.obs_path}}}


@dataclass
class OutputData:
    """An output channel; ``prefetch`` downloads what is there before start (resuming)."""

    name: str
    obs_path: str
    prefetch: bool = False

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "remote": {"obs": {"obs_url": self.obs_path}}}
        if self.prefetch:
            out["prefetch_to_local"] = True
        return out


class Estimator:
    """A training configuration; each ``fit`` runs one training job from it.

    ``algorithm`` is a stored algorithm (name, id or ``Algorithm``). Without it, give
    ``code_dir`` + ``boot_file`` (+ ``engine_name``/``engine_version``) for an inline one.
    """

    def __init__(
        self,
        algorithm: str | Algorithm | None = None,
        *,
        hyperparameters: dict[str, Any] | None = None,
        inputs: list[InputData] | None = None,
        outputs: list[OutputData] | None = None,
        code_dir: str | None = None,
        boot_file: str | None = None,
        engine_name: str | None = None,
        engine_version: str | None = None,
        flavor: str | None = None,
        node_count: int = 1,
        environments: dict[str, str] | None = None,
        job_name: str | None = None,
        description: str | None = None,
        client: ModelYardClient | None = None,
        url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        project: str | None = None,
    ) -> None:
        if algorithm is None and not code_dir:
            raise ValueError("an Estimator needs an algorithm, or a code_dir and boot_file")
        self.algorithm = algorithm
        self.hyperparameters = dict(hyperparameters or {})
        self.inputs = list(inputs or [])
        self.outputs = list(outputs or [])
        self.code_dir, self.boot_file = code_dir, boot_file
        self.engine_name, self.engine_version = engine_name, engine_version
        self.flavor, self.node_count = flavor, node_count
        self.environments = dict(environments or {})
        self.job_name, self.description = job_name, description
        self.client = client or ModelYardClient(url, access_key=access_key,
                                                secret_key=secret_key, project=project)
        self.latest_job: TrainingJob | None = None

    def job_body(self, inputs: list[InputData] | None = None,
                 job_name: str | None = None) -> dict[str, Any]:
        """The ModelArts v2 training-job JSON that ``fit`` submits."""
        algorithm: dict[str, Any] = {}
        base = "job"
        if isinstance(self.algorithm, Algorithm):
            algorithm["id"] = self.algorithm.id
            base = self.algorithm.name
        elif isinstance(self.algorithm, str):
            algorithm["id" if _UUID.match(self.algorithm) else "name"] = self.algorithm
            base = self.algorithm
        else:
            algorithm.update(code_dir=self.code_dir, boot_file=self.boot_file)
            if self.engine_name:
                algorithm["engine"] = {"engine_name": self.engine_name,
                                       "engine_version": self.engine_version}
        algorithm["parameters"] = [{"name": k, "value": v}
                                   for k, v in self.hyperparameters.items()]
        algorithm["inputs"] = [i.body() for i in [*self.inputs, *(inputs or [])]]
        algorithm["outputs"] = [o.body() for o in self.outputs]
        if self.environments:
            algorithm["environments"] = self.environments
        name = job_name or self.job_name or f"{base}-{time.strftime('%Y%m%d-%H%M%S')}"
        metadata: dict[str, Any] = {"name": name[:64]}
        if self.description:
            metadata["description"] = self.description
        spec: dict[str, Any] = {"resource": {"node_count": self.node_count}}
        if self.flavor:
            spec["resource"]["flavor_id"] = self.flavor
        return {"kind": "job", "metadata": metadata, "algorithm": algorithm, "spec": spec}

    def fit(self, inputs: list[InputData] | None = None, wait: bool = True,
            logs: bool | TextIO = True, job_name: str | None = None,
            timeout: float | None = None) -> TrainingJob:
        """Submits a training job; with ``wait``, returns when it has ended (streaming its
        log when ``logs``). Check ``job.succeeded`` or ``job.phase`` afterwards."""
        job = TrainingJob.create(self.job_body(inputs, job_name), self.client)
        self.latest_job = job
        if wait:
            job.wait(timeout=timeout, logs=logs)
        return job
