"""RayExecutor: the server's side of a job on a Ray cluster.

``submit`` asks Ray for the job's placement group and returns at once. Each ``poll`` (the
watcher's, only for running jobs) moves the job on: while the group waits, the job waits
with a message saying for what; once it is placed, each task is started by the agent of the
node its bundle is on (agent.py: one warm actor per node, created on first use; the bundle
holds the task's resources); from then on a poll is one batched round trip, ``sync`` for
every task at once, whose answers (state, new events, new
log bytes) are written into the server's job folder, so every existing endpoint (state,
events, logs per task) reads them as it reads a local job's. The combined state is
returned: Running while all tasks run, Failed as soon as one fails (the others are
stopped), Completed when all complete. When the job is final, its placement group is
removed (the node agents stay, warm for the next job).

Nothing a restarted server needs is only in memory: names derive from job id + attempt
and ``ray.json`` in the job folder keeps the placement and the copy offsets.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from modelyard.executors.base import Capacity, Executor, Need
from modelyard.executors.ray import placement
from modelyard.executors.ray.agent import NodeAgent
from modelyard.executors.ray.combine import combine
from modelyard.executors.ray.record import (
    NAMESPACE,
    RayRecord,
    read_record,
    write_record,
)
from modelyard.runtime.report import Reason
from modelyard.runtime.state import (
    EVENTS_FILE,
    STOP_FILE,
    JobFolder,
    RuntimeEvent,
    RuntimeState,
    StopRequest,
)
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from modelyard.spec.plan import ClusterPlan, RunPlan
from modelyard.spec.status import EventLevel, EventSource, Phase
from modelyard.storage.nofollow import open_regular

SYNC_TIMEOUT = 10.0
"""Longest a poll waits for the agents' answers; a slower agent is asked again next pass."""
PLACE_NOW = 0.2
"""How long ``submit`` gives Ray to place the group before it returns: on a cluster with
room this starts the agents at once instead of on the watcher's next pass."""
CAPACITY_TTL = 2.0
"""The cluster's totals are asked from Ray at most this often (the scheduler asks twice a
pass)."""
START_TIMEOUT = 60.0
"""Longest a poll waits for the node agents to start a placed job's tasks (a node agent's
first start on a node includes its worker's start-up)."""
AGENT_CONCURRENCY = 8
"""Calls a node agent serves at once (syncs of several jobs, a start, a stop)."""
SYNC_LOCK = ".ray.lock"
NOT_SHARED = frozenset({"db_url", "url", "api_keys", "api_keys_file", "access_key",
                        "secret_key", "installation_key_file", "executor", "ray_address"})
