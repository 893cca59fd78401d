"""Flavors this installation offers: data, derived from the node's capacity (engines are
``engines.py``, a catalog).

Flavor ids follow ModelArts (``modelarts.vm.cpu.2u``) so job JSON written for ModelArts
keeps working; a flavor is what the scheduler reserves and what the runtime limits a job to.

``modelarts.vm.cpu.shared`` is ours: a fraction of a core (1/``shared_jobs_per_core``) for
small jobs, which would otherwise hold a whole core each to run a program of milliseconds.
The scheduler packs shared jobs onto cores that only shared jobs use (docs/runtime.md,
"Small jobs share cores").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import NotRequired

from typing_extensions import TypedDict

from modelyard.settings import Settings
from modelyard.spec.errors import SpecError

SHARED_FLAVOR = "modelarts.vm.cpu.shared"


class CpuInfo(TypedDict):
    arch: str
    core_num: int


class MemoryInfo(TypedDict):
    size: float
    unit: str


class GpuInfo(TypedDict):
    unit_num: int
    product_name: str
    memory: str


class FlavorInfo(TypedDict):
    max_num: int
    cpu: CpuInfo
    memory: MemoryInfo
    gpu: NotRequired[GpuInfo]


class Billing(TypedDict):
    code: str
    unit_num: int


class FlavorRecord(TypedDict):
    """A ``/training-job-flavors`` item, in ModelArts' shape."""

    flavor_id: str
    flavor_name: str
    flavor_type: str
    billing: Billing
    flavor_info: FlavorInfo
    attributes: dict[str, str]


@dataclass(frozen=True)
class Flavor:
    flavor_id: str
    cpus: float
    """What the scheduler reserves: whole cores, or a fraction of one for the shared flavor."""
    memory_gb: float
    gpus: int = 0
    gpu_type: str | None = None

    @property
    def shared(self) -> bool:
        return self.cpus < 1

    @property
    def threads(self) -> int:
        """The cores a job may use at once (thread counts, the runtime's pinning): a shared
        job runs on one core it shares with other shared jobs."""
        return max(1, int(self.cpus))

    def record(self) -> FlavorRecord:
        """The ModelArts ``/training-job-flavors`` item shape."""
        info: FlavorInfo = {
            "max_num": 1,
            "cpu": {"arch": os.uname().machine, "core_num": self.threads},
            "memory": {"size": self.memory_gb, "unit": "GB"},
        }
        if self.gpus:
            info["gpu"] = {"unit_num": self.gpus, "product_name": self.gpu_type or "GPU",
                           "memory": ""}
        name = (f"CPU: {self.cpus:g} of a shared vCPU {self.memory_gb:g}GB" if self.shared
                else f"{'GPU' if self.gpus else 'CPU'}: {self.cpus:g} vCPUs "
                     f"{self.memory_gb:g}GB" + (f", {self.gpus} GPU" if self.gpus else ""))
        return {
            "flavor_id": self.flavor_id,
            "flavor_name": name,
            "flavor_type": "GPU" if self.gpus else "CPU",
            "billing": {"code": "local", "unit_num": 1},
            "flavor_info": info,
            "attributes": {"cpu_share": f"{self.cpus:g}"} if self.shared else {},
        }


def node_cpus(settings: Settings) -> int:
    return settings.node_cpus or os.cpu_count() or 1


def node_memory_gb(settings: Settings) -> float:
    if settings.node_memory_gb:
        return settings.node_memory_gb
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        return round(pages * size / 2**30, 1)
    except (ValueError, OSError):
        return 4.0


def flavors(settings: Settings) -> list[Flavor]:
    """CPU flavors of 1, 2, 4... cores up to the node, the shared flavor, and GPU flavors
    when the node has GPUs. The first is the default (one whole core)."""
    cpus, mem = node_cpus(settings), node_memory_gb(settings)
    per_core = max(1.0, min(4.0, mem / cpus))
    out = []
    c = 1
    while c <= cpus:
        out.append(Flavor(f"modelarts.vm.cpu.{c}u", c, round(min(mem, c * per_core), 1)))
        c *= 2
    if cpus not in {f.cpus for f in out}:
        out.append(Flavor(f"modelarts.vm.cpu.{cpus}u", cpus, round(mem, 1)))
    share = settings.shared_jobs_per_core
    if share > 1:
        out.append(Flavor(SHARED_FLAVOR, 1 / share, round(per_core / share, 2)))
    for g in range(1, settings.node_gpus + 1):
        if g & (g - 1) == 0:  # 1, 2, 4, 8 GPUs
            gcpu = max(1, cpus * g // settings.node_gpus)
            out.append(Flavor(f"modelarts.vm.gpu.{g}x", gcpu,
                              round(mem * g / settings.node_gpus, 1), g, settings.gpu_type))
    return out


def default_flavor(settings: Settings) -> Flavor:
    return flavors(settings)[0]


def flavor(settings: Settings, flavor_id: str | None) -> Flavor:
    """The flavor a job asked for (the smallest one when it asked for none)."""
    if not flavor_id:
        return default_flavor(settings)
    for f in flavors(settings):
        if f.flavor_id == flavor_id:
            return f
    known = ", ".join(f.flavor_id for f in flavors(settings))
    raise SpecError("spec.resource.flavor_id", flavor_id,
                    f"no such flavor on this installation (available: {known})")
