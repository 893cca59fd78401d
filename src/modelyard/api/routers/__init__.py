"""Router registry: each module here exposes ``router`` (a FastAPI APIRouter).

To add an area (search, file systems, console...), add one module and one line below; the
app factory mounts them in this order.
"""

ROUTERS: list[str] = [
    "modelyard.api.routers.meta",
    "modelyard.api.routers.algorithms",
    "modelyard.api.routers.jobs",
    "modelyard.api.routers.filesystems",
    "modelyard.api.routers.datasets",
    "modelyard.api.routers.search",
    "modelyard.api.routers.storage",
    "modelyard.api.routers.gallery",
    "modelyard.api.routers.console",
    "modelyard.api.routers.identity",
    "modelyard.api.routers.yaml_text",
]
