"""The REST API: ModelArts v2 paths and JSON names over the service (FastAPI)."""

from modelyard.api.app import create_app

__all__ = ["create_app"]
