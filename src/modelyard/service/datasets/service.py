"""The dataset service: records in the ModelArts v2 data-management shape.

Imports run inside the call that starts them (the dataset is ``status`` 8, importing,
meanwhile, and 1, normal, when done): simple, and a client polling ``status`` as it would
on ModelArts sees the same codes. Samples stay where they are in object storage; a version
is a manifest written to the work path.
"""

from __future__ import annotations

import builtins
import time
import uuid
from typing import Any, cast

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from modelyard.service.datasets.importer import ImportOutcome, run_import
from modelyard.service.datasets.records import (
    DatasetRecord,
    DatasetStatsRecord,
    ImportTaskRecord,
    LabelListRecord,
    SamplePageRecord,
    VersionRecord,
)
from modelyard.service.datasets.versions import (
    manifest_lines,
    manifest_url,
    version_stats,
    write_manifest,
)
from modelyard.service.errors import Conflict, NotFound
from modelyard.settings import Settings
from modelyard.spec.channels import DatasetRemote
from modelyard.spec.dataset_constraints import VersionFacts
from modelyard.spec.dataset_types import SPLITTABLE, DatasetStatus, DatasetType, VersionStatus
from modelyard.spec.datasets import DatasetCreate, ImportCreate, VersionCreate
from modelyard.spec.errors import SpecError, from_pydantic
from modelyard.spec.manifest import manifest_name
from modelyard.spec.resolve import DatasetResolver
from modelyard.storage import StorageError, TransferEngine
from modelyard.store.dataset_models import DatasetRow, SampleRow, VersionRow
from modelyard.store.db import Database

MAX_IMPORT_TASKS_KEPT = 20
SAMPLE_TYPES = {0: 0, 1: 0, 3: 0, 100: 1, 101: 1, 102: 1, 200: 2, 201: 2, 202: 2,
                400: 4, 600: 6, 900: 9}
"""ModelArts ``sample_type``: 0 image, 1 text, 2 speech, 4 table, 6 video, 9 custom."""


