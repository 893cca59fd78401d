"""A caller names a host path: ``file://`` code, inputs and outputs, and file systems with
a ``path``, lie only under the administrator's ``host_paths``. A refusal is a 403 naming
the field and the setting."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from modelyard.service.app import Service
from modelyard.service.errors import Forbidden
from modelyard.settings import Settings
from modelyard.spec.errors import SpecError
from spec.builders import binding, inline_job_doc


def _service(settings: Settings, **update: object) -> Service:
    return Service(settings.model_copy(update=update))


def test_with_keys_and_no_setting_no_host_path_is_allowed(settings: Settings) -> None:
    keyed = settings.model_copy(update={"host_paths": None,
                                        "api_keys": SecretStr("AK1:" + "s" * 32)})
    assert keyed.host_path_roots() == []
    assert settings.model_copy(update={"host_paths": None}).host_path_roots() == [Path.home()]


@pytest.mark.parametrize("field", ["outputs", "inputs"])
def test_a_job_channel_outside_the_roots_is_refused_with_a_403(settings: Settings,
                                                              tmp_path: Path,
                                                              field: str) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    service = _service(settings, host_paths=[allowed])
    name = "data_url" if field == "inputs" else "train_url"
    body = inline_job_doc(**{field: [binding(name, "file:///root/.ssh/")]})
    with pytest.raises(Forbidden) as info:
        service.jobs.create("default", body)
    message = info.value.message
    assert info.value.status == 403
    assert "file:///root/.ssh/" in message or "/root/.ssh" in message
    assert message.startswith(f"{field}.{name}: ")
    assert "host_paths (MODELYARD_HOST_PATHS)" in message and str(allowed) in message
    assert service.jobs.list("default")[1] == 0  # nothing half-written


def test_dot_dot_and_symlinks_do_not_lead_out_of_a_root(settings: Settings,
                                                       tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "escape").symlink_to("/etc")
    service = _service(settings, host_paths=[allowed])
    dotdot = inline_job_doc(outputs=[binding("train_url", f"file://{allowed}/../../etc/")])
    with pytest.raises(SpecError, match=r"without empty, '\.' or '\.\.' components"):
        service.jobs.create("default", dotdot)
    link = inline_job_doc(outputs=[binding("train_url", f"file://{allowed}/escape/")])
    with pytest.raises(Forbidden, match="host_paths"):
        service.jobs.create("default", link)


def test_a_file_system_path_outside_the_roots_is_refused(settings: Settings,
                                                        tmp_path: Path) -> None:
    service = _service(settings, host_paths=[tmp_path / "fast"])
    with pytest.raises(Forbidden) as info:
        service.filesystems.create("default", "etcfs", path="/etc")
    assert info.value.message.startswith("path: '/etc' is not allowed")
    (tmp_path / "fast").mkdir()
    made = service.filesystems.create("default", "okfs", path=str(tmp_path / "fast" / "a"))
    assert made["name"] == "okfs"


@pytest.mark.slow
def test_the_api_answers_403_naming_field_and_setting(tmp_path: Path) -> None:
    """Through a real server with keys and no host_paths: file:///root is refused."""
    from fixtures.server import start_server, stop_server
    from modelyard.client.http import ApiError, ModelYardClient

    home = tmp_path / "home"
    home.mkdir()
    info = start_server(home, keys={"AK1": "S" * 40},
                        extra_env={"MODELYARD_HOST_PATHS": json.dumps([])})
    try:
        body = inline_job_doc(outputs=[binding("train_url", "file:///root/pwned/")])
        with ModelYardClient(info.url, access_key="AK1", secret_key="S" * 40,
                             project="default") as client, pytest.raises(ApiError) as err:
            client.request("POST", client._path("/training-jobs"), json=body)
        assert err.value.status == 403, err.value.message
        assert err.value.message.startswith("outputs.train_url: ")
        assert "MODELYARD_HOST_PATHS" in err.value.message
        assert not os.path.exists("/root/pwned")
    finally:
        stop_server(info)
