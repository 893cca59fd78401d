"""A fresh install ships the digits classifier as a gallery asset that any project can
subscribe to and train with no code (seed S1.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.jobs import final, out_dir, wait_for
from modelyard.service import Service
from modelyard.service.gallery import DIGITS_ID
from modelyard.service.gallery.builtin import BUILTIN
from modelyard.settings import Settings
from modelyard.spec.loader import read_document

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "digits"


def test_the_shipped_files_are_the_digits_example() -> None:
    """The package carries its own copy (examples/ is not installed); it must not drift."""
    shipped = BUILTIN / "digits"
    assert (shipped / "code" / "train.py").read_bytes() == \
        (EXAMPLE / "code" / "train.py").read_bytes()
    ours, theirs = read_document(shipped / "algorithm.yaml"), read_document(
        EXAMPLE / "algorithm.yaml")
    theirs["job_config"].pop("code_dir")
    assert ours == theirs


def test_a_fresh_install_lists_digits_once(service: Service, settings: Settings) -> None:
    items, total = service.gallery.list()
    assert total == 1 and items[0]["content_id"] == DIGITS_ID
    [version] = items[0]["versions"]
    assert version["version_num"] == "1.0.0" and version["status"] == "published"
    assert {p["name"] for p in version["job_config"]["parameters"]} >= {"learning_rate",
                                                                       "epochs"}
    again = Service(settings)  # a second process on the same home publishes nothing more
    try:
        assert again.gallery.list()[1] == 1
    finally:
        again.close()


@pytest.mark.slow
def test_any_project_trains_digits_with_no_code(service: Service, settings: Settings) -> None:
    np = pytest.importorskip("numpy")
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    data = settings.obs_root / "data" / "digits"
    data.mkdir(parents=True)
    np.savez(data / "part-0.npz", X=digits.data, y=digits.target)
    sub = service.gallery.subscribe("newcomer", {"content_id": DIGITS_ID})
    version = sub["item_versions"][0]["item_version_id"]
    rec = service.jobs.create("newcomer", {
        "metadata": {"name": "digits-from-gallery"},
        "algorithm": {
            "subscription_id": sub["subscription_id"], "item_version_id": version,
            "parameters": [{"name": "epochs", "value": 3}],
            "inputs": [{"name": "data_url", "remote": {"obs": {"obs_url": "obs://data/digits/"}}}],
            "outputs": [{"name": "train_url",
                         "remote": {"obs": {"obs_url": "obs://out/digits/"}}}],
        },
    })
    done = wait_for(service, rec["metadata"]["id"], final, project="newcomer", timeout=180)
    assert done["status"]["phase"] == "Completed", done["status"]
    log = service.jobs.log_preview("newcomer", rec["metadata"]["id"])["content"]
    assert "loaded 1797 samples from 1 files" in log and "epoch=3 " in log
    assert any(out_dir(settings, "obs://out/digits/").iterdir())


def test_a_broken_install_still_has_a_gallery(settings: Settings, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              caplog: pytest.LogCaptureFixture) -> None:
    from modelyard.service.gallery import builtin

    monkeypatch.setattr(builtin, "BUILTIN", tmp_path / "missing")
    service = Service(settings)
    try:
        assert service.gallery.list() == ([], 0)
    finally:
        service.close()
    assert "could not publish the built-in digits asset" in caplog.text
