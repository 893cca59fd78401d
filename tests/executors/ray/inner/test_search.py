"""Automatic-search trials run in parallel across the cluster: with a flavor that takes a
whole node, two parallel trials can only run at the same time on two different nodes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fixtures.jobs import algorithm_for
from modelyard.executors.ray.record import read_record
from modelyard.service import Service
from modelyard.settings import Settings
from service.search import test_search_driver as toykit

from .clusterkit import HEAD_IP, NODE2_IP

pytestmark = pytest.mark.slow


def test_parallel_trials_run_on_both_nodes(service: Service, settings: Settings,
                                           code: Callable[[str, str], str]) -> None:
    service.algorithms.create("p", algorithm_for(code("toy", toykit.TRAIN), "toy",
                                                 parameters=toykit.PARAMS))
    job = toykit.search_job("obs://out/rs/", toykit.policy(samples=2, parallel_trials=2),
                            parameters=[{"name": "pause", "value": "1.5"}])
    job["spec"] = {"resource": {"flavor_id": "modelarts.vm.cpu.2u"}}
    sid, rec = toykit.run_search(service, job, timeout=240)
    assert rec["status"]["phase"] == "Completed", rec["status"]
    found = toykit.trials(service, sid)
    assert [t["status"] for t in found] == ["completed", "completed"], found
    hosts = []
    for trial in found:
        record = read_record(settings.jobs_root / trial["job_id"])
        assert record is not None
        hosts += record.hosts
    assert sorted(hosts) == [HEAD_IP, NODE2_IP]
    spans = sorted((t["start_time"], t["end_time"]) for t in found)
    assert spans[1][0] < spans[0][1], "the two trials ran at the same time"
