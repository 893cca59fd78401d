"""Reads on the request path (issue 20): with a watcher they only read the database; pages
are stable and walk an index; queue positions are one COUNT."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from fixtures.jobs import algorithm_for, job_for
from modelyard.service import Service
from modelyard.service.job_listing import page_statement, search_jobs
from modelyard.service.scheduler import QUEUE_ORDER
from modelyard.service.watcher import Watcher, reconcile
from modelyard.settings import Settings
from modelyard.store.models import JobRow

QUICK = 'print("done", flush=True)\n'


def add_rows(service: Service, count: int, project: str = "p", phase: str = "Completed",
             times: list[float] | None = None, priorities: list[int] | None = None
             ) -> list[str]:
    """Job rows straight into the table (what a list reads), ``times`` cycled for ties."""
    times = times or [1_000.0]
    priorities = priorities or [1]
    rows: list[dict[str, Any]] = []
    for i in range(count):
        at = times[i % len(times)]
        rows.append({
            "id": str(uuid.uuid4()), "project_id": project, "name": f"job-{i}",
            "description": None, "algorithm_id": None, "algorithm_name": None,
            "body": {"kind": "job", "metadata": {"name": f"job-{i}"}, "algorithm": {}},
            "plan": {"flavor_id": "modelarts.vm.cpu.1u"}, "phase": phase,
            "secondary_phase": None, "message": None, "exit_code": None,
            "priority": priorities[i % len(priorities)], "executor": "local",
            "job_dir": "/nonexistent", "events_offset": 0, "created_at": at,
            "updated_at": at, "started_at": None, "ended_at": None, "cpus": 1,
            "memory_gb": 1.0, "gpus": 0, "attempt": 0, "running_records": [],
        })
    with service.db.session() as s:
        s.execute(insert(JobRow), rows)
    return [r["id"] for r in rows]


def test_pages_with_equal_times_are_stable_and_complete(service: Service) -> None:
    ids = add_rows(service, 120, times=[1_000.0, 2_000.0, 3_000.0])
    add_rows(service, 5, project="other")
    listed = [r["metadata"]["id"] for offset in range(0, 150, 50)
              for r in service.jobs.list("p", offset=offset, limit=50)[0]]
    searched = [r["metadata"]["id"] for offset in range(0, 150, 50) for r in
                search_jobs(service, "p", {"offset": offset, "limit": 50})["items"]]
    for pages in (listed, searched):
        assert len(pages) == len(set(pages)) == 120
        assert set(pages) == set(ids)
    assert listed == searched  # the same order: newest first, then id
    by_name = [r["metadata"]["id"] for offset in range(0, 150, 50) for r in search_jobs(
        service, "p", {"offset": offset, "limit": 50, "sort_by": "name", "order": "asc"}
    )["items"]]
    assert sorted(by_name) == sorted(ids) and len(set(by_name)) == 120


@pytest.mark.parametrize("sort_by", ["create_time", "update_time", "name", "phase"])
@pytest.mark.parametrize("desc", [True, False])
def test_every_page_query_walks_an_index_without_sorting(service: Service, sort_by: str,
                                                         desc: bool) -> None:
    """EXPLAIN QUERY PLAN (SQLite): an index of migration 0008 and no temporary B-tree, so
    the database reads the page's rows and stops, however many jobs the project has."""
    add_rows(service, 10)
    statement = page_statement([JobRow.project_id == "p"], sort_by, desc).limit(50)
    sql = str(statement.compile(service.db.engine, compile_kwargs={"literal_binds": True}))
    with service.db.read() as conn:
        plan = " | ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "USING INDEX ix_jobs_project_" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_phase_filtered_page_uses_the_phase_index(service: Service) -> None:
    add_rows(service, 10)
    statement = page_statement([JobRow.project_id == "p", JobRow.phase == "Completed"])
    sql = str(statement.limit(50).compile(service.db.engine,
                                          compile_kwargs={"literal_binds": True}))
    with service.db.read() as conn:
        plan = " | ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    assert "ix_jobs_project_phase_page" in plan and "TEMP B-TREE" not in plan, plan


def test_queue_position_is_the_place_in_queue_order(service: Service) -> None:
    """Priorities and equal creation times mixed: the COUNT agrees with sorting them all."""
    add_rows(service, 30, phase="Pending", times=[5.0, 6.0], priorities=[1, 3, 2])
    with service.db.session() as s:
        queue = list(s.scalars(select(JobRow).where(JobRow.phase == "Pending")
                               .order_by(*QUEUE_ORDER)))
    positions = [service.jobs.scheduler.queue_position(row) for row in queue]
    assert positions == list(range(1, 31))
    finished = add_rows(service, 1)[0]
    with service.db.session() as s:
        done = s.get(JobRow, finished)
    assert done is not None and service.jobs.scheduler.queue_position(done) is None


