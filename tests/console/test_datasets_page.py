"""The datasets page and a dataset version picked as a job input (issue 18), in a real
browser against a real server."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import httpx
import pytest

from console.conftest import Console
from fixtures.datasets import classification_tree

pytestmark = pytest.mark.slow

READER = """
import argparse, glob, json, os
p = argparse.ArgumentParser()
p.add_argument("--data_url")
p.add_argument("--train_url")
a, _ = p.parse_known_args()
(m,) = glob.glob(os.path.join(a.data_url, "*.manifest"))
lines = [json.loads(x) for x in open(m)]
assert all(os.path.isfile(x["source"]) for x in lines)
print("read", len(lines), "samples from", os.path.basename(m))
"""


def expect_text(locator: Any, pattern: str, timeout: float = 15000) -> None:
    from playwright.sync_api import expect

    expect(locator).to_contain_text(re.compile(pattern), timeout=timeout)


def upload(api: httpx.Client, files: dict[str, bytes]) -> None:
    for key, data in files.items():
        r = api.post("/storage/object", params={"url": f"obs://demo/{key}"}, content=data,
                     headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, r.text


def test_create_import_publish_and_train(console: Console, api: httpx.Client) -> None:
    upload(api, classification_tree("console-pets/", per_label=5))
    upload(api, {"console-reader/code/train.py": textwrap.dedent(READER).encode()})
    page = console.open("#/datasets")
    page.click("details.panel > summary")
    page.fill("[data-field='dataset_name']", "console-pets")
    page.fill("[data-field='data_sources[0].data_path']", "obs://demo/console-pets/")
    page.fill("[data-field='work_path']", "obs://demo/console-pets-work/")
    page.click("button:has-text('Create dataset')")
    report = page.locator("[data-testid='import-report']")
    expect_text(report, r"Imported 16 new sample\(s\)")
    expect_text(report, "2 unreadable")
    expect_text(report, "console-pets/dog/empty.png")
    expect_text(page.locator("table.labels"), "fox")

    detail = page.locator("[data-testid='dataset-detail']")
    detail.locator("[data-field='train_evaluate_sample_ratio']").fill("1.5")
    detail.locator("button:has-text('Publish a version')").click()
    error = detail.locator(".field-error")
    expect_text(error, "train_evaluate_sample_ratio")
    assert "Traceback" not in page.content()
    detail.locator("[data-field='train_evaluate_sample_ratio']").fill("0.8")
    detail.locator("button:has-text('Publish a version')").click()
    versions = page.locator("table.versions")
    expect_text(versions, "V001")
    expect_text(versions, "12")  # train
    console.shot("datasets")

    r = api.post("/algorithms", json={"metadata": {"name": "console-reader"}, "job_config": {
        "code_dir": "obs://demo/console-reader/code/", "boot_file": "train.py",
        "engine": {"engine_name": "python", "engine_version": "3.11"},
        "inputs": [{"name": "data_url", "remote_constraints": [
            {"data_type": "modelarts_dataset",
             "attributes": {"data_segmentation": ["true"]}}]}],
        "outputs": [{"name": "train_url"}]}})
    assert r.status_code == 201, r.text
    page = console.open("#/jobs/new?algorithm=console-reader")
    page.wait_for_selector("[data-testid='source-data_url']")
    page.select_option("[data-testid='source-data_url']", "dataset")
    expect_text(page.locator("[data-testid='version-data_url']"), "console-pets / V001")
    console.shot("job-form-dataset")
    page.click("[data-action='create-job']")
    page.wait_for_url(re.compile(r".*#/jobs/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[1]
    expect_text(page.locator("[data-testid='log']"),
                r"read 16 samples from console-pets-V001\.manifest", timeout=60000)
    stored = api.get(f"/training-jobs/{job_id}").json()["algorithm"]["inputs"][0]
    assert stored["remote"]["dataset"]["version_id"]
