"""Fault-tolerance annotations (docs/contract.md "Fault tolerance"), parsed and checked.

``metadata.annotations`` of a job, as in ModelArts:

- ``fault-tolerance/job-retry-num``: 0-3 restarts after a failure outside the user's code
  (runtime or node lost, process killed by a signal such as the OOM killer, a hang, a
  transient storage error while staging).
- ``fault-tolerance/job-unconditional-retry``: ``true`` also restarts after the user's
  process exits with a non-zero code (at most job-retry-num times, 3 if unset).
- ``fault-tolerance/hang-retry``: ``true`` treats "no log output and no CPU progress for
  ``fault-tolerance/hang-seconds`` (ours, default 1800)" as a failure that restarts.

Never more than three restarts in a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from modelyard.spec.errors import SpecError

RETRY_NUM = "fault-tolerance/job-retry-num"
UNCONDITIONAL = "fault-tolerance/job-unconditional-retry"
HANG_RETRY = "fault-tolerance/hang-retry"
HANG_SECONDS = "fault-tolerance/hang-seconds"
MAX_RESTARTS = 3
DEFAULT_HANG_SECONDS = 1800.0

# Why an attempt ended: set by the runtime (or by the executor when the runtime is gone).
INFRASTRUCTURE_CAUSES = frozenset({"lost", "signal", "hang", "staging_transient"})


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 0
    unconditional: bool = False
    hang_seconds: float | None = None

    def should_restart(self, restarts_so_far: int, cause: str | None) -> bool:
        """Whether an attempt that failed for ``cause`` is started again."""
        if restarts_so_far >= min(self.retries, MAX_RESTARTS):
            return False
        if cause in INFRASTRUCTURE_CAUSES:
            return True
        return self.unconditional and cause == "exit_code"


def retry_policy(annotations: Mapping[str, str]) -> RetryPolicy:
    field = "metadata.annotations"
    raw = annotations.get(RETRY_NUM)
    retries = 0
    if raw is not None:
        try:
            retries = int(str(raw))
        except ValueError:
            retries = -1
        if not 0 <= retries <= MAX_RESTARTS:
            raise SpecError(f"{field}.{RETRY_NUM}", raw, "a whole number from 0 to 3")
    unconditional = _flag(annotations, UNCONDITIONAL, field)
    if unconditional and raw is None:
        retries = MAX_RESTARTS
    hang_seconds = None
    if _flag(annotations, HANG_RETRY, field):
        text = annotations.get(HANG_SECONDS, str(DEFAULT_HANG_SECONDS))
        try:
            hang_seconds = float(text)
        except ValueError:
            hang_seconds = 0.0
        if hang_seconds <= 0:
            raise SpecError(f"{field}.{HANG_SECONDS}", text, "a positive number of seconds")
        retries = retries or MAX_RESTARTS
    return RetryPolicy(retries, unconditional, hang_seconds)


def _flag(annotations: Mapping[str, str], key: str, field: str) -> bool:
    raw = annotations.get(key)
    if raw is None:
        return False
    text = str(raw).strip().lower()
    if text not in ("true", "false"):
        raise SpecError(f"{field}.{key}", raw, "true or false")
    return text == "true"
