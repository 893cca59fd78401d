"""Algorithms: create, read, update, delete, per project."""

from __future__ import annotations

import builtins
import time
import uuid
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from modelyard.service import engines
from modelyard.service.errors import Conflict, NotFound
from modelyard.service.records import AlgorithmRecord, algorithm_record
from modelyard.settings import Settings
from modelyard.spec.algorithm import Algorithm
from modelyard.spec.loader import parse_algorithm
from modelyard.spec.status import FINAL_PHASES
from modelyard.store.db import Database
from modelyard.store.models import AlgorithmRow, JobRow


class AlgorithmService:
    def __init__(self, db: Database, settings: Settings | None = None) -> None:
        self.db = db
        self.settings = settings

    def _check_engine(self, algorithm: Algorithm) -> None:
        """An engine that this installation does not run is refused now, not at staging;
        an engine named by engine_id alone is stored with its name and version filled in,
        as ModelArts returns it."""
        if self.settings is None:
            return
        engine = algorithm.job_config.engine
        entry = engines.resolve(self.settings, engine, "job_config.engine")
        if engine is not None and entry is not None and not engine.image_url:
            algorithm.job_config.engine = engine.model_copy(update={
                "engine_id": entry.engine_id, "engine_name": entry.engine_name,
                "engine_version": entry.engine_version})

    def create(self, project: str, data: dict[str, Any]) -> tuple[AlgorithmRecord, list[str]]:
        """Validates and stores an algorithm; returns its record and the spec's warnings."""
        algorithm = parse_algorithm(data)
        self._check_engine(algorithm)
        now = time.time()
        row = AlgorithmRow(
            id=str(uuid.uuid4()), project_id=project, name=algorithm.metadata.name,
            body=_body(algorithm), created_at=now, updated_at=now,
        )
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:
            raise Conflict(
                f"metadata.name: {algorithm.metadata.name!r} is not allowed: an algorithm with "
                "this name exists in this project"
            ) from None
        return algorithm_record(row), algorithm.warnings()

    def get_row(self, project: str, ident: str) -> AlgorithmRow:
        with self.db.session() as s:
            row = s.scalars(
                select(AlgorithmRow).where(
                    AlgorithmRow.project_id == project,
                    or_(AlgorithmRow.id == ident, AlgorithmRow.name == ident),
                )
            ).first()
        if row is None:
            raise NotFound("algorithm", ident)
        return row

    def get(self, project: str, ident: str) -> AlgorithmRecord:
        return algorithm_record(self.get_row(project, ident))

    def model(self, project: str, ident: str) -> tuple[AlgorithmRow, Algorithm]:
        row = self.get_row(project, ident)
        return row, parse_algorithm(row.body)

    def list(self, project: str, offset: int = 0, limit: int = 100,
             name: str | None = None) -> tuple[builtins.list[AlgorithmRecord], int]:
        where = [AlgorithmRow.project_id == project]
        if name:
            where.append(AlgorithmRow.name.contains(name))
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(AlgorithmRow).where(*where)) or 0
            rows = list(s.scalars(select(AlgorithmRow).where(*where)
                                  .order_by(AlgorithmRow.created_at.desc(), AlgorithmRow.id)
                                  .offset(offset).limit(limit)))
        return [algorithm_record(r) for r in rows], total

    def update(self, project: str, ident: str, data: dict[str, Any]) -> AlgorithmRecord:
        row = self.get_row(project, ident)
        merged = {**row.body, **data}
        merged["metadata"] = {**row.body.get("metadata", {}), **(data.get("metadata") or {})}
        algorithm = parse_algorithm(merged)
        self._check_engine(algorithm)
        if algorithm.metadata.name != row.name:
            raise Conflict(
                f"metadata.name: {algorithm.metadata.name!r} is not allowed: an algorithm "
                "keeps its name"
            )
        with self.db.session() as s:
            fresh = s.get(AlgorithmRow, row.id)
            if fresh is None:
                raise NotFound("algorithm", ident)
            fresh.body = _body(algorithm)
            fresh.updated_at = time.time()
            s.flush()
            return algorithm_record(fresh)

    def delete(self, project: str, ident: str) -> None:
        row = self.get_row(project, ident)
        with self.db.session() as s:
            busy = s.scalars(
                select(JobRow.id).where(
                    JobRow.algorithm_id == row.id,
                    JobRow.phase.not_in([p.value for p in FINAL_PHASES]),
                )
            ).first()
            if busy:
                raise Conflict(
                    f"algorithm {row.name!r} is used by unfinished job {busy}; stop it first"
                )
            fresh = s.get(AlgorithmRow, row.id)
            if fresh is not None:
                s.delete(fresh)


def _body(algorithm: Algorithm) -> dict[str, Any]:
    body = algorithm.model_dump(mode="json", exclude_none=True)
    body["metadata"].pop("id", None)
    return body
