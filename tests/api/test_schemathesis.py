"""Robustness: schemathesis generates requests from our OpenAPI document; no answer may be a
500 or break the documented schema, status codes or content types."""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode, checks  # noqa: E402

from modelyard.api import create_app  # noqa: E402
from modelyard.executors.base import Executor  # noqa: E402
from modelyard.runtime.state import RuntimeState  # noqa: E402
from modelyard.service.app import Service  # noqa: E402
from modelyard.settings import Settings  # noqa: E402
from modelyard.spec.plan import RunPlan  # noqa: E402

pytestmark = pytest.mark.slow


class IdleExecutor(Executor):
    """Accepts jobs and never runs them: fuzzing must not start processes."""

    name = "idle"

    def submit(self, plan: RunPlan, job_dir: Path) -> None:
        job_dir.mkdir(parents=True, exist_ok=True)

    def poll(self, job_dir: Path) -> RuntimeState | None:
        return None

    def stop(self, job_dir: Path, grace_seconds: float) -> None:
        return None


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> schemathesis.BaseSchema:
    home = tmp_path_factory.mktemp("fuzz-home")
    s = Settings(home=home, allowed_hosts=["testserver"])  # the ASGI client's Host
    app = create_app(s, Service(s, executor=IdleExecutor()))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance]
EXAMPLES = 5  # per operation and mode: bounded, the whole run stays under a minute


def test_openapi_conformance(api_schema: schemathesis.BaseSchema) -> None:
    failures, calls = [], []
    operations = [r.ok() for r in api_schema.get_all_operations()]
    runs = [(op, mode) for op in operations
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    for operation, mode in runs:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            calls.append(case.call_and_validate(checks=CHECKS).status_code)

        try:
            run()
        except Unsatisfiable:  # nothing to break in an operation without inputs
            continue
        except Exception as exc:  # collect every operation's first failure, then report
            where = f"{operation.method.upper()} {operation.path} ({mode.value})"
            failures.append(f"{where}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert len(operations) >= 15 and len(calls) >= 2 * len(operations)
    assert 200 in calls and 400 in calls
