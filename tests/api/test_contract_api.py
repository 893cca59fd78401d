"""``job_config.contract`` over the API (issue 16): kept on the algorithm, bad values and
outputs SageMaker has no folder for are 400 with a message naming the field, never stored."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from fixtures.server import algorithm_body

P = "/v2/proj-a"


def with_config(name: str, code_dir: Path, **changes: object) -> dict[str, object]:
    body = algorithm_body(name, code_dir)
    config = body["job_config"]
    assert isinstance(config, dict)
    config.update(changes)
    return body


def test_the_contract_is_kept_and_its_rules_are_400(api: TestClient, code_dir: Path) -> None:
    body = with_config("sm-algo", code_dir, contract="sagemaker", outputs=[{"name": "model"}])
    r = api.post(f"{P}/algorithms", json=body)
    assert r.status_code == 201, r.text
    assert api.get(f"{P}/algorithms/sm-algo").json()["job_config"]["contract"] == "sagemaker"

    for change, field in (({"contract": "kubeflow"}, "job_config.contract"),
                          ({"contract": "sagemaker"}, "job_config.outputs[0].name")):
        r = api.post(f"{P}/algorithms", json=with_config("bad-algo", code_dir, **change))
        assert r.status_code == 400, r.text
        err = r.json()
        assert err["error_code"] == "ModelYard.InvalidArgument"
        assert err["error_msg"].startswith(f"{field}: ")
    assert api.get(f"{P}/algorithms/bad-algo").status_code == 404
