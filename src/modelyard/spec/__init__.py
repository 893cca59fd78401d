"""What things are: pydantic models of algorithms and jobs, and every seed rule. No I/O."""

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
