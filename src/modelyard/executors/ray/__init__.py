"""The Ray executor (issue 17): jobs run on the nodes of a Ray cluster, one task per node.

``RayExecutor`` (executor.py) places a job as a placement group and starts one agent per
task (agent.py); the agents run the runtime on their node with the local executor and
answer ``sync`` with what changed; ``RayExecutor.poll`` copies that into the server's job
folder. Ray is imported only by these modules (an optional extra of the package).
"""

from modelyard.executors.ray.executor import RayExecutor

__all__ = ["RayExecutor"]
