"""Resolving a job against its algorithm: every rule that needs both (S3.5-S3.7, S4)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import ValidationError

from modelyard.spec.algorithm import Algorithm, JobConfig, Metadata, check_unique_channels
from modelyard.spec.channels import (
    AccessMethod,
    DatasetRemote,
    InputBinding,
    InputSpec,
    check_env_channel,
)
from modelyard.spec.dataset_constraints import VersionFacts, check_constraints
from modelyard.spec.errors import SpecError, from_pydantic
from modelyard.spec.job import JobAlgorithm, TrainingJob
from modelyard.spec.names import check_environments
from modelyard.spec.parameters import Constraint, render
from modelyard.spec.paths import parse_location
from modelyard.spec.plan import ChannelPlan, DatasetChannel, RunPlan

_CODE_FIELDS = ("code_dir", "boot_file", "command", "engine", "working_dir", "contract")
B = TypeVar("B", bound=InputBinding)
DatasetResolver = Callable[[DatasetRemote, str], VersionFacts]
"""Finds a job input's ``remote.dataset`` (the field names it in errors); from the service."""


def inline_algorithm(job: TrainingJob) -> Algorithm:
    """An inline job (code_dir/boot_file in the job itself) as an ad-hoc algorithm whose
    hyperparameters are whatever the job sets.

    Validated as one ``job_config`` document, so a broken rule names the job's own field
    (``parameters[1].value``), which ``resolve_job`` prefixes with ``algorithm``.
    """
    ja = job.algorithm
    data: dict[str, Any] = {
        "code_dir": ja.code_dir,
        "boot_file": ja.boot_file,
        "command": ja.command,
        "engine": ja.engine,
        "working_dir": ja.working_dir,
        "contract": ja.contract,
        "parameters": [
            {"name": p.name, "value": p.value, "constraint": p.constraint or Constraint()}
            for p in ja.parameters
        ],
        "inputs": [
            {"name": c.name, "access_method": c.access_method or AccessMethod.PARAMETER}
            for c in ja.inputs
        ],
        "outputs": [
            {"name": c.name, "access_method": c.access_method or AccessMethod.PARAMETER,
             "prefetch_to_local": bool(c.prefetch_to_local)}
            for c in ja.outputs
        ],
        "parameters_customization": True,
    }
    config = JobConfig.model_validate(data)
    return Algorithm(metadata=Metadata(name=job.metadata.name), job_config=config)


def resolve_job(job: TrainingJob, algorithm: Algorithm | None,
                datasets: DatasetResolver | None = None) -> RunPlan:
    """Builds the run plan of ``job``; ``algorithm`` is the stored algorithm it references
    (None for an inline job), ``datasets`` finds dataset versions bound to inputs. Raises
    SpecError on the first broken rule."""
    ja = job.algorithm
    if ja.is_reference:
        if algorithm is None:
            raise SpecError("algorithm.id", ja.id or ja.name, "no such algorithm")
        for name in _CODE_FIELDS:
            if getattr(ja, name) is not None:
                raise SpecError(f"algorithm.{name}", getattr(ja, name), _fixed_code_rule(ja))
    else:
        if ja.code_dir is None and ja.command is None:
            raise SpecError(
                "algorithm", None,
                "a job names an algorithm (algorithm.id or algorithm.name) or defines "
                "code_dir and boot_file (or a command) inline",
            )
        try:
            algorithm = inline_algorithm(job)
        except ValidationError as exc:
            raise from_pydantic(exc, "algorithm") from None
    config = algorithm.job_config
    hyperparameters = _resolve_parameters(job, config)
    inputs = _resolve_inputs(job, config, datasets)
    outputs = _resolve_outputs(job, config)
    # _resolve_parameters names the job's own field; this is the safety net.
    check_unique_channels(
        [n for n, _ in hyperparameters], [c.name for c in inputs], [c.name for c in outputs],
        "algorithm",
    )
    envs = check_environments({**config.environments, **ja.environments}, "algorithm.environments")
    for kind, plans in (("input", inputs), ("output", outputs)):
        for c in plans:
            if c.access_method is AccessMethod.ENV and c.name in envs:
                raise SpecError(
                    f"algorithm.environments.{c.name}", envs[c.name],
                    f"{c.name} is the environment variable of {kind} channel {c.name!r} "
                    "(access_method env); rename the variable (seed S4.2)",
                )
    auto_stop = job.spec.auto_stop
    return RunPlan(
        job_name=job.metadata.name,
        mode=config.mode,
        code_dir=config.code_dir,
        boot_file=config.boot_file,
        command=config.command,
        working_dir=config.working_dir,
        contract=config.contract,
        engine=config.engine,
        hyperparameters=hyperparameters,
        inputs=inputs,
        outputs=outputs,
        environments=envs,
        node_count=job.spec.resource.node_count,
        flavor_id=job.spec.resource.flavor_id,
        max_run_seconds=auto_stop.duration_seconds if auto_stop and auto_stop.enabled else None,
    )


