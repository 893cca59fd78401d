"""Datasets over HTTP (issue 18): one method per ``/v2/{project_id}/datasets`` endpoint.

``DatasetClient(ModelYardClient(...))`` is the SDK; the CLI uses the same methods, over the
server or (``EmbeddedDatasets`` in the CLI) over the service in its own process.
"""

from __future__ import annotations

import builtins
from typing import Any

from modelyard.client.http import ModelYardClient, _seg


class DatasetClient:
    def __init__(self, client: ModelYardClient | None = None) -> None:
        self.client = client or ModelYardClient()

    def _path(self, rest: str = "") -> str:
        return self.client._path(f"/datasets{rest}")

    def _call(self, method: str, rest: str = "", body: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.client.request(method, self._path(rest), json=body,
                                                     params=params)
        return result

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Creates a dataset (ModelArts body) and imports its data source."""
        return self._call("POST", "", body)

    def list(self) -> builtins.list[dict[str, Any]]:
        return builtins.list(self._call("GET")["datasets"])

    def get(self, dataset: str) -> dict[str, Any]:
        return self._call("GET", f"/{_seg(dataset)}")

    def delete(self, dataset: str) -> dict[str, Any]:
        return self._call("DELETE", f"/{_seg(dataset)}")

    def import_(self, dataset: str, import_path: str, import_annotations: bool = True
                ) -> dict[str, Any]:
        return self._call("POST", f"/{_seg(dataset)}/import-tasks",
                          {"import_path": import_path,
                           "import_annotations": import_annotations})

    def samples(self, dataset: str, offset: int = 0, limit: int = 100,
                label: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if label is not None:
            params["label_name"] = label
        return self._call("GET", f"/{_seg(dataset)}/data-annotations/samples", params=params)

    def labels(self, dataset: str) -> dict[str, Any]:
        return self._call("GET", f"/{_seg(dataset)}/data-annotations/labels")

    def stats(self, dataset: str) -> dict[str, Any]:
        return self._call("GET", f"/{_seg(dataset)}/data-annotations/stats")

    def create_version(self, dataset: str, body: dict[str, Any]) -> dict[str, Any]:
        """Publishes a version (``version_name``, ``train_evaluate_sample_ratio``...)."""
        return self._call("POST", f"/{_seg(dataset)}/versions", body)

    def versions(self, dataset: str) -> builtins.list[dict[str, Any]]:
        return builtins.list(self._call("GET", f"/{_seg(dataset)}/versions")["versions"])

    def version(self, dataset: str, version: str) -> dict[str, Any]:
        return self._call("GET", f"/{_seg(dataset)}/versions/{_seg(version)}")
