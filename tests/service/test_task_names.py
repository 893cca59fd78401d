"""A job of n nodes has tasks worker-0 … worker-<n-1> (its task logs' names), in its
status and through the task-log endpoints' check."""

from __future__ import annotations

from modelyard.service.records import task_names


def test_one_name_per_node() -> None:
    assert task_names({"spec": {"resource": {"node_count": 3}}}) == [
        "worker-0", "worker-1", "worker-2"]


def test_a_job_without_node_count_has_one_task() -> None:
    assert task_names({}) == ["worker-0"]
    assert task_names({"spec": {"resource": {"flavor_id": "x"}}}) == ["worker-0"]
    assert task_names({"spec": {"resource": {"node_count": "two"}}}) == ["worker-0"]
