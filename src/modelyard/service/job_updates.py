"""``PUT /v2/{project_id}/training-jobs/{id}``: what may change on an existing job.

ModelArts lets a job's description (and annotations) change after creation; everything that
decides how the job runs stays as submitted.
"""

from __future__ import annotations

import time
from typing import Any

from modelyard.service.app import Service
from modelyard.service.errors import NotFound
from modelyard.service.records import JobRecord, job_record
from modelyard.spec.errors import SpecError
from modelyard.spec.names import check_description
from modelyard.store.models import JobRow

CHANGEABLE = ("description", "metadata.description", "metadata.annotations")


def update_job(service: Service, project: str, job_id: str,
               data: dict[str, Any]) -> JobRecord:
    meta = data.get("metadata") or {}
    if not isinstance(meta, dict):
        raise SpecError("metadata", meta, "must be an object")
    description = data.get("description", meta.get("description"))
    annotations = meta.get("annotations", meta.get("annotation"))
    if description is None and annotations is None:
        raise SpecError("body", None, f"nothing to change: send one of {', '.join(CHANGEABLE)}")
    if description is not None:
        if not isinstance(description, str):
            raise SpecError("description", description, "must be a string")
        check_description(description, "description")
    if annotations is not None and not (
            isinstance(annotations, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in annotations.items())):
        raise SpecError("metadata.annotations", annotations, "must map strings to strings")
    service.jobs.row(project, job_id)  # 404 for another project's job
    with service.db.session() as s:
        row = s.get(JobRow, job_id)
        if row is None:
            raise NotFound("training job", job_id)
        body = dict(row.body)
        new_meta = dict(body.get("metadata") or {})
        if description is not None:
            new_meta["description"] = description
            row.description = description
        if annotations is not None:
            new_meta["annotations"] = {**(new_meta.get("annotations") or {}), **annotations}
        body["metadata"] = new_meta
        row.body = body
        row.updated_at = time.time()
        s.flush()
        return job_record(row)