def _fixed_code_rule(ja: JobAlgorithm) -> str:
    if ja.subscription_id or ja.item_version_id:
        return ("a job from a subscribed algorithm runs the code and engine its publisher "
                "published; it sets only the hyperparameters, inputs and outputs the "
                "publisher exposed (seed S1.1)")
    return ("a job created from an algorithm runs that algorithm's code; leave out "
            "algorithm.id to define the code inline")


def _resolve_parameters(job: TrainingJob, config: JobConfig) -> list[tuple[str, str]]:
    defined = {p.name: p for p in config.parameters}
    channels = {c.name: f"input channel {c.name!r}" for c in config.inputs} | {
        c.name: f"output channel {c.name!r}" for c in config.outputs
    }
    given: dict[str, tuple[int, Any]] = {}
    for i, pv in enumerate(job.algorithm.parameters):
        field = f"algorithm.parameters[{i}]"
        if pv.name in given:
            raise SpecError(f"{field}.name", pv.name, "each hyperparameter is set at most once")
        given[pv.name] = (i, pv.value)
        if pv.name not in defined and not config.parameters_customization:
            known = ", ".join(defined) or "none"
            if job.algorithm.subscription_id:
                raise SpecError(
                    f"{field}.name", pv.name,
                    f"the publisher of the subscribed algorithm did not expose this "
                    f"hyperparameter (it exposes: {known}); a job from a subscription sets "
                    "only those (seed S1.1)",
                )
            raise SpecError(
                f"{field}.name", pv.name,
                f"the algorithm defines no such hyperparameter (it defines: {known}) and does "
                "not allow custom ones (parameters_customization)",
            )
        if pv.name not in defined and pv.name in channels:
            raise SpecError(
                f"{field}.name", pv.name,
                f"the name is already used by {channels[pv.name]}; names are unique across "
                "hyperparameters, inputs and outputs (they share one command line, "
                "seed S3.1/S4)",
            )
    values: list[tuple[str, str]] = []
    for p in config.parameters:
        c = p.constraint
        if p.name in given:
            i, value = given[p.name]
            field = f"algorithm.parameters[{i}].value"
            if value is None:
                if c.required:
                    raise SpecError(
                        field, None,
                        f"hyperparameter {p.name!r} is required and cannot be removed (seed S3.7)",
                    )
                if not c.editable and p.value is not None:
                    raise SpecError(
                        field, None, f"hyperparameter {p.name!r} is not editable; its value is "
                        f"{render(p.value)} and cannot be removed (seed S3.2)",
                    )
                continue
            try:
                typed = c.check(value, field)
            except SpecError as exc:  # say which hyperparameter: the user wrote its name
                raise SpecError(exc.field, exc.value, f"hyperparameter {p.name!r}: {exc.rule}")\
                    from None
            if not c.editable and p.value is not None and typed != p.value:
                raise SpecError(
                    field, value, f"hyperparameter {p.name!r} is not editable; its value is "
                    f"{render(p.value)} (seed S3.2)",
                )
        elif p.value is not None:
            typed = p.value
        elif c.required:
            raise SpecError(
                "algorithm.parameters", p.name,
                f"hyperparameter {p.name!r} is required and has no default: set its value",
            )
        else:
            continue
        values.append((p.name, render(typed)))
    for name, (_, value) in given.items():
        if name not in defined and value is not None:
            values.append((name, render(value)))
    return values


