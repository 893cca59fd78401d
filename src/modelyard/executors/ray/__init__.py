"""The Ray executor (issue 17): jobs run on the nodes of a Ray cluster, one task per node.

``RayExecutor`` (executor.py) places a job as a placement group and starts each task on
its node's agent (agent.py: one warm actor per node); the agent runs the runtime with the
local executor and answers ``sync`` with what changed; ``RayExecutor.poll`` copies that
into the server's job folder. Ray is imported only by these modules (an optional extra
of the package).
"""

from modelyard.executors.ray.executor import RayExecutor

__all__ = ["RayExecutor"]
