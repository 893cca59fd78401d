"""``/v2/{project_id}/datasets``: ModelArts v2 data management (issue 18).

Paths and field names are ModelArts': datasets, ``import-tasks``,
``data-annotations/samples|labels|stats`` and ``versions``. Imports run inside the request
(the dataset shows ``status`` 8 meanwhile, 1 when done); ModelArts clients that poll the
import task find it ``COMPLETED``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from modelyard.api.dependencies import BodyDep, ProjectDep, ServiceDep, documented_body
from modelyard.api.schemas import Open, errors
from modelyard.service.datasets.records import (
    DatasetRecord,
    DatasetStatsRecord,
    ImportTaskRecord,
    LabelListRecord,
    SamplePageRecord,
    VersionRecord,
)
from modelyard.spec.datasets import DatasetCreate, ImportCreate, VersionCreate

router = APIRouter(prefix="/v2/{project_id}", tags=["datasets"])


class DatasetOut(Open):
    dataset_id: str
    dataset_name: str
    dataset_type: int
    status: int = Field(description="0 creating, 1 normal, 2 deleting, 3 deleted, "
                                    "4 abnormal, 8 importing")
    data_sources: list[dict[str, Any]]
    work_path: str
    total_sample_count: int
    annotated_sample_count: int


class DatasetList(Open):
    total_number: int
    datasets: list[DatasetOut]


class ImportTaskOut(Open):
    task_id: str
    status: str
    import_path: str
    total_sample_count: int
    imported_sample_count: int
    annotated_sample_count: int
    not_sample_count: int
    unreadable_count: int
    broken_annotation_count: int
    problems: list[dict[str, str]] = Field(description="The first files not imported, and why")


class ImportTaskList(Open):
    total_count: int
    import_tasks: list[ImportTaskOut]


class VersionOut(Open):
    version_id: str
    version_name: str
    version_format: str
    status: int = Field(description="0 creating, 1 normal, 2 deleting, 3 deleted, 4 abnormal")
    manifest_path: str
    total_sample_count: int
    annotated_sample_count: int
    train_evaluate_sample_ratio: str
    label_type: str = Field(description="single, multi or unlabeled")
    label_stats: list[dict[str, Any]]


class VersionList(Open):
    total_number: int
    versions: list[VersionOut]


class SampleList(Open):
    sample_count: int
    samples: list[dict[str, Any]]


class LabelList(Open):
    labels: list[dict[str, Any]]


class DatasetStats(Open):
    label_list: list[dict[str, Any]]
    sample_stats: dict[str, int]


@router.post("/datasets", status_code=201, response_model=DatasetOut, responses=errors(409),
             openapi_extra=documented_body(DatasetCreate, "A dataset (ModelArts v2 shape)"),
             summary="Create a dataset and import its data source")
def create_dataset(project: ProjectDep, service: ServiceDep, body: BodyDep) -> DatasetRecord:
    return service.datasets.create(project, body)


@router.get("/datasets", response_model=DatasetList, responses=errors(),
            summary="List datasets")
def list_datasets(project: ProjectDep, service: ServiceDep) -> dict[str, Any]:
    items = service.datasets.list(project)
    return {"total_number": len(items), "datasets": items}


@router.get("/datasets/{dataset_id}", response_model=DatasetOut, responses=errors(404),
            summary="Show a dataset (by id or name): status and sample counts")
def show_dataset(project: ProjectDep, service: ServiceDep, dataset_id: str) -> DatasetRecord:
    return service.datasets.get(project, dataset_id)


@router.delete("/datasets/{dataset_id}", response_model=DatasetOut, responses=errors(404),
               summary="Delete a dataset's records (its files in storage stay)")
def delete_dataset(project: ProjectDep, service: ServiceDep, dataset_id: str) -> DatasetRecord:
    return service.datasets.delete(project, dataset_id)


@router.post("/datasets/{dataset_id}/import-tasks", status_code=201,
             response_model=ImportTaskOut, responses=errors(404),
             openapi_extra=documented_body(ImportCreate, "Where to import samples from"),
             summary="Import samples from object storage (folder per label, a manifest, "
                     "PASCAL VOC)")
def create_import(project: ProjectDep, service: ServiceDep, dataset_id: str, body: BodyDep
                  ) -> ImportTaskRecord:
    return service.datasets.import_(project, dataset_id, body)


@router.get("/datasets/{dataset_id}/import-tasks", response_model=ImportTaskList,
            responses=errors(404), summary="List a dataset's imports, newest first")
def list_imports(project: ProjectDep, service: ServiceDep, dataset_id: str) -> dict[str, Any]:
    tasks = service.datasets.import_tasks(project, dataset_id)
    return {"total_count": len(tasks), "import_tasks": tasks}


@router.get("/datasets/{dataset_id}/import-tasks/{task_id}", response_model=ImportTaskOut,
            responses=errors(404), summary="Show one import and the files it could not use")
def show_import(project: ProjectDep, service: ServiceDep, dataset_id: str, task_id: str
                ) -> ImportTaskRecord:
    return service.datasets.import_task(project, dataset_id, task_id)


@router.get("/datasets/{dataset_id}/data-annotations/samples", response_model=SampleList,
            responses=errors(404), summary="List samples with their labels")
def list_samples(
    project: ProjectDep, service: ServiceDep, dataset_id: str,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    label_name: Annotated[str | None, Query(max_length=256)] = None,
) -> SamplePageRecord:
    return service.datasets.samples(project, dataset_id, offset, limit, label_name)


@router.get("/datasets/{dataset_id}/data-annotations/labels", response_model=LabelList,
            responses=errors(404), summary="List the labels in use")
def list_labels(project: ProjectDep, service: ServiceDep, dataset_id: str) -> LabelListRecord:
    return service.datasets.labels(project, dataset_id)


@router.get("/datasets/{dataset_id}/data-annotations/stats", response_model=DatasetStats,
            responses=errors(404), summary="Samples per label, annotated and not")
def show_stats(project: ProjectDep, service: ServiceDep, dataset_id: str) -> DatasetStatsRecord:
    return service.datasets.stats(project, dataset_id)


@router.post("/datasets/{dataset_id}/versions", status_code=201, response_model=VersionOut,
             responses=errors(404, 409),
             openapi_extra=documented_body(VersionCreate, "A version to publish"),
             summary="Publish a version: a manifest in the work path, split train/eval")
def create_version(project: ProjectDep, service: ServiceDep, dataset_id: str, body: BodyDep
                   ) -> VersionRecord:
    return service.datasets.create_version(project, dataset_id, body)


@router.get("/datasets/{dataset_id}/versions", response_model=VersionList,
            responses=errors(404), summary="List a dataset's versions, newest first")
def list_versions(project: ProjectDep, service: ServiceDep, dataset_id: str) -> dict[str, Any]:
    items = service.datasets.versions(project, dataset_id)
    return {"total_number": len(items), "versions": items}


@router.get("/datasets/{dataset_id}/versions/{version_id}", response_model=VersionOut,
            responses=errors(404), summary="Show a version (by id or name)")
def show_version(project: ProjectDep, service: ServiceDep, dataset_id: str, version_id: str
                 ) -> VersionRecord:
    return service.datasets.version(project, dataset_id, version_id)


@router.delete("/datasets/{dataset_id}/versions/{version_id}", response_model=VersionOut,
               responses=errors(404), summary="Delete a version's record (its manifest stays)")
def delete_version(project: ProjectDep, service: ServiceDep, dataset_id: str,
                   version_id: str) -> VersionRecord:
    return service.datasets.delete_version(project, dataset_id, version_id)
