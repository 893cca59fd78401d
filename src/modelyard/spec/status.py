"""Job phases (docs/contract.md "Statuses")."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    CREATING = "Creating"
    PENDING = "Pending"
    RUNNING = "Running"
    FAILED = "Failed"
    COMPLETED = "Completed"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"
    ABNORMAL = "Abnormal"

    @property
    def is_final(self) -> bool:
        return self in FINAL_PHASES


class SecondaryPhase(StrEnum):
    QUEUING = "Queuing"
    CREATE_FAILED = "CreateFailed"
    TERMINATED_FAILED = "TerminatedFailed"
    UNKNOWN = "Unknown"
    LOST = "Lost"


FINAL_PHASES = frozenset({Phase.FAILED, Phase.COMPLETED, Phase.TERMINATED, Phase.ABNORMAL})


class EventLevel(StrEnum):
    INFO = "Info"
    WARNING = "Warning"
    ERROR = "Error"


class EventSource(StrEnum):
    JOB = "Job"
    TASK = "Task"
    PLATFORM = "Platform"