def _parse(model: type[BaseModel], body: dict[str, Any]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise from_pydantic(exc) from None


def _ms(t: float) -> int:
    return int(t * 1000)


class DatasetService:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    def _engine(self) -> TransferEngine:
        return TransferEngine(self.settings)

    # ---------------------------------------------------------------- datasets
    def create(self, project: str, body: dict[str, Any]) -> DatasetRecord:
        """Creates the dataset and, unless ``import_data`` is false, imports its data
        source. A data source that cannot be read refuses the dataset (nothing stored)."""
        req: DatasetCreate = _parse(DatasetCreate, body)
        req.check_paths()
        now = time.time()
        row = DatasetRow(id=uuid.uuid4().hex[:20], project_id=project, name=req.dataset_name,
                         dataset_type=int(req.dataset_type), data_path=req.data_path,
                         work_path=req.work_path, description=req.description,
                         status=int(DatasetStatus.IMPORTING if req.import_data
                                    else DatasetStatus.NORMAL),
                         import_result={"tasks": []}, created_at=now, updated_at=now)
        self._check_name_free(project, req.dataset_name)
        outcome = None
        if req.import_data:  # read first: a refused dataset leaves no record behind
            outcome = self._scan(req.dataset_type, req.data_path, req.import_annotations,
                                 "data_sources[0].data_path")
        self._check_name_free(project, req.dataset_name)
        with self.db.session() as s:
            s.add(row)
            try:
                s.flush()
            except IntegrityError:
                raise Conflict(f"dataset {req.dataset_name!r} already exists in project "
                               f"{project}") from None
        if outcome is not None:
            self._store_import(row.id, req.data_path, outcome)
        return self.get(project, row.id)

    def _check_name_free(self, project: str, name: str) -> None:
        with self.db.session() as s:
            if s.scalar(select(DatasetRow.id).where(DatasetRow.project_id == project,
                                                    DatasetRow.name == name)):
                raise Conflict(f"dataset {name!r} already exists in project {project}")

    def _scan(self, kind: DatasetType, path: str, with_annotations: bool, field: str
              ) -> ImportOutcome:
        try:
            with self._engine() as engine:
                return run_import(engine, kind, path, with_annotations)
        except StorageError as exc:
            raise SpecError(field, path, f"cannot be read: {exc}") from None

    def _store_import(self, dataset_id: str, path: str, outcome: ImportOutcome
                      ) -> ImportTaskRecord:
        """Adds the new samples (a source already in the dataset keeps its record, its
        annotations replaced when the import brings some) and records the task."""
        now = time.time()
        with self.db.session() as s:
            row = s.get(DatasetRow, dataset_id)
            if row is None:
                raise NotFound("dataset", dataset_id)
            existing = {r.source: r for r in s.scalars(
                select(SampleRow).where(SampleRow.dataset_id == dataset_id))}
            added = annotated = 0
            for sample in outcome.samples:
                old = existing.get(sample.source)
                if old is None:
                    s.add(SampleRow(id=uuid.uuid4().hex, dataset_id=dataset_id,
                                    source=sample.source, annotations=sample.annotations,
                                    labels=sample.labels, created_at=now))
                    existing[sample.source] = SampleRow(source=sample.source)
                    added += 1
                elif sample.annotations:
                    old.annotations, old.labels = sample.annotations, sample.labels
                annotated += bool(sample.annotations)
            task: ImportTaskRecord = {"task_id": uuid.uuid4().hex[:20], "status": "COMPLETED",
                    "import_path": path, "create_time": _ms(now),
                    "finished_time": _ms(time.time()),
                    "total_sample_count": len(outcome.samples),
                    "imported_sample_count": added, "annotated_sample_count": annotated,
                    **outcome.report()}
            tasks = [task, *(row.import_result or {}).get("tasks", [])]
            row.import_result = {"tasks": tasks[:MAX_IMPORT_TASKS_KEPT]}
            row.status = int(DatasetStatus.NORMAL)
            row.updated_at = now
        return task

    def import_(self, project: str, dataset_id: str, body: dict[str, Any]
                ) -> ImportTaskRecord:
        """``import-tasks``: imports more samples from ``import_path``."""
        req: ImportCreate = _parse(ImportCreate, body)
        row = self._row(project, dataset_id)
        with self.db.session() as s:
            live = s.get(DatasetRow, row.id)
            assert live is not None
            live.status = int(DatasetStatus.IMPORTING)
        try:
            outcome = self._scan(DatasetType(row.dataset_type), req.import_path,
                                 req.import_annotations, "import_path")
        except BaseException:
            with self.db.session() as s:
                live = s.get(DatasetRow, row.id)
                if live is not None:
                    live.status = int(DatasetStatus.NORMAL)
            raise
        return self._store_import(row.id, req.import_path, outcome)

    def import_tasks(self, project: str, dataset_id: str) -> list[ImportTaskRecord]:
        return _stored_tasks(self._row(project, dataset_id))

    def import_task(self, project: str, dataset_id: str, task_id: str) -> ImportTaskRecord:
        for task in self.import_tasks(project, dataset_id):
            if task["task_id"] == task_id:
                return task
        raise NotFound("import task", task_id)

    def _row(self, project: str, dataset_id: str) -> DatasetRow:
        with self.db.session() as s:
            row = s.get(DatasetRow, dataset_id)
            if row is None or row.project_id != project:
                # Another project's dataset is as absent as a missing one.
                row = s.scalar(select(DatasetRow).where(DatasetRow.project_id == project,
                                                        DatasetRow.name == dataset_id))
            if row is None:
                raise NotFound("dataset", dataset_id)
            return row

    def get(self, project: str, dataset_id: str) -> DatasetRecord:
        row = self._row(project, dataset_id)
        samples = self._samples(row.id)
        total = len(samples)
        annotated = sum(1 for sample in samples if sample.annotations)
        labels = sorted({name for sample in samples for name in sample.labels})
        with self.db.session() as s:
            latest = s.scalars(select(VersionRow).where(VersionRow.dataset_id == row.id)
                               .order_by(VersionRow.created_at.desc()).limit(1)).first()
            version_count = s.scalar(select(func.count()).select_from(VersionRow)
                                     .where(VersionRow.dataset_id == row.id)) or 0
        tasks = _stored_tasks(row)
        return {
            "dataset_id": row.id, "dataset_name": row.name, "dataset_type": row.dataset_type,
            "data_format": "Default", "status": row.status,
            "data_sources": [{"data_type": 0, "data_path": row.data_path}],
            "work_path": row.work_path, "work_path_type": 0,
            "description": row.description or "",
            "total_sample_count": total, "annotated_sample_count": annotated,
            "unconfirmed_sample_count": 0,
            "labels": [{"name": name, "type": row.dataset_type, "property": {}}
                       for name in labels],
            "version_count": version_count,
            "current_version_id": latest.id if latest else None,
            "current_version_name": latest.name if latest else None,
            "last_import": tasks[0] if tasks else None,
            "create_time": _ms(row.created_at), "update_time": _ms(row.updated_at),
        }

    def list(self, project: str) -> builtins.list[DatasetRecord]:
        with self.db.session() as s:
            query = (select(DatasetRow.id).where(DatasetRow.project_id == project)
                     .order_by(DatasetRow.created_at.desc()))
            ids = builtins.list(s.scalars(query))
        return [self.get(project, i) for i in ids]

    def delete(self, project: str, dataset_id: str) -> DatasetRecord:
        """Removes the records; files in storage (data and published manifests) stay, as on
        ModelArts, so jobs already staging a version are not cut off."""
        record = self.get(project, dataset_id)
        with self.db.session() as s:
            s.execute(delete(VersionRow).where(VersionRow.dataset_id == record["dataset_id"]))
            s.execute(delete(SampleRow).where(SampleRow.dataset_id == record["dataset_id"]))
            s.execute(delete(DatasetRow).where(DatasetRow.id == record["dataset_id"]))
        return record

    # ------------------------------------------------------------ samples, labels
    def _samples(self, dataset_id: str) -> builtins.list[SampleRow]:
        with self.db.session() as s:
            query = (select(SampleRow).where(SampleRow.dataset_id == dataset_id)
                     .order_by(SampleRow.source))
            return builtins.list(s.scalars(query))

    def _label_names(self, dataset_id: str) -> builtins.list[str]:
        names: set[str] = set()
        for sample in self._samples(dataset_id):
            names.update(sample.labels)
        return sorted(names)

    def samples(self, project: str, dataset_id: str, offset: int = 0, limit: int = 100,
                label: str | None = None) -> SamplePageRecord:
        row = self._row(project, dataset_id)
        chosen = [s for s in self._samples(row.id) if label is None or label in s.labels]
        page = chosen[offset:offset + limit]
        return {"sample_count": len(chosen), "samples": [
            {"sample_id": s.id, "sample_type": SAMPLE_TYPES[row.dataset_type],
             "source": s.source,
             "sample_status": "MANUAL_ANNOTATION" if s.annotations else "UN_ANNOTATION",
             "labels": [{"name": n, "type": row.dataset_type, "property": {}}
                        for n in s.labels],
             "annotation": s.annotations}
            for s in page]}

    def labels(self, project: str, dataset_id: str) -> LabelListRecord:
        row = self._row(project, dataset_id)
        return {"labels": [{"name": n, "type": row.dataset_type, "property": {}}
                           for n in self._label_names(row.id)]}

    def stats(self, project: str, dataset_id: str) -> DatasetStatsRecord:
        """``data-annotations/stats``: samples per label, and annotated/unannotated."""
        row = self._row(project, dataset_id)
        samples = self._samples(row.id)
        stats = version_stats([], samples, DatasetType(row.dataset_type))
        annotated = stats["annotated_sample_count"]
        return {"label_list": stats["label_stats"], "sample_stats": {
            "all": len(samples), "total": len(samples), "manual_annotation": annotated,
            "un_annotation": len(samples) - annotated}}

    # ---------------------------------------------------------------- versions
    def create_version(self, project: str, dataset_id: str, body: dict[str, Any]
                       ) -> VersionRecord:
        """Publishes the dataset's samples as a manifest in the work path."""
        req: VersionCreate = _parse(VersionCreate, body)
        row = self._row(project, dataset_id)
        kind = DatasetType(row.dataset_type)
        if req.train_evaluate_sample_ratio != 1.0 and kind not in SPLITTABLE:
            raise SpecError("train_evaluate_sample_ratio", req.train_evaluate_sample_ratio,
                            f"datasets of type {kind.value} "
                            f"({kind.name.lower().replace('_', ' ')}) are not split; splitting "
                            "exists for image classification, object detection, text "
                            "classification and sound classification (seed S4.2)")
        samples = self._samples(row.id)
        if not samples:
            raise SpecError("dataset_id", row.id, f"dataset {row.name!r} has no samples; "
                            "import data before publishing a version")
        with self.db.session() as s:
            count = s.scalar(select(func.count()).select_from(VersionRow)
                             .where(VersionRow.dataset_id == row.id)) or 0
            names = set(s.scalars(select(VersionRow.name).where(VersionRow.dataset_id == row.id)))
        name = req.version_name or _next_version_name(count, names)
        if name in names:
            raise Conflict(f"version_name: {name!r} is already a version of dataset {row.name!r}")
        lines = manifest_lines(samples, kind, req.train_evaluate_sample_ratio)
        stats = version_stats(lines, samples, kind)
        url = manifest_url(row, name)
        try:
            with self._engine() as engine:
                write_manifest(engine, url, lines)
        except StorageError as exc:
            raise SpecError("work_path", row.work_path,
                            f"the version's manifest cannot be written: {exc}") from None
        version = VersionRow(id=uuid.uuid4().hex[:20], dataset_id=row.id, name=name,
                             version_format=req.version_format.value,
                             ratio=req.train_evaluate_sample_ratio,
                             status=int(VersionStatus.NORMAL), manifest_path=url,
                             description=req.description, stats=stats, created_at=time.time())
        with self.db.session() as s:
            s.add(version)
            try:
                s.flush()
            except IntegrityError:
                raise Conflict(f"version_name: {name!r} is already a version of dataset "
                               f"{row.name!r}") from None
        return self.version(project, row.id, version.id)

    def _version_row(self, project: str, dataset_id: str, version_id: str
                     ) -> tuple[DatasetRow, VersionRow]:
        row = self._row(project, dataset_id)
        with self.db.session() as s:
            version = s.get(VersionRow, version_id)
            if version is None or version.dataset_id != row.id:
                version = s.scalar(select(VersionRow).where(VersionRow.dataset_id == row.id,
                                                            VersionRow.name == version_id))
        if version is None:
            raise NotFound("dataset version", version_id)
        return row, version

    def version(self, project: str, dataset_id: str, version_id: str) -> VersionRecord:
        row, v = self._version_row(project, dataset_id, version_id)
        return _version_record(row, v)

    def versions(self, project: str, dataset_id: str) -> builtins.list[VersionRecord]:
        row = self._row(project, dataset_id)
        with self.db.session() as s:
            rows = builtins.list(s.scalars(select(VersionRow).where(VersionRow.dataset_id == row.id)
                                  .order_by(VersionRow.created_at.desc())))
        return [_version_record(row, v) for v in rows]

    def delete_version(self, project: str, dataset_id: str, version_id: str
                       ) -> VersionRecord:
        row, v = self._version_row(project, dataset_id, version_id)
        record = _version_record(row, v)
        with self.db.session() as s:
            s.execute(delete(VersionRow).where(VersionRow.id == v.id))
        return record

    # ------------------------------------------------------------ job inputs
    def resolver(self, project: str) -> DatasetResolver:
        """For job creation: a job's ``remote.dataset`` as the facts of its version."""

        def resolve(ref: DatasetRemote, field: str) -> VersionFacts:
            try:
                row, v = self._version_row(project, ref.id, ref.version_id)
            except NotFound as exc:
                raise SpecError(field, {"id": ref.id, "version_id": ref.version_id},
                                f"{exc.message} in project {project}") from None
            if v.status != VersionStatus.NORMAL:
                raise SpecError(f"{field}.version_id", ref.version_id,
                                f"version {v.name!r} is not published (status {v.status})")
            return VersionFacts(
                dataset_id=row.id, dataset_name=row.name, version_id=v.id,
                version_name=v.name, dataset_type=DatasetType(row.dataset_type),
                label_type=v.stats["label_type"], version_format=v.version_format,
                split=_is_split(v), data_url=row.data_path, manifest_url=v.manifest_path,
                manifest_name=manifest_name(row.name, v.name))

        return resolve


def _stored_tasks(row: DatasetRow) -> builtins.list[ImportTaskRecord]:
    """The dataset's import tasks, newest first, as ``_store_import`` wrote them."""
    return cast(builtins.list[ImportTaskRecord], (row.import_result or {}).get("tasks", []))


def _is_split(v: VersionRow) -> bool:
    return bool(v.stats.get("eval_sample_count"))


def _next_version_name(count: int, taken: set[str]) -> str:
    """ModelArts names versions V001, V002, ..."""
    n = count + 1
    while f"V{n:03d}" in taken:
        n += 1
    return f"V{n:03d}"


def _version_record(row: DatasetRow, v: VersionRow) -> VersionRecord:
    # The statistics come from a JSON column that version_stats() filled (VersionStats).
    return cast(VersionRecord, {
        "version_id": v.id, "version_name": v.name, "dataset_id": row.id,
        "version_format": v.version_format, "status": v.status,
        "manifest_path": v.manifest_path,
        "train_evaluate_sample_ratio": f"{v.ratio:g}",
        "data_split": _is_split(v), "description": v.description or "",
        "create_time": _ms(v.created_at), **v.stats,
    })
