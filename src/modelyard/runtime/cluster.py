"""One task of a multi-node job (issue 17): which task it is, its peers' names and
addresses, the checks its plan must pass, and the sandbox's ``/etc/hosts`` naming them.

The executor that placed the job gives each task's runtime its own copy of the plan with
``plan.cluster`` filled in; the runtime does not talk to its peers. Everything here is
computed from the plan alone, so a bad plan fails at staging with a message naming the
field, before anything was started.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from modelyard.runtime.argv import TaskInfo, worker_name
from modelyard.runtime.report import StagingError
from modelyard.spec.plan import RunPlan

PORT_SPAN = 16
"""Inbound TCP ports forwarded into a task's network: ``MASTER_PORT`` and the next 15 (the
rendezvous port, plus room for a few fixed ports of the job's own choosing)."""
HOSTS_FILE = "cluster-hosts"
"""In the job folder's private ``sandbox`` folder, bound read-only over ``/etc/hosts`` (an
image's own generated ``hosts`` file lies beside it)."""


@dataclass(frozen=True)
class ClusterTask:
    """A checked ``plan.cluster``: task ``index`` of ``len(hosts)``."""

    job_id: str
    index: int
    hosts: tuple[str, ...]
    """The IPv4 address of each task's node, in task order."""
    master_port: int

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(worker_name(self.job_id, i) for i in range(len(self.hosts)))

    @property
    def name(self) -> str:
        """This task's worker name: its hostname in the sandbox."""
        return worker_name(self.job_id, self.index)

    @property
    def node_ip(self) -> str:
        return self.hosts[self.index]

    @property
    def last_port(self) -> int:
        return self.master_port + PORT_SPAN - 1

    def task_info(self, num_gpus: int) -> TaskInfo:
        return TaskInfo(index=self.index, hosts=self.hosts, names=self.names,
                        current_ip=self.node_ip, num_gpus=num_gpus,
                        master_port=self.master_port)


def cluster_task(plan: RunPlan) -> ClusterTask | None:
    """``plan.cluster`` checked against ``node_count``; None for a single-node plan."""
    c = plan.cluster
    if c is None:
        return None
    n = plan.node_count
    if len(c.hosts) != n:
        raise StagingError(f"cluster.hosts lists {len(c.hosts)} address(es) for node_count={n}:"
                           " the plan needs one node address per task")
    if not 0 <= c.task_index < n:
        raise StagingError(f"cluster.task_index={c.task_index} is outside 0..{n - 1} "
                           f"(node_count={n})")
    for i, host in enumerate(c.hosts):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise StagingError(f"cluster.hosts[{i}]={host!r} is not an IPv4 address (the "
                               "job's network is IPv4 only)") from None
    if c.node_ip is not None and c.node_ip != c.hosts[c.task_index]:
        raise StagingError(f"cluster.node_ip={c.node_ip!r} is not cluster.hosts[{c.task_index}]"
                           f"={c.hosts[c.task_index]!r}: a task runs on its own node")
    if not 1024 <= c.master_port <= 65536 - PORT_SPAN:
        raise StagingError(f"cluster.master_port={c.master_port} must lie in "
                           f"1024..{65536 - PORT_SPAN} (the job gets it and the next "
                           f"{PORT_SPAN - 1} ports)")
    return ClusterTask(plan.job_id or "local", c.task_index, tuple(c.hosts), c.master_port)


def hosts_text(task: ClusterTask) -> str:
    """``/etc/hosts`` of a task's sandbox: localhost, then every worker's name at its node's
    address (its own included, so that its name resolves to the address peers use)."""
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    lines += [f"{ip}\t{name}" for ip, name in zip(task.hosts, task.names, strict=True)]
    return "\n".join(lines) + "\n"


def write_hosts(folder: Path, task: ClusterTask) -> Path:
    """Written into the runtime's private folder (never a path the job can reach), like
    ``identity.passwd_files``; the sandbox binds it read-only over ``/etc/hosts``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / HOSTS_FILE
    path.write_text(hosts_text(task))
    return path
