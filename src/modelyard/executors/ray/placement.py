"""A job's resources as a Ray placement group, and what the cluster's nodes offer.

One bundle per task, the flavor's CPUs, memory and GPUs; ``STRICT_SPREAD`` for a
multi-node job (each task on its own node, all or nothing: gang scheduling), ``PACK`` for
one task. Ray keeps an unplaceable group pending, so the job waits instead of starting part
of its nodes.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import ray
from ray.util.placement_group import PlacementGroup

from modelyard.executors.base import Need

GB = 2**30


@dataclass(frozen=True)
class NodeInfo:
    node_id: str
    ip: str
    cpus: float
    memory_gb: float
    gpus: float

    def fits(self, need: Need) -> bool:
        return (self.cpus + 1e-9 >= need.cpus and self.memory_gb + 1e-6 >= need.memory_gb
                and self.gpus + 1e-9 >= need.gpus)


def bundle(need: Need) -> dict[str, float]:
    one: dict[str, float] = {"CPU": float(need.cpus), "memory": float(int(need.memory_gb * GB))}
    if need.gpus:
        one["GPU"] = float(need.gpus)
    return one


def create_group(name: str, need: Need) -> PlacementGroup:
    """Asks Ray for the group and returns at once (detached: it outlives this server)."""
    return ray.util.placement_group(
        [bundle(need) for _ in range(need.node_count)],
        strategy="STRICT_SPREAD" if need.node_count > 1 else "PACK",
        name=name, lifetime="detached")


def find_group(name: str) -> PlacementGroup | None:
    try:
        return ray.util.get_placement_group(name)
    except ValueError:
        return None


def remove_group(name: str) -> None:
    group = find_group(name)
    if group is not None:
        with contextlib.suppress(Exception):  # already being removed
            ray.util.remove_placement_group(group)


def is_ready(group: PlacementGroup) -> bool:
    return bool(group.wait(timeout_seconds=0))


def bundle_nodes(group: PlacementGroup) -> list[str]:
    """The node id of each bundle, in bundle (= task) order."""
    table: dict[str, Any] = ray.util.placement_group_table(group)
    placed = table.get("bundles_to_node_id") or {}
    return [str(placed[i]) for i in sorted(placed)]


def alive_nodes() -> list[NodeInfo]:
    nodes = []
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        res = node.get("Resources") or {}
        nodes.append(NodeInfo(node["NodeID"], node["NodeManagerAddress"],
                              float(res.get("CPU", 0)), float(res.get("memory", 0)) / GB,
                              float(res.get("GPU", 0))))
    return nodes


def waiting_message(need: Need) -> str:
    nodes = f"{need.node_count} node{'s' if need.node_count > 1 else ''}"
    gpus = f", {need.gpus} GPU" if need.gpus else ""
    return (f"Job queued: waiting for {nodes} with {need.cpus:g} CPU, {need.memory_gb:g} GB"
            f"{gpus} each on the Ray cluster")


def never_fits(need: Need, nodes: list[NodeInfo]) -> str | None:
    """Why the cluster could never place the job (None when it could, once free)."""
    fitting = [n for n in nodes if n.fits(need)]
    if len(fitting) >= need.node_count:
        return None
    sizes = ", ".join(sorted({f"{n.cpus:g} CPU/{n.memory_gb:g} GB/{n.gpus:g} GPU"
                              for n in nodes})) or "none"
    return (f"needs {need.node_count} node(s) with {need.cpus:g} CPU, {need.memory_gb:g} GB, "
            f"{need.gpus} GPU each (flavor {need.flavor_id}) but only {len(fitting)} of the "
            f"Ray cluster's {len(nodes)} alive nodes are that big (nodes: {sizes})")