def test_watched_get_of_another_projects_job_is_not_found(service: Service) -> None:
    from modelyard.service.errors import NotFound

    job_id = add_rows(service, 1, project="other")[0]
    service.jobs.watched = True
    with pytest.raises(NotFound):
        service.jobs.get("p", job_id)
    assert service.jobs.get("other", job_id)["metadata"]["id"] == job_id


@pytest.mark.slow
def test_watched_reads_show_the_table_and_the_watcher_brings_news(
        service: Service, code, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """With a watcher, GET, list and search never walk job folders: a job whose runtime
    has finished still reads Running until a watcher pass folds its state.json in."""
    service.algorithms.create("p", algorithm_for(code("quick", QUICK), "quick", outputs=[]))
    data = job_for("quick", "unused")
    data["algorithm"]["outputs"] = []
    service.jobs.watched = True  # as Watcher.start does, but with no thread passing
    job_id = service.jobs.create("p", data)["metadata"]["id"]
    job_dir = Path(settings.jobs_root / job_id)
    deadline = time.monotonic() + 60
    while (state := service.jobs.executor.poll(job_dir)) is None or not state.phase.is_final:
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    assert state.phase.value == "Completed"
    assert service.jobs.get("p", job_id)["status"]["phase"] == "Running"
    assert service.jobs.list("p")[0][0]["status"]["phase"] == "Running"
    assert search_jobs(service, "p", {})["items"][0]["status"]["phase"] == "Running"
    assert reconcile(service) == 1  # the one running job
    assert service.jobs.get("p", job_id)["status"]["phase"] == "Completed"
    assert reconcile(service) == 0  # finished jobs are not looked at again
    events = [e["message"] for e in service.jobs.events("p", job_id)[0]]
    assert events[-1] == "Job completed"


def test_watcher_marks_reads_watched_while_it_runs(service: Service) -> None:
    watcher = Watcher(service, interval=30)
    assert service.jobs.watched is False
    watcher.start()
    try:
        assert service.jobs.watched is True
    finally:
        watcher.stop()
    assert service.jobs.watched is False


def test_queue_bookkeeping_writes_each_queued_job_once(service: Service) -> None:
    """A full node and 40 queued jobs: the first pass marks each job Queuing with one event;
    a second pass writes nothing (no UPDATE at all), so draining is linear in the queue."""
    from sqlalchemy import event

    from modelyard.service.scheduler import BEHIND
    from modelyard.store.models import EventRow

    add_rows(service, 1, phase="Running", times=[1.0])
    with service.db.session() as s:  # a running job that holds more than any node has
        s.execute(JobRow.__table__.update().where(JobRow.phase == "Running")
                  .values(cpus=10_000))
    queued = add_rows(service, 40, project="p", phase="Pending", times=[10.0, 11.0])
    started: list[str] = []
    service.jobs.scheduler.dispatch(lambda row, cores: started.append(row.id))
    assert started == []
    with service.db.session() as s:
        rows = {r.id: r for r in s.scalars(select(JobRow).where(JobRow.phase == "Pending"))}
        events = list(s.scalars(select(EventRow.job_id)))
    assert sorted(events) == sorted(queued)  # one "queued" event each
    assert {r.secondary_phase for r in rows.values()} == {"Queuing"}
    order = sorted(rows.values(), key=lambda r: (r.created_at, r.id))  # equal priorities
    head = service.jobs.get("p", order[0].id)["status"]
    assert head["queue_position"] == 1 and head["message"].startswith("Job queued: waiting")
    third = order[2]
    assert third.message == BEHIND
    status = service.jobs.get("p", third.id)["status"]
    assert status["queue_position"] == 3
    assert status["message"] == (f"Job queued: position 3, behind job {order[0].name} "
                                 f"({order[0].id[:8]})")
    writes: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT")):
            writes.append(statement)

    event.listen(service.db.engine, "before_cursor_execute", count)
    try:
        service.jobs.scheduler.dispatch(lambda row, cores: started.append(row.id))
    finally:
        event.remove(service.db.engine, "before_cursor_execute", count)
    assert writes == [] and started == []
