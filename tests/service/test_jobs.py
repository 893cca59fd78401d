"""The job lifecycle through the service, with real runtimes on the local executor."""

from __future__ import annotations

import pytest

from fixtures.jobs import algorithm_for, final, job_for, out_dir, wait_for
from modelyard.service import Conflict, Service
from modelyard.settings import Settings
from modelyard.spec import SpecError

pytestmark = pytest.mark.slow

WRITER = """
import argparse, os, time
p = argparse.ArgumentParser()
p.add_argument("--train_url")
p.add_argument("--sleep", type=float, default=0)
a, _ = p.parse_known_args()
open(os.path.join(a.train_url, "model.txt"), "w").write("weights")
print("trained", flush=True)
time.sleep(a.sleep)
"""


def make(service: Service, code, name: str = "algo") -> None:  # type: ignore[no-untyped-def]
    url = code(name, WRITER)
    service.algorithms.create("p", algorithm_for(url, name, parameters=[
        {"name": "sleep", "value": 0, "constraint": {"type": "Float"}}]))


def test_job_completes_with_log_events_and_outputs(service: Service, code, settings: Settings
                                                   ) -> None:  # type: ignore[no-untyped-def]
    make(service, code)
    rec = service.jobs.create("p", job_for("algo", "obs://out/run1/"))
    done = wait_for(service, rec["metadata"]["id"], final)
    assert done["status"]["phase"] == "Completed", done["status"]
    assert (out_dir(settings, "obs://out/run1/") / "model.txt").read_text() == "weights"
    log = service.jobs.log_preview("p", rec["metadata"]["id"])
    assert "trained" in log["content"] and log["full_size"] >= log["current_size"] > 0
    messages = [e["message"] for e in service.jobs.events("p", rec["metadata"]["id"])[0]]
    assert messages[0].startswith("Job job created") and messages[-1] == "Job completed"
    records = done["status"]["running_records"]
    assert len(records) == 1 and records[0]["end_reason"] == "completed"


def test_unknown_algorithm_names_the_field_and_stores_nothing(service: Service) -> None:
    with pytest.raises(SpecError) as err:
        service.jobs.create("p", job_for("nope", "obs://out/x/"))
    assert err.value.field == "algorithm.name" and err.value.value == "nope"
    assert service.jobs.list("p")[1] == 0


def test_unknown_flavor_is_refused(service: Service, code) -> None:  # type: ignore[no-untyped-def]
    make(service, code)
    with pytest.raises(SpecError) as err:
        service.jobs.create("p", job_for("algo", "obs://out/x/",
                                         spec={"resource": {"flavor_id": "modelarts.vm.huge"}}))
    assert err.value.field == "spec.resource.flavor_id" and "available" in err.value.rule


def test_one_output_location_serves_one_unfinished_job(service: Service, code
                                                       ) -> None:  # type: ignore[no-untyped-def]
    make(service, code)
    first = service.jobs.create("p", job_for("algo", "obs://out/shared/",
                                             parameters=[{"name": "sleep", "value": 30}]))
    with pytest.raises(Conflict, match=r"train_url.*obs://out/shared/sub/.*in use by unfinished"):
        service.jobs.create("p", job_for("algo", "obs://out/shared/sub/"))
    service.jobs.stop("p", first["metadata"]["id"])
    wait_for(service, first["metadata"]["id"], final)
    second = service.jobs.create("p", job_for("algo", "obs://out/shared/"))
    assert second["status"]["phase"] in ("Pending", "Running")


def test_stop_terminates_and_still_uploads(service: Service, code, settings: Settings
                                           ) -> None:  # type: ignore[no-untyped-def]
    make(service, code)
    rec = service.jobs.create("p", job_for("algo", "obs://out/stopped/",
                                           parameters=[{"name": "sleep", "value": 60}]))
    job_id = rec["metadata"]["id"]
    wait_for(service, job_id, lambda r: "trained" in service.jobs.log_preview("p", job_id)
             ["content"])
    service.jobs.stop("p", job_id)
    done = wait_for(service, job_id, final)
    assert done["status"]["phase"] == "Terminated"
    assert (out_dir(settings, "obs://out/stopped/") / "model.txt").exists()
    with pytest.raises(Conflict, match="already Terminated"):
        service.jobs.stop("p", job_id)


def test_delete_refuses_unfinished_then_removes(service: Service, code, settings: Settings
                                                ) -> None:  # type: ignore[no-untyped-def]
    make(service, code)
    rec = service.jobs.create("p", job_for("algo", "obs://out/del/",
                                           parameters=[{"name": "sleep", "value": 60}]))
    job_id = rec["metadata"]["id"]
    with pytest.raises(Conflict, match="stop it first"):
        service.jobs.delete("p", job_id)
    wait_for(service, job_id, lambda r: "trained" in service.jobs.log_preview("p", job_id)
             ["content"])
    service.jobs.stop("p", job_id)
    wait_for(service, job_id, final)
    service.jobs.delete("p", job_id)
    assert service.jobs.list("p")[1] == 0
    assert not (settings.jobs_root / job_id).exists()
    assert (out_dir(settings, "obs://out/del/") / "model.txt").exists()  # outputs stay


def test_auto_stop_ends_a_job_that_runs_too_long(service: Service, code
                                                 ) -> None:  # type: ignore[no-untyped-def]
    make(service, code)
    rec = service.jobs.create("p", job_for(
        "algo", "obs://out/auto/", parameters=[{"name": "sleep", "value": 60}],
        spec={"auto_stop": {"enabled": True, "duration_seconds": 2}}))
    done = wait_for(service, rec["metadata"]["id"], final)
    assert done["status"]["phase"] == "Terminated"
    assert "auto" in (done["status"].get("message") or "").lower()