def _resolve_inputs(job: TrainingJob, config: JobConfig,
                    datasets: DatasetResolver | None) -> list[ChannelPlan]:
    bound = _bindings(job.algorithm.inputs, {c.name for c in config.inputs}, "inputs")
    plans = []
    for spec in config.inputs:
        if spec.name not in bound:
            raise SpecError(
                "algorithm.inputs", spec.name,
                f"input {spec.name!r} needs a location (remote.obs.obs_url) (seed S4.2)",
            )
        i, binding = bound[spec.name]
        method = _access_method(binding, spec.access_method, f"algorithm.inputs[{i}]")
        if binding.remote.dataset is not None:
            plans.append(_dataset_input(spec, binding.remote.dataset, method,
                                        f"algorithm.inputs[{i}].remote.dataset", datasets))
            continue
        _check_storage_allowed(spec, binding.remote.url, f"algorithm.inputs[{i}].remote.obs")
        plans.append(ChannelPlan(name=spec.name, url=binding.remote.url, access_method=method))
    return plans


def _check_storage_allowed(spec: InputSpec, url: str, field: str) -> None:
    """Seed S4.2: an input constrained to datasets takes no storage location."""
    kinds = {c.data_type for c in spec.remote_constraints}
    if kinds and "obs" not in kinds:
        raise SpecError(field, url, f"the algorithm's input constraints allow only a dataset "
                        f"(data_type {', '.join(sorted(kinds))}) for input {spec.name!r} "
                        "(seed S4.2)")


def _dataset_input(spec: InputSpec, ref: DatasetRemote, method: AccessMethod, field: str,
                   datasets: DatasetResolver | None) -> ChannelPlan:
    """A dataset version as an input: found by the service, checked against the
    algorithm's input constraints (dataset type, label type, data format, split)."""
    if datasets is None:
        raise SpecError(field, ref.id, "dataset inputs are resolved by a ModelYard service")
    facts = datasets(ref, field)
    check_constraints([(c.data_type, c.attributes) for c in spec.remote_constraints],
                      facts, field)
    return ChannelPlan(
        name=spec.name, url=facts.data_url, access_method=method,
        dataset=DatasetChannel(dataset_id=facts.dataset_id, version_id=facts.version_id,
                               manifest_url=facts.manifest_url,
                               manifest_name=facts.manifest_name),
    )


def _resolve_outputs(job: TrainingJob, config: JobConfig) -> list[ChannelPlan]:
    bound = _bindings(job.algorithm.outputs, {c.name for c in config.outputs}, "outputs")
    plans = []
    for spec in config.outputs:
        if spec.name not in bound:
            raise SpecError(
                "algorithm.outputs", spec.name,
                f"output {spec.name!r} needs a location (remote.obs.obs_url) (seed S4.3)",
            )
        i, b = bound[spec.name]
        if b.remote.dataset is not None:
            raise SpecError(f"algorithm.outputs[{i}].remote.dataset", b.remote.dataset.id,
                            "an output is written to a storage location (remote.obs.obs_url), "
                            "not to a dataset (seed S4.3)")
        method = _access_method(b, spec.access_method, f"algorithm.outputs[{i}]")
        prefetch = spec.prefetch_to_local if b.prefetch_to_local is None else b.prefetch_to_local
        plans.append(ChannelPlan(name=spec.name, url=_dir_url(b.remote.url),
                                 access_method=method, prefetch_to_local=prefetch))
    return plans


def _access_method(binding: InputBinding, defined: AccessMethod, field: str) -> AccessMethod:
    """The binding may switch the access method; ``env`` needs a variable-shaped name."""
    method = binding.access_method or defined
    if method is AccessMethod.ENV and binding.access_method is AccessMethod.ENV:
        try:
            check_env_channel(binding.name, f"{field}.access_method")
        except SpecError as exc:
            raise SpecError(
                exc.field, binding.access_method.value, f"channel {binding.name!r}: {exc.rule}"
            ) from None
    return method


def _bindings(bindings: Sequence[B], known: set[str], kind: str) -> dict[str, tuple[int, B]]:
    out: dict[str, tuple[int, B]] = {}
    for i, b in enumerate(bindings):
        if b.name not in known:
            raise SpecError(
                f"algorithm.{kind}[{i}].name", b.name,
                f"the algorithm defines no such {kind[:-1]} channel "
                f"(it defines: {', '.join(sorted(known)) or 'none'})",
            )
        if b.name in out:
            raise SpecError(f"algorithm.{kind}[{i}].name", b.name, "each channel is bound once")
        out[b.name] = (i, b)
    return out


def _dir_url(url: str) -> str:
    return parse_location(url).as_dir().url
