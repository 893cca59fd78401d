"""Automatic search (seed S6), in ModelArts' paths: the trials of a search job, early stop of
one trial, parameter analysis, and the list of search algorithms.

A search is created like any training job (``POST /training-jobs`` with
``algorithm.policies.auto_search``) and stopped like one (``.../actions``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from modelyard.api.dependencies import ProjectDep, ServiceDep
from modelyard.api.schemas import errors

router = APIRouter(prefix="/v2/{project_id}", tags=["automatic search"])

JOB = "/training-jobs/{training_job_id}"


@router.get(JOB + "/autosearch-trials", responses=errors(404),
            summary="List the trials of a search job")
def list_trials(project: ProjectDep, service: ServiceDep, training_job_id: str,
                limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """ModelArts' shape (``items.header``, ``items.data``: one row per trial), plus
    ``trials``: the same as objects with the trial's job, status and outputs (ours)."""
    return service.search.list_trials(project, training_job_id, offset=offset, limit=limit)


@router.get(JOB + "/autosearch-trials/{trial_id}", responses=errors(404),
            summary="Show one trial, a row per metric step")
def show_trial(project: ProjectDep, service: ServiceDep, training_job_id: str,
               trial_id: str) -> dict[str, Any]:
    return service.search.get_trial(project, training_job_id, trial_id)


@router.post(JOB + "/autosearch-trial-earlystop/{trial_id}", responses=errors(404, 409),
             summary="Stop a running trial early")
def earlystop_trial(project: ProjectDep, service: ServiceDep, training_job_id: str,
                    trial_id: str) -> dict[str, Any]:
    return service.search.earlystop(project, training_job_id, trial_id)


@router.get(JOB + "/autosearch-parameter-analysis", responses=errors(404),
            summary="Importance of each searched hyperparameter")
def parameter_analysis(project: ProjectDep, service: ServiceDep,
                       training_job_id: str) -> dict[str, Any]:
    return service.search.parameter_analysis(project, training_job_id)


@router.get(JOB + "/autosearch", responses=errors(404),
            summary="The search job with its progress and best trial (ours)")
def show_search(project: ProjectDep, service: ServiceDep, training_job_id: str
                ) -> dict[str, Any]:
    return service.search.get(project, training_job_id)


@router.post(JOB + "/autosearch-resume", responses=errors(404, 409),
             summary="Start a new driver for a search whose driver died (ours)")
def resume_search(project: ProjectDep, service: ServiceDep, training_job_id: str
                  ) -> dict[str, Any]:
    return service.search.resume(project, training_job_id)


@router.get("/search-algorithms", responses=errors(),
            summary="Search algorithms with their default parameters")
def search_algorithms(project: ProjectDep, service: ServiceDep) -> dict[str, Any]:
    return service.search.algorithms()