"""Settings an agent never gets: the control plane's own (credentials never leave it)."""


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, settings: Settings, sync_timeout: float = SYNC_TIMEOUT) -> None:
        self.settings = settings
        self.sync_timeout = sync_timeout
        self._connect_lock = threading.Lock()
        self._capacity: tuple[float, Capacity] | None = None
        self._agents: dict[str, Any] = {}

    # ------------------------------------------------------------ connection
    def connect(self) -> None:
        """Joins the cluster as a driver once per process (``ray_address``, else the
        cluster Ray finds itself: RAY_ADDRESS or a head started on this machine)."""
        with self._connect_lock:
            if not ray.is_initialized():
                ray.init(address=self.settings.ray_address or "auto", namespace=NAMESPACE,
                         log_to_driver=False, logging_level=logging.WARNING)

    def agent_settings(self) -> dict[str, Any]:
        fields = self.settings.model_dump(mode="json", exclude=set(NOT_SHARED))
        return {k: v for k, v in fields.items() if v is not None}

    def _node_agent(self, node_id: str) -> Any:
        """The node's agent for these settings, created on first use (pinned to the node,
        asking for no resources; its name carries a digest of the settings, so a server
        with other settings gets its own agent)."""
        agent = self._agents.get(node_id)
        if agent is None:
            settings = self.agent_settings()
            digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
            agent = ray.remote(NodeAgent).options(
                name=f"modelyard-node-{node_id[:16]}-{digest[:12]}", namespace=NAMESPACE,
                lifetime="detached", get_if_exists=True, max_restarts=0, num_cpus=0,
                max_concurrency=AGENT_CONCURRENCY,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
            ).remote(settings)
            self._agents[node_id] = agent
        return agent

    # -------------------------------------------------------- the scheduler
    def capacity(self) -> Capacity:
        now = time.monotonic()
        if self._capacity is None or now - self._capacity[0] > CAPACITY_TTL:
            self.connect()
            total = ray.cluster_resources()  # alive nodes only
            self._capacity = (now, Capacity(float(total.get("CPU", 0)),
                                            float(total.get("memory", 0)) / placement.GB,
                                            int(total.get("GPU", 0))))
        return self._capacity[1]

    def check_fits(self, need: Need) -> None:
        self.connect()
        nodes = placement.alive_nodes()
        why = placement.never_fits(need, nodes)
        if why is None:
            return
        fitting = [n for n in nodes if n.fits(need)]
        if not fitting:  # the flavor itself is bigger than every node
            raise SpecError("spec.resource.flavor_id", need.flavor_id, why)
        raise SpecError("spec.resource.node_count", need.node_count, why)

    # ---------------------------------------------------------------- submit
    def submit(self, plan: RunPlan, job_dir: Path) -> None:
        job_dir = Path(job_dir).resolve()
        folder = JobFolder(job_dir)
        self.connect()
        previous = read_record(job_dir)
        if previous is not None and not previous.cleaned:  # a restart: the old attempt's
            self._cleanup(job_dir, previous)
        folder.write_plan(plan, durable=False)
        (job_dir / STOP_FILE).unlink(missing_ok=True)
        need = _need(plan)
        folder.write_state(RuntimeState(attempt=plan.attempt,
                                        message=placement.waiting_message(need)))
        record = RayRecord.new(plan.job_id, plan.attempt, plan.node_count)
        record.master_port = master_port(plan.job_id)
        write_record(job_dir, record)  # first: a crash after the group exists still finds it
        group = placement.create_group(record.placement_group, need)
        if group.wait(timeout_seconds=PLACE_NOW):  # a free cluster: start the agents now
            self.poll(job_dir)

    # ------------------------------------------------------------------ poll
    def poll(self, job_dir: Path) -> RuntimeState | None:
        job_dir = Path(job_dir).resolve()
        folder = JobFolder(job_dir)
        record = read_record(job_dir)
        state = folder.read_state()
        if record is None or state is None:
            return state
        if state.phase.is_final or state.attempt != record.attempt:
            if state.phase.is_final and not record.cleaned:
                self.connect()
                self._cleanup(job_dir, record)
            return state
        self.connect()
        with _turn(job_dir) as mine:
            if not mine:  # another process (a search driver, a request) is syncing it
                return state
            record = read_record(job_dir) or record  # as the last syncer left it
            if not record.placed:
                return self._place(job_dir, record, state)
            return self._sync(job_dir, record, state)

    def _place(self, job_dir: Path, record: RayRecord, state: RuntimeState) -> RuntimeState:
        """Starts the agents once the placement group is placed; until then the job waits."""
        folder = JobFolder(job_dir)
        group = placement.find_group(record.placement_group)
        if group is None:
            return self._end(job_dir, record, Phase.FAILED, Reason.LOST,
                             "the job's placement group is gone from the Ray cluster")
        if not placement.is_ready(group):
            return state
        plan = folder.read_plan()
        ips = {n.node_id: n.ip for n in placement.alive_nodes()}
        nodes = placement.bundle_nodes(group)
        hosts = [ips.get(node, "") for node in nodes]
        starts = []
        for index, (node, task) in enumerate(zip(nodes, record.tasks, strict=True)):
            # A one-node job needs no peers: it runs as on one machine (no inbound ports).
            cluster = (ClusterPlan(task_index=index, hosts=hosts,
                                   master_port=record.master_port, node_ip=hosts[index] or None)
                       if record.node_count > 1 else None)
            task_plan = plan.model_copy(update={"cluster": cluster})
            starts.append(self._node_agent(node).start.remote(task, task_plan.model_dump_json()))
        ready, _ = ray.wait(starts, num_returns=len(starts), timeout=START_TIMEOUT)
        try:
            ray.get(ready, timeout=0)
            if len(ready) < len(starts):
                raise TimeoutError(f"no answer in {START_TIMEOUT:g} s")
        except Exception as exc:
            return self._end(job_dir, record, Phase.FAILED, Reason.LOST,
                             f"a node agent could not start the job's task: {_line(exc)}")
        record.placed, record.hosts, record.nodes = True, hosts, nodes
        write_record(job_dir, record)
        folder.append_event(RuntimeEvent(
            message=f"Placed on the Ray cluster: {', '.join(hosts)} (placement group "
                    f"{record.placement_group})", source=EventSource.PLATFORM))
        starting = state.model_copy(update={
            "message": f"Starting the runtime on {len(hosts)} node(s): {', '.join(hosts)}"})
        folder.write_state(starting, durable=False)
        return starting

    def _sync(self, job_dir: Path, record: RayRecord, last: RuntimeState) -> RuntimeState:
        """One batched round trip to every agent; their news into the server's folder."""
        folder = JobFolder(job_dir)
        refs: list[Any] = []
        lost: dict[int, str] = {}
        alive = {n.node_id for n in placement.alive_nodes()}
        for index, (node, task) in enumerate(zip(record.nodes, record.tasks, strict=True)):
            if node not in alive:
                lost[index] = "its node is gone from the Ray cluster"
                refs.append(None)
                continue
            cursor = record.cursors[index]
            refs.append(self._node_agent(node).sync.remote(task, index, cursor.events,
                                                           cursor.log))
        pending = [r for r in refs if r is not None]
        ready, _ = (ray.wait(pending, num_returns=len(pending), timeout=self.sync_timeout)
                    if pending else ([], []))
        answered = set(ready)
        states: list[RuntimeState | None] = []
        unknown = False
        for index, ref in enumerate(refs):
            if ref is None:
                states.append(None)
                continue
            if ref not in answered:
                unknown = True
                states.append(None)
                continue
            try:
                answer = ray.get(ref, timeout=0)
            except RayActorError:
                # The agent died or cannot be reached; its node was alive a moment ago. A
                # new agent picks the task up from its folder on the next pass (the
                # runtime does not depend on the agent); a dead node is lost then.
                self._agents.pop(record.nodes[index], None)
                unknown = True
                states.append(None)
                continue
            except GetTimeoutError:
                unknown = True
                states.append(None)
                continue
            self._copy(folder, record, index, answer)
            states.append(RuntimeState.model_validate_json(answer["state"])
                          if answer["state"] else None)
        write_record(job_dir, record)
        if lost:
            index = min(lost)
            host = record.hosts[index] if index < len(record.hosts) else "?"
            return self._end(job_dir, record, Phase.FAILED, Reason.LOST,
                             f"worker-{index} on node {host} was lost: {lost[index]}")
        combined = combine(states, record.attempt)
        if combined.phase.is_final:
            if combined.phase == Phase.FAILED:
                self._stop_agents(record, self.settings.stop_grace_period,
                                  skip={i for i, s in enumerate(states)
                                        if s is not None and s.phase.is_final})
            folder.write_state(combined)
            self._cleanup(job_dir, record)
            return combined
        if unknown:
            return last  # an agent did not answer in time: nothing new to say yet
        if combined.phase == Phase.PENDING:
            combined = combined.model_copy(update={"message": last.message})
        if (combined.phase, combined.message) != (last.phase, last.message):
            folder.write_state(combined, durable=False)
        return combined

    def _copy(self, folder: JobFolder, record: RayRecord, index: int,
              answer: dict[str, Any]) -> None:
        """Appends a task's new events and log bytes to the server's job folder."""
        cursor = record.cursors[index]
        if answer["events"]:
            lines = answer["events"].splitlines()
            if record.node_count > 1:  # whose event it is
                out = []
                for line in lines:
                    event = RuntimeEvent.model_validate_json(line)
                    event.message = f"worker-{index}: {event.message}"
                    out.append(event.model_dump_json().encode())
                lines = out
            _append(folder.root / EVENTS_FILE, b"".join(line + b"\n" for line in lines))
        if answer["log"]:
            folder.log_dir.mkdir(parents=True, exist_ok=True)
            _append(folder.log_file(record.job_id, index), answer["log"])
        cursor.events, cursor.log = answer["events_end"], answer["log_end"]

    # ------------------------------------------------------------------ stop
    def stop(self, job_dir: Path, grace_seconds: float) -> None:
        job_dir = Path(job_dir).resolve()
        folder = JobFolder(job_dir)
        state = folder.read_state()
        record = read_record(job_dir)
        if state is None or record is None or state.phase.is_final:
            return
        folder.write_stop_request(StopRequest(grace_seconds=grace_seconds))
        self.connect()
        if not record.placed:
            self._end(job_dir, record, Phase.TERMINATED, Reason.STOPPED,
                      "stopped before the Ray cluster placed it")
            return
        self._stop_agents(record, grace_seconds)

    def _stop_agents(self, record: RayRecord, grace_seconds: float,
                     skip: set[int] | None = None) -> None:
        refs = []
        alive = {n.node_id for n in placement.alive_nodes()}
        for index, (node, task) in enumerate(zip(record.nodes, record.tasks, strict=True)):
            if index not in (skip or set()) and node in alive:
                refs.append(self._node_agent(node).stop.remote(task, grace_seconds))
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=self.sync_timeout)

    # --------------------------------------------------------------- the end
    def _end(self, job_dir: Path, record: RayRecord, phase: Phase, reason: str,
             message: str) -> RuntimeState:
        """A final state the executor decides (lost, stopped before placement)."""
        folder = JobFolder(job_dir)
        if phase == Phase.FAILED:
            self._stop_agents(record, self.settings.stop_grace_period)
            folder.append_event(RuntimeEvent(message=f"The job is lost: {message}",
                                             level=EventLevel.ERROR,
                                             source=EventSource.PLATFORM))
        state = (folder.read_state() or RuntimeState()).model_copy(update={
            "phase": phase, "reason": reason, "message": message, "ended_at": time.time(),
            "attempt": record.attempt})
        folder.write_state(state)
        self._cleanup(job_dir, record)
        return state

    def _cleanup(self, job_dir: Path, record: RayRecord) -> None:
        """Removes the attempt's placement group (its resources are free again)."""
        placement.remove_group(record.placement_group)
        record.cleaned = True
        write_record(job_dir, record)


@contextmanager
def _turn(job_dir: Path) -> Iterator[bool]:
    """One syncer per job at a time, across processes (two would copy the same bytes
    twice): yields False at once when another holds the job's lock."""
    with (job_dir / SYNC_LOCK).open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def master_port(job_id: str) -> int:
    """The first of the job's 16 ports on its nodes (runtime/cluster.py forwards them): a
    slot of 16 chosen by the job id among 798 between 20000 and 32767 — above Ray's own
    worker ports (10002–19999 by default) and below the usual ephemeral range (32768) — so
    that two jobs on one node rarely collide (the runtime refuses a taken port, naming it)."""
    return 20000 + (zlib.crc32(job_id.encode()) % 798) * 16


def _need(plan: RunPlan) -> Need:
    return Need(plan.flavor_id or "", plan.node_count, plan.cpus or 1, plan.memory_gb or 1.0,
                plan.gpus)


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


def _append(path: Path, data: bytes) -> None:
    fd = open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
