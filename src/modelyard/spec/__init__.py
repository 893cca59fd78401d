"""What things are: pydantic models of algorithms and jobs, and every seed rule. No I/O.

The names below are imported on first use (PEP 562): importing one light module of this
package (``spec.errors``, ``spec.paths``, ``spec.status``...) must not build every pydantic
model and load YAML, which would cost ``modelyard storage cp`` about 0.1 s at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelyard.spec.algorithm import Algorithm, Engine, JobConfig, Metadata, Mode
    from modelyard.spec.channels import AccessMethod, InputSpec, OutputSpec
    from modelyard.spec.errors import SpecError
    from modelyard.spec.job import JobSpec, TrainingJob
    from modelyard.spec.loader import load_algorithm, load_job, parse_algorithm, parse_job
    from modelyard.spec.parameters import Constraint, Parameter, ParamType
    from modelyard.spec.paths import Location, parse_location
    from modelyard.spec.plan import ChannelPlan, MountPlan, RunPlan
    from modelyard.spec.resolve import resolve_job
    from modelyard.spec.status import EventLevel, EventSource, Phase, SecondaryPhase

_SOURCES = {
    "algorithm": ("Algorithm", "Engine", "JobConfig", "Metadata", "Mode"),
    "channels": ("AccessMethod", "InputSpec", "OutputSpec"),
    "errors": ("SpecError",),
    "job": ("JobSpec", "TrainingJob"),
    "loader": ("load_algorithm", "load_job", "parse_algorithm", "parse_job"),
    "parameters": ("Constraint", "Parameter", "ParamType"),
    "paths": ("Location", "parse_location"),
    "plan": ("ChannelPlan", "MountPlan", "RunPlan"),
    "resolve": ("resolve_job",),
    "status": ("EventLevel", "EventSource", "Phase", "SecondaryPhase"),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = [
    "AccessMethod",
    "Algorithm",
    "ChannelPlan",
    "Constraint",
    "Engine",
    "EventLevel",
    "EventSource",
    "InputSpec",
    "JobConfig",
    "JobSpec",
    "Location",
    "Metadata",
    "Mode",
    "MountPlan",
    "OutputSpec",
    "ParamType",
    "Parameter",
    "Phase",
    "RunPlan",
    "SecondaryPhase",
    "SpecError",
    "TrainingJob",
    "load_algorithm",
    "load_job",
    "parse_algorithm",
    "parse_job",
    "parse_location",
    "resolve_job",
]


if not TYPE_CHECKING:  # hidden from mypy, which then still checks every imported name

    def __getattr__(name: str) -> Any:
        module = _MODULE_OF.get(name)
        if module is None:  # lets ``from modelyard.spec import volumes`` import the module
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
