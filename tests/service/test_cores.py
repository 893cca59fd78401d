"""Scheduler.Cores: which cores a job gets, whole or shared (no processes started)."""

from __future__ import annotations

from modelyard.service.scheduler import Cores


def test_strict_jobs_take_whole_free_cores() -> None:
    cores = Cores([0, 1, 2, 3])
    assert cores.pick(2) == [0, 1]
    cores.hold([0, 1], 2)
    assert cores.pick(1) == [2]
    cores.hold([2], 1)
    assert cores.pick(2) is None  # one core left: a 2-core job waits
    assert cores.pick(1) == [3]


def test_shared_jobs_pack_onto_one_core_until_it_is_full() -> None:
    cores = Cores([0, 1])
    picks = []
    for _ in range(4):
        core = cores.pick(0.25)
        assert core is not None
        cores.hold(core, 0.25)
        picks.append(core)
    assert picks == [[0]] * 4  # the fullest shared core first: core 1 stays whole
    assert cores.pick(1) == [1]
    assert cores.pick(0.25) == [1]  # core 0 is full: a free core opens for shared jobs
    cores.hold([1], 0.25)
    assert cores.pick(1) is None  # no whole core left, though 1.25 CPU are unreserved


def test_a_core_held_by_a_strict_job_never_takes_shared_jobs() -> None:
    cores = Cores([0, 1])
    cores.hold([0], 1)
    cores.hold([1], 0.25)
    assert cores.pick(0.25) == [1]
    cores.hold([1], 0.25)
    cores.hold([1], 0.25)
    cores.hold([1], 0.25)
    assert cores.pick(0.25) is None


def test_unknown_cores_pin_nothing() -> None:
    """A node configured bigger than this machine: no pinning, the CPU count limits."""
    assert Cores([]).pick(0.25) == []
    assert Cores([]).pick(4) == []
