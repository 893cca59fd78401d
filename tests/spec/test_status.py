"""Phases (docs/contract.md "Statuses")."""

from __future__ import annotations

from modelyard.spec import EventLevel, EventSource, Phase, SecondaryPhase
from modelyard.spec.status import FINAL_PHASES


def test_phases_are_the_modelarts_names() -> None:
    assert [p.value for p in Phase] == [
        "Creating", "Pending", "Running", "Failed", "Completed", "Terminating", "Terminated",
        "Abnormal",
    ]
    assert {p.value for p in SecondaryPhase} == {
        "Queuing", "CreateFailed", "TerminatedFailed", "Unknown", "Lost",
    }
    assert {e.value for e in EventLevel} == {"Info", "Warning", "Error"}
    assert {e.value for e in EventSource} == {"Job", "Task", "Platform"}


def test_final_phases() -> None:
    assert {p for p in Phase if p.is_final} == set(FINAL_PHASES) == {
        Phase.FAILED, Phase.COMPLETED, Phase.TERMINATED, Phase.ABNORMAL,
    }
    assert not Phase.TERMINATING.is_final
