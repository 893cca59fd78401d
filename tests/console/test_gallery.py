"""The gallery in a real browser (seed S1.1): subscribe to the digits asset every install
ships, train from the subscription with no code, publish one of the project's algorithms
and withdraw the version."""

from __future__ import annotations

import re

import httpx
import pytest

from console.conftest import Console
from console.test_console import create_algorithm_via_api, expect_text, wait_phase

pytestmark = pytest.mark.slow


def test_subscribe_and_train_with_no_code(console: Console, api: httpx.Client) -> None:
    page = console.open("#/gallery")
    row = page.locator("table.gallery tr[data-content-id='modelyard-digits']")
    expect_text(row, "digits")
    expect_text(row, "1.0.0")
    if row.locator("[data-action='subscribe']").count():
        row.locator("[data-action='subscribe']").click()
        expect_text(page.locator(".flash"), "Subscribed to digits")
    expect_text(page.locator("[data-testid='subscriptions']"), "digits")
    console.shot("gallery")

    page.locator("table.gallery tr[data-content-id='modelyard-digits'] [data-action='train']"
                 ).click()
    page.wait_for_selector("tr.hp-row")
    expect_text(page.locator(".alg-info"), "Subscribed algorithm")
    assert page.locator(".alg-info").inner_text().count("obs://") == 0  # no code to show
    page.locator("tr.hp-row[data-name='epochs'] .hp-value").fill("3")
    page.fill("#in-data_url", "obs://demo/digits/data/")
    assert page.input_value("#out-train_url").startswith("obs://modelyard/digits/runs/")
    console.shot("gallery-job-form")
    page.click("[data-action='create-job']")
    page.wait_for_url(re.compile(r".*#/jobs/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[1]
    expect_text(page.locator("[data-testid='gallery-source']"), r"digits 1\.0\.0")
    assert wait_phase(console, {"Completed", "Failed", "Abnormal"}) == "Completed"
    stored = api.get(f"/training-jobs/{job_id}").json()["algorithm"]
    assert stored["content_id"] == "modelyard-digits" and stored["version_num"] == "1.0.0"
    assert {"name": "epochs", "value": "3"} in stored["parameters"]


def test_publish_and_withdraw_from_the_console(console: Console, api: httpx.Client) -> None:
    create_algorithm_via_api(api, "digits-published")
    page = console.open("#/gallery")
    page.click("details.panel > summary")
    form = page.locator("[data-testid='publish-form']")
    form.locator("select[data-field='algorithm.id']").select_option(label="digits-published")
    form.locator("input[data-field='content_info.version_num']").fill("bad version")
    form.locator("button[type='submit']").click()
    expect_text(form, "content_info.version_num|version number")  # the API's words, inline
    form.locator("input[data-field='content_info.version_num']").fill("0.1.0")
    form.locator("button[type='submit']").click()
    page.wait_for_url(re.compile(r".*#/gallery/[0-9a-f-]{36}$"))
    expect_text(page.locator(".flash"), "Published digits-published as version 0.1.0")
    version = page.locator("section.version[data-version='0.1.0']")
    expect_text(version, "learning_rate")
    console.shot("gallery-asset")
    version.locator("[data-action='withdraw']").click()  # the confirm dialog is accepted
    expect_text(page.locator("section.version[data-version='0.1.0']"), "Withdrawn")
    assert page.locator("[data-action='subscribe']").is_disabled()  # nothing left to subscribe
