"""Training-job listing, which ModelArts calls a search
(``POST /v2/{project_id}/training-job-searches``); not the hyperparameter search of
``service/search/``.

The query is ModelArts': offset, limit (1-50), sort_by, order, and filters of the form
``{"key": "name", "operator": "like", "value": ["digits"]}`` with the operators between,
like, in and not. Filters become SQL, so a project with many jobs is searched in the database.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from modelyard.service.app import Service
from modelyard.service.records import RECORD_COLUMNS, JobPage, job_record
from modelyard.spec.errors import SpecError
from modelyard.spec.loader import parse
from modelyard.store.models import JobRow

Operator = Literal["between", "like", "in", "not"]

STRING_KEYS: dict[str, InstrumentedAttribute[Any]] = {
    "id": JobRow.id,
    "name": JobRow.name,
    "description": JobRow.description,
    "phase": JobRow.phase,
    "status": JobRow.phase,
    "secondary_phase": JobRow.secondary_phase,
    "algorithm_id": JobRow.algorithm_id,
    "algorithm_name": JobRow.algorithm_name,
}
# Times are milliseconds in the API (like every ModelArts time) and seconds in the table.
TIME_KEYS: dict[str, InstrumentedAttribute[Any]] = {
    "create_time": JobRow.created_at,
    "update_time": JobRow.updated_at,
}
SORT_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "create_time": JobRow.created_at, "update_time": JobRow.updated_at, "name": JobRow.name,
    "phase": JobRow.phase, "status": JobRow.phase,
}
SORT_KEYS = (*SORT_COLUMNS, "duration")  # duration is computed, so sorted in Python


class SearchFilter(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str
    operator: Operator = "in"
    value: list[str] = Field(min_length=1, max_length=100)


class JobSearch(BaseModel):
    """The request body of a training-job search."""

    model_config = ConfigDict(extra="ignore")

    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=10, ge=1, le=50)
    sort_by: str = "create_time"
    order: Literal["asc", "desc"] = "desc"
    group_by: str = ""
    workspace_id: str | None = None
    filters: list[SearchFilter] = Field(default_factory=list, max_length=20)


def _condition(i: int, f: SearchFilter) -> ColumnElement[bool]:
    where = f"filters[{i}]"
    if f.key in TIME_KEYS:
        column = TIME_KEYS[f.key]
        if f.operator != "between" or len(f.value) != 2:
            raise SpecError(f"{where}.operator", f.operator,
                            f"{f.key} is filtered with 'between' and two times in ms")
        try:
            low, high = (float(v) / 1000 for v in f.value)
        except ValueError:
            low = high = math.nan
        if not (math.isfinite(low) and math.isfinite(high)):
            raise SpecError(f"{where}.value", f.value, "times are milliseconds since "
                            "1970-01-01 UTC")
        return column.between(low, high)
    if f.key not in STRING_KEYS:
        known = ", ".join([*STRING_KEYS, *TIME_KEYS])
        raise SpecError(f"{where}.key", f.key, f"unknown filter key (known: {known})")
    column = STRING_KEYS[f.key]
    if f.operator == "in":
        return column.in_(f.value)
    if f.operator == "not":
        return column.is_(None) | column.not_in(f.value)
    if f.operator == "like":
        # Any of the values, as a case-insensitive substring.
        return or_(*(func.lower(column).contains(v.lower(), autoescape=True) for v in f.value))
    if len(f.value) != 2:
        raise SpecError(f"{where}.value", f.value, "'between' takes exactly two values")
    return column.between(f.value[0], f.value[1])


def page_statement(conditions: list[ColumnElement[bool]], sort_by: str = "create_time",
                   desc: bool = True) -> Select[Any]:
    """The page query: one direction for every sort key, so the index
    (project_id, column, created_at, id) serves the whole ORDER BY and the database stops
    after the page; id makes pages stable when times tie (JobService.list: same order)."""
    column = SORT_COLUMNS[sort_by]
    keys = [column, JobRow.id] if column is JobRow.created_at else [
        column, JobRow.created_at, JobRow.id]
    return (select(*RECORD_COLUMNS).where(and_(*conditions))
            .order_by(*(k.desc() if desc else k.asc() for k in keys)))


_PROJECT_COUNT = select(func.count()).select_from(JobRow).where(
    JobRow.project_id == bindparam("project"))


@functools.cache
def _project_page(sort_by: str, desc: bool) -> Select[Any]:
    """A page of one project without filters, built once per sort (SQLAlchemy then reuses
    its compiled form and result metadata as they are: see records.ONE_JOB)."""
    return (page_statement([JobRow.project_id == bindparam("project")], sort_by, desc)
            .offset(bindparam("offset")).limit(bindparam("limit")))


def search_jobs(service: Service, project: str, data: dict[str, Any]) -> JobPage:
    """Runs a search; returns the ModelArts list envelope. Without a watcher (embedded CLI)
    the project's running jobs are refreshed first so phases in the answer are current; with
    one (the server) the search only reads the database. Rows are Core rows of the columns
    a record shows, and the default page (newest first) walks ix_jobs_project_page
    (migration 0008; every sort column has its index)."""
    query = parse(JobSearch, data)
    if query.sort_by not in SORT_KEYS:
        raise SpecError("sort_by", query.sort_by, f"sort by one of {', '.join(SORT_KEYS)}")
    conditions = [JobRow.project_id == project]
    conditions += [_condition(i, f) for i, f in enumerate(query.filters)]
    if not service.jobs.watched:
        for job_id in service.jobs.active_ids(project):
            service.jobs.refresh(job_id)
    desc = query.order == "desc"
    with service.db.read() as s:
        if query.filters or query.sort_by == "duration":
            total = s.scalar(select(func.count()).select_from(JobRow)
                             .where(and_(*conditions))) or 0
        else:  # the console's and the SDK's usual page: statements built once
            params = {"project": project, "offset": query.offset, "limit": query.limit}
            total = s.scalar(_PROJECT_COUNT, params) or 0
        if query.sort_by == "duration":
            rows = s.execute(select(*RECORD_COLUMNS).where(and_(*conditions))).all()
        elif query.filters:
            rows = s.execute(page_statement(conditions, query.sort_by, desc)
                             .offset(query.offset).limit(query.limit)).all()
        else:
            rows = s.execute(_project_page(query.sort_by, desc), params).all()
    records = [job_record(r) for r in rows]
    if query.sort_by == "duration":
        records.sort(key=lambda r: r["status"]["duration"], reverse=desc)
        records = records[query.offset:query.offset + query.limit]
    return {
        "total": total, "count": len(records), "limit": query.limit, "offset": query.offset,
        "sort_by": query.sort_by, "order": query.order, "group_by": query.group_by,
        "workspace_id": project, "items": records,
    }
