"""/v2/{project_id}/algorithms over the in-process app: ModelArts shapes, errors, scoping."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from fixtures.server import algorithm_body

P = "/v2/proj-a"


def test_create_show_list_update_delete(api: TestClient, code_dir: Path) -> None:
    r = api.post(f"{P}/algorithms", json=algorithm_body("algo-1", code_dir))
    assert r.status_code == 201, r.text
    created = r.json()
    meta = created["metadata"]
    assert meta["name"] == "algo-1" and meta["workspace_id"] == "proj-a"
    assert isinstance(meta["create_time"], int) and created["warnings"] == []
    assert created["job_config"]["boot_file"] == "train.py"

    by_id = api.get(f"{P}/algorithms/{meta['id']}").json()
    by_name = api.get(f"{P}/algorithms/algo-1").json()
    assert by_id == by_name and "warnings" not in by_id

    api.post(f"{P}/algorithms", json=algorithm_body("algo-2", code_dir))
    listing = api.get(f"{P}/algorithms").json()
    assert {k: listing[k] for k in ("total", "count", "limit", "offset", "sort_by", "order",
                                    "group_by")} == {
        "total": 2, "count": 2, "limit": 50, "offset": 0, "sort_by": "create_time",
        "order": "desc", "group_by": ""}
    assert [i["metadata"]["name"] for i in listing["items"]] == ["algo-2", "algo-1"]
    asc = api.get(f"{P}/algorithms", params={"order": "asc", "limit": 1}).json()
    assert asc["count"] == 1 and asc["total"] == 2
    assert asc["items"][0]["metadata"]["name"] == "algo-1"
    found = api.get(f"{P}/algorithms", params={"searches": "name:o-2"}).json()
    assert [i["metadata"]["name"] for i in found["items"]] == ["algo-2"]

    r = api.put(f"{P}/algorithms/algo-1", json={"metadata": {"description": "better one"}})
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["description"] == "better one"

    assert api.delete(f"{P}/algorithms/algo-1").status_code == 202
    r = api.get(f"{P}/algorithms/algo-1")
    assert r.status_code == 404
    assert r.json()["error_code"] == "ModelYard.NotFound"


def test_projects_scope_records(api: TestClient, code_dir: Path) -> None:
    assert api.post("/v2/one/algorithms", json=algorithm_body("same", code_dir)).status_code == 201
    assert api.post("/v2/two/algorithms", json=algorithm_body("same", code_dir)).status_code == 201
    assert api.get("/v2/one/algorithms").json()["total"] == 1
    assert api.get("/v2/three/algorithms/same").status_code == 404
    dup = api.post("/v2/one/algorithms", json=algorithm_body("same", code_dir))
    assert dup.status_code == 409
    assert set(dup.json()) >= {"error_code", "error_msg"}


def test_rule_violations_name_field_and_rule(api: TestClient, code_dir: Path) -> None:
    body = algorithm_body("bad-param", code_dir)
    body["job_config"]["parameters"][0]["name"] = "learning rate"  # type: ignore[index]
    r = api.post(f"{P}/algorithms", json=body)
    assert r.status_code == 400
    err = r.json()
    assert err["error_code"] == "ModelYard.InvalidArgument"
    assert err["field"] == "job_config.parameters[0].name"
    assert err["error_msg"].startswith("job_config.parameters[0].name: 'learning rate' is not "
                                       "allowed:")
    assert "seed S3.3" in err["rule"]


JSON = {"Content-Type": "application/json"}


def test_bad_requests_are_400_never_500(api: TestClient) -> None:
    cases = [
        api.post(f"{P}/algorithms", content=b"{not json", headers=JSON),
        api.post(f"{P}/algorithms", content=b"[1, 2]", headers=JSON),
        api.post(f"{P}/algorithms", content=b"", headers=JSON),
        api.post(f"{P}/algorithms", json={"metadata": {"name": "x"}}),
        api.get(f"{P}/algorithms", params={"limit": "0"}),
        api.get(f"{P}/algorithms", params={"offset": "-1"}),
        api.get(f"{P}/algorithms", params={"order": "sideways"}),
        api.get("/v2/bad project/algorithms"),
    ]
    fields = []
    for r in cases:
        assert r.status_code == 400, (r.request.url, r.text)
        body = r.json()
        assert set(body) >= {"error_code", "error_msg", "field"}
        assert "Traceback" not in r.text
        fields.append(body["field"])
    assert fields[:3] == ["body", "body", "body"]
    assert fields[3] == "job_config"
    assert fields[4:] == ["limit", "offset", "order", "project_id"]


def test_unknown_routes_and_methods_use_the_error_shape(api: TestClient) -> None:
    r = api.get("/v2/p/nothing-here")
    assert r.status_code == 404 and r.json()["error_code"] == "ModelYard.NotFound"
    r = api.patch(f"{P}/algorithms")
    assert r.status_code == 405 and set(r.json()) == {"error_code", "error_msg"}


def test_x_project_id_must_match_the_path(api: TestClient) -> None:
    assert api.get(f"{P}/algorithms", headers={"X-Project-Id": "proj-a"}).status_code == 200
    r = api.get(f"{P}/algorithms", headers={"X-Project-Id": "other"})
    assert r.status_code == 403 and r.json()["error_code"] == "ModelYard.Forbidden"


def test_docs_and_openapi(api: TestClient) -> None:
    assert api.get("/docs").status_code == 200
    schema = api.get("/openapi.json").json()
    assert "/v2/{project_id}/training-job-searches" in schema["paths"]
    create = schema["paths"]["/v2/{project_id}/algorithms"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/Algorithm"
    assert "Algorithm" in schema["components"]["schemas"]
    assert "422" not in create["responses"]
