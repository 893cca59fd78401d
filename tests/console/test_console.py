"""The web console in a real browser: Debian chromium (headless) via Playwright, against a
real `modelyard server`. Covers the seed workflow of issue 8: define an algorithm through
the form (a bad hyperparameter name is refused inline, in the API's words), run a job,
watch its log and phase reach Completed, stop a running job, and switch to 简体中文.
Screenshots of every main page go to .artifacts/screenshots/."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from console.conftest import DIGITS, Console

pytestmark = pytest.mark.slow

ALGORITHM = "digits-ui"


def expect_text(locator: Any, pattern: str, timeout: float = 15000) -> None:
    from playwright.sync_api import expect

    expect(locator).to_contain_text(re.compile(pattern), timeout=timeout)


def wait_phase(console: Console, phases: set[str], timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    phase = ""
    while time.monotonic() < deadline:
        phase = console.page.locator("h1").get_attribute("data-phase") or ""
        if phase in phases:
            return phase
        console.page.wait_for_timeout(300)
    raise AssertionError(f"phase {phase!r} never reached {phases}")


def digits_parameters() -> list[dict[str, Any]]:
    doc = yaml.safe_load((DIGITS / "algorithm.yaml").read_text())
    params: list[dict[str, Any]] = doc["job_config"]["parameters"]
    return params


def create_algorithm_via_api(api: httpx.Client, name: str) -> dict[str, Any]:
    existing = api.get(f"/algorithms/{name}")
    if existing.status_code == 200:
        result: dict[str, Any] = existing.json()
        return result
    doc = yaml.safe_load((DIGITS / "algorithm.yaml").read_text())
    doc["metadata"]["name"] = name
    r = api.post("/algorithms", json=doc)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


# ---------------------------------------------------------------------------- algorithms
def test_create_algorithm_through_the_form(console: Console, api: httpx.Client,
                                           tmp_path: Path) -> None:
    # The later tests run jobs from this algorithm (or create it through the API when run
    # alone); run after them, the form makes a second one.
    name = ALGORITHM if api.get(f"/algorithms/{ALGORITHM}").status_code == 404 else \
        f"{ALGORITHM}-{int(time.time())}"
    page = console.open("#/algorithms/new")
    page.fill("[data-field='metadata.name']", name)
    page.fill("[data-field='metadata.description']", "Digits from the console")
    page.fill("[data-field='job_config.code_dir']", "obs://demo/digits/code/")
    # The boot file is picked in the storage browser.
    page.locator("#boot-file + button.browse").click()
    dialog = page.locator("dialog.picker")
    expect_text(dialog, "train.py")
    dialog.locator("tr.object a", has_text="train.py").click()
    assert page.input_value("#boot-file") == "train.py"

    # Hyperparameters imported from a YAML file (the digits algorithm file itself).
    page.set_input_files("[data-testid='import-params']", str(DIGITS / "algorithm.yaml"))
    expect_text(page.locator("[data-testid='params-import-msg']"), "Imported 6 hyperparameters")
    assert page.locator("tr.param-row").count() == 6
    # ... and one typed by hand, with a name the API refuses.
    page.click("[data-action='add-params']")
    bad = page.locator("tr.param-row").nth(6)
    bad.locator(".p-name").fill("learning rate")
    bad.locator(".p-type").select_option("Float")
    bad.locator(".p-value").fill("0.1")

    page.click("[data-action='add-inputs']")
    page.locator("tr.input-row .c-name").fill("data_url")
    page.click("[data-action='add-outputs']")
    page.locator("tr.output-row .c-name").fill("train_url")
    page.locator("tr.output-row .c-prefetch").check()
    page.click("[data-action='save']")

    # The API's own message, next to the offending row.
    body = {"metadata": {"name": "probe"},
            "job_config": {"code_dir": "obs://demo/digits/code/", "boot_file": "train.py",
                           "engine": {"engine_name": "python", "engine_version": "3.11"},
                           "parameters": [*digits_parameters(),
                                          {"name": "learning rate", "value": "0.1"}]}}
    expected = api.post("/algorithms", json=body).json()
    assert expected["field"] == "job_config.parameters[6].name"
    error = page.locator("tr.param-row:nth-child(7) + tr.error-row .field-error")
    expect_text(error, re.escape(expected["error_msg"]))
    assert error.inner_text().strip() == expected["error_msg"]
    assert bad.locator(".p-name").get_attribute("aria-invalid") == "true"
    assert "Traceback" not in page.content()
    console.shot("algorithm-form-error")

    bad.locator(".p-name").fill("momentum")
    page.click("[data-action='save']")
    page.wait_for_url("**/#/algorithms")
    expect_text(page.locator(".flash"), f"Algorithm {name} created")
    row = page.locator(f"tr[data-algorithm='{name}']")
    expect_text(row, "Preset engine")
    console.shot("algorithms")

    stored = api.get(f"/algorithms/{name}").json()["job_config"]
    assert [p["name"] for p in stored["parameters"]][-2:] == ["epoch_sleep", "momentum"]
    assert stored["outputs"][0]["prefetch_to_local"] is True
    assert next(p for p in stored["parameters"] if p["name"] == "epochs")["constraint"][
        "required"] is True

    # Editing shows the stored definition again, and saves changes.
    row.locator("a", has_text="Edit").click()
    page.wait_for_selector("tr.param-row")
    assert page.locator("tr.param-row").count() == 7
    assert page.input_value("[data-field='job_config.code_dir']") == "obs://demo/digits/code/"
    page.locator("tr.param-row").nth(6).locator("button").click()  # remove momentum
    page.fill("[data-field='metadata.description']", "Digits, edited in the console")
    page.click("[data-action='save']")
    expect_text(page.locator(".flash"), f"Algorithm {name} saved")
    edited = api.get(f"/algorithms/{name}").json()
    assert edited["metadata"]["description"] == "Digits, edited in the console"
    assert [p["name"] for p in edited["job_config"]["parameters"]][-1] == "epoch_sleep"


# ---------------------------------------------------------------------------- jobs
def test_run_a_job_and_watch_it_complete(console: Console, api: httpx.Client) -> None:
    create_algorithm_via_api(api, ALGORITHM)
    page = console.open(f"#/jobs/new?algorithm={ALGORITHM}")
    page.wait_for_selector("tr.hp-row")
    epochs = page.locator("tr.hp-row[data-name='epochs']")
    assert epochs.locator("button").is_disabled()  # required: cannot be removed
    assert epochs.locator(".hp-value").input_value() == "20"  # the default, prefilled
    epochs.locator(".hp-value").fill("4")
    shuffle = page.locator("tr.hp-row[data-name='shuffle']")
    shuffle.locator("button").click()  # optional: removable...
    assert "removed" in (shuffle.get_attribute("class") or "")
    shuffle.locator("button").click()  # ...and restorable
    assert page.locator("tr.hp-row.removed").count() == 0

    # The input folder is picked in the object-storage browser.
    page.locator("#in-data_url + button.browse").click()
    dialog = page.locator("dialog.picker")
    dialog.locator(".bucket-bar button", has_text="demo").click()
    dialog.locator("tr.folder a", has_text="digits/").click()
    expect_text(dialog.locator(".crumbs"), "digits")
    dialog.locator("tr.folder[data-url='obs://demo/digits/data/'] button").click()
    assert page.input_value("#in-data_url") == "obs://demo/digits/data/"
    output = page.input_value("#out-train_url")
    assert output.startswith(f"obs://demo/{ALGORITHM}/runs/"), output
    assert page.locator("input.prefetch").is_checked()  # the algorithm's default
    console.shot("job-form")

    page.click("[data-action='create-job']")
    page.wait_for_url(re.compile(r".*#/jobs/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[1]
    # The live log streams while the job runs; the phase reaches Completed.
    expect_text(page.locator("[data-testid='log']"), r"epoch=1 loss=", timeout=60000)
    assert wait_phase(console, {"Completed", "Failed", "Abnormal"}) == "Completed"
    expect_text(page.locator("[data-testid='log']"), r"accuracy=0\.\d+")
    expect_text(page.locator("[data-testid='phase']"), "Completed")
    # Metrics scraped from the log, drawn as charts.
    chart = page.locator("[data-testid='metrics'] figure[data-metric='accuracy'] svg")
    chart.wait_for()
    assert page.locator("[data-testid='metrics'] figure").count() >= 2  # loss and accuracy
    page.click("[data-tab='events']")
    expect_text(page.locator("[data-testid='events']"), "Completed|completed")
    page.click("[data-tab='log']")
    console.shot("job-detail")

    # Outputs: the model is there, listed through the storage API.
    page.click("[data-tab='outputs']")
    outputs = page.locator("[data-output='train_url']")
    outputs.locator("tr.folder a", has_text="model/").click()
    expect_text(outputs, "model.pkl")
    console.shot("job-outputs")
    stored = api.get(f"/training-jobs/{job_id}").json()
    assert {"name": "epochs", "value": "4"} in stored["algorithm"]["parameters"]

    # The list filters by phase and searches by name.
    page = console.open("#/jobs")
    page.click("[data-filter='completed']")
    expect_text(page.locator("table.jobs"), ALGORITHM)
    page.click("[data-filter='running']")
    page.fill("input[type='search']", "no-such-job-name")
    expect_text(page.locator("#main"), "Nothing matches")
    page.fill("input[type='search']", "")
    page.click("[data-filter='all']")
    expect_text(page.locator("table.jobs"), ALGORITHM)
    console.shot("jobs")
    page = console.open("#/")
    expect_text(page.locator("[data-count='completed'] .count"), r"[1-9]")
    console.shot("overview")


def test_stop_a_running_job(console: Console, api: httpx.Client) -> None:
    create_algorithm_via_api(api, ALGORITHM)
    r = api.post("/training-jobs", json={
        "kind": "job", "metadata": {"name": "digits-slow"},
        "algorithm": {"name": ALGORITHM,
                      "parameters": [{"name": "epochs", "value": 200},
                                     {"name": "epoch_sleep", "value": 2}],
                      "inputs": [{"name": "data_url",
                                  "remote": {"obs": {"obs_url": "obs://demo/digits/data/"}}}],
                      "outputs": [{"name": "train_url",
                                   "remote": {"obs": {"obs_url": "obs://demo/slow/"}}}]}})
    assert r.status_code == 201, r.text
    job_id = r.json()["metadata"]["id"]
    page = console.open(f"#/jobs/{job_id}")
    wait_phase(console, {"Running"}, timeout=60)
    expect_text(page.locator("[data-testid='log']"), r"epoch=1 ", timeout=60000)
    page.click("[data-action='stop']")  # the confirm() is accepted by the fixture
    assert wait_phase(console, {"Terminated", "Failed", "Completed"}, timeout=60) == "Terminated"
    expect_text(page.locator("[data-testid='phase']"), "Stopped")
    assert page.locator("[data-action='delete']").is_visible()
    console.shot("job-stopped")

    # "Copy as new job" opens the form with this job's values.
    page.click("[data-action='copy']")
    page.wait_for_selector("tr.hp-row[data-name='epoch_sleep']")
    assert page.locator("tr.hp-row[data-name='epoch_sleep'] .hp-value").input_value() == "2"
    assert page.input_value("#in-data_url") == "obs://demo/digits/data/"
    assert page.input_value("#out-train_url") == "obs://demo/slow/"

    # Delete removes it.
    page = console.open(f"#/jobs/{job_id}")
    page.click("[data-action='delete']")
    page.wait_for_url("**/#/jobs")
    assert api.get(f"/training-jobs/{job_id}").status_code == 404


def test_errors_are_messages_never_traces(console: Console, api: httpx.Client) -> None:
    create_algorithm_via_api(api, ALGORITHM)
    page = console.open("#/jobs/00000000-0000-0000-0000-000000000000")
    expect_text(page.locator(".panel.error"), "Error")
    assert "Traceback" not in page.content()
    page = console.open("#/jobs/new")
    page.select_option("#algorithm", "")
    assert page.locator("[data-action='create-job']").is_disabled()
    # A rule broken on submit: the API's message, at the inputs it is about.
    page.select_option("#algorithm", label=ALGORITHM)
    page.wait_for_selector("#in-data_url")
    page.click("[data-action='create-job']")
    expect_text(page.locator("[data-field='algorithm.inputs'] .field-error"),
                r"input 'data_url' needs a location")


def test_the_console_signs_requests_like_the_official_sdk(console: Console) -> None:
    """For servers with API keys the console signs its calls in the browser (plain JS, as
    crypto.subtle needs https); the server's own verifier must accept them."""
    from datetime import UTC, datetime

    from modelyard.auth import verify_request

    page = console.open("#/")
    body = '{"name": "名字 x", "limit": 5}'
    cases = page.evaluate("""async (body) => {
      const m = await import('/console/js/api.js');
      const keys = { ak: 'AKTEST', sk: 'sk/secret+1' };
      const url = '/v2/default/storage/objects?url=obs%3A%2F%2Fdemo%2Fa%20b%2F&limit=5';
      return [
        m.signHeaders('POST', '/v2/default/training-job-searches',
                      { 'Content-Type': 'application/json' }, body, keys, '20260101T000000Z'),
        m.signHeaders('GET', url, {}, undefined, keys, '20260101T000000Z'),
        m.signHeaders('POST', url, { 'Content-Type': 'application/octet-stream' },
                      new Blob(['bytes']), keys, '20260101T000000Z'),
      ];
    }""", body)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    keys = {"AKTEST": "sk/secret+1"}
    query = "url=obs%3A%2F%2Fdemo%2Fa%20b%2F&limit=5"
    host = page.evaluate("() => window.location.host")
    for (method, path, raw_query, payload), headers in zip(
            [("POST", "/v2/default/training-job-searches", "", body.encode()),
             ("GET", "/v2/default/storage/objects", query, b""),
             ("POST", "/v2/default/storage/objects", query, b"bytes")], cases, strict=True):
        lower = {k.lower(): v for k, v in headers.items()}
        assert "host" not in lower  # the browser sends Host itself; the signature covers it
        lower["host"] = host
        assert verify_request(keys, method, path, raw_query, lower, payload, now=now,
                              allow_unsigned_payload=True) == "AKTEST"


# The values of issue 21 where a YAML 1.2 parser and the CLI's PyYAML (YAML 1.1) disagree.
YAML_1_1 = "a: yes\nb: on\nc: 1e5\nd: 0x1F\ne: 1_000\nf: 010\ng: off\n"


def test_yaml_import_and_log_metrics_in_the_browser(console: Console) -> None:
    """The console reads YAML through the server, with the CLI's loader: the YAML 1.1 values,
    a whole algorithm file, block scalars and anchors come out exactly as PyYAML's safe_load
    makes them; a syntax error comes back naming the line and column. Also the metric scraper
    behind the job page's charts, the other parser that runs in the browser."""
    page = console.open("#/")
    texts = [YAML_1_1, (DIGITS / "algorithm.yaml").read_text(),
             "note: |\n  two\n  lines\nbase: &b {lr: 0.1}\nsame: *b\n"]
    result = page.evaluate("""async ({texts, bad}) => {
      const y = await import('/console/js/yaml.js');
      const m = await import('/console/js/metrics.js');
      const docs = [];
      for (const text of texts) docs.push(await y.parseYaml(text));
      let refusal = null;
      try { await y.parseYaml(bad); } catch (e) { refusal = e.message; }
      const p = new m.MetricParser();
      p.feed('[ModelYard Service Log] loss=9\\nepoch=1 loss=0.5 accuracy=0.8\\n');
      p.feed('epoch=2 loss=0.25, accuracy: 0.9\\naccuracy=0.9\\nepo');
      p.feed('ch=3 loss=1e-1 acc');
      return { docs, refusal, series: Object.fromEntries(p.series) };
    }""", {"texts": texts, "bad": "name: ok\nb: c: d\n"})
    assert result["docs"] == [yaml.safe_load(text) for text in texts]
    assert result["docs"][0] == {"a": True, "b": True, "c": "1e5", "d": 31, "e": 1000,
                                 "f": 8, "g": False}
    assert "mapping values are not allowed here (line 2, column 5)" in result["refusal"]
    assert result["series"] == {"loss": [[1, 0.5], [2, 0.25]], "accuracy": [[1, 0.8], [2, 0.9]]}


def test_hyperparameters_imported_from_yaml_mean_what_the_cli_reads(console: Console,
                                                                   tmp_path: Path) -> None:
    """Through the form: a {name: value} YAML file whose values YAML 1.1 reads differently
    fills the table with PyYAML's values; a broken file shows the server's words."""
    page = console.open("#/algorithms/new")
    good = tmp_path / "params.yaml"
    good.write_text("shuffle: yes\nepochs: 010\nlabel: 1e5\n")
    page.set_input_files("[data-testid='import-params']", str(good))
    expect_text(page.locator("[data-testid='params-import-msg']"), "Imported 3 hyperparameters")
    rows = page.locator("tr.param-row")
    got = {rows.nth(i).locator(".p-name").input_value():
           (rows.nth(i).locator(".p-type").input_value(),
            rows.nth(i).locator(".p-value").input_value()) for i in range(rows.count())}
    assert got == {"shuffle": ("Boolean", "true"), "epochs": ("Integer", "8"),
                   "label": ("String", "1e5")}
    broken = tmp_path / "broken.yaml"
    broken.write_text("epochs: [1, 2\n")
    page.set_input_files("[data-testid='import-params']", str(broken))
    expect_text(page.locator("[data-testid='params-import-msg']"),
                r"Could not read this YAML: text: .* not valid YAML: .*\(line 2, column 1\)")
    assert "Traceback" not in page.content()


# ---------------------------------------------------------------------------- languages
def test_switch_to_simplified_chinese(console: Console) -> None:
    page = console.open("#/jobs")
    expect_text(page.locator("#nav"), "Training jobs")
    page.select_option("#lang", "zh-CN")
    expect_text(page.locator("#nav"), "训练作业")
    nav = page.locator("#nav").inner_text()
    for label in ("总览", "算法管理", "训练作业", "自动搜索", "文件系统", "对象存储"):
        assert label in nav
    assert not re.search(r"[A-Za-z]{3,}", nav), nav  # every label translated
    expect_text(page.locator("h1"), "训练作业")
    expect_text(page.locator("[data-filter='running']"), "运行中")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    # Remembered in this browser.
    page.reload()
    expect_text(page.locator("#nav"), "训练作业")
    page = console.open("#/algorithms/new")
    expect_text(page.locator(".mode-card.subscribed"), "已订阅算法")
    console.shot("zh-algorithm-form")
    page = console.open("#/")
    expect_text(page.locator("h1"), "总览")
    console.shot("zh-overview")
    page.select_option("#lang", "en")
    expect_text(page.locator("h1"), "Overview")


def test_browser_language_is_the_default(browser: Any, console_server: Any) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(console_server.url + "/")
        expect_text(page.locator("#nav"), "训练作业")
    finally:
        context.close()


# ---------------------------------------------------------------------------- storage etc.
def test_storage_browse_upload_download(console: Console, tmp_path: Path) -> None:
    page = console.open("#/storage")
    page.locator(".bucket-bar a", has_text="demo").click()
    page.locator("tr.folder a", has_text="digits/").click()
    expect_text(page.locator(".storage-body"), "data/")
    local = tmp_path / "notes.txt"
    local.write_text("uploaded from the console\n")
    page.set_input_files("[data-testid='upload-input']", str(local))
    expect_text(page.locator(".upload-msg"), "Uploaded 1")
    row = page.locator("tr.object[data-url='obs://demo/digits/notes.txt']")
    expect_text(row, "notes.txt")
    with page.expect_download() as info:
        row.locator("button", has_text="Download").click()
    assert Path(info.value.path()).read_text() == "uploaded from the console\n"
    console.shot("storage")


def test_search_and_filesystem_pages(console: Console, api: httpx.Client) -> None:
    page = console.open("#/search")
    expect_text(page.locator("h1"), "Automatic search")
    expect_text(page.locator("#main"), "No automatic searches yet|random_search")
    console.shot("search")
    page = console.open("#/filesystems")
    expect_text(page.locator("h1"), "File systems")
    if api.get("/filesystems").status_code == 200:
        page.locator("details.panel summary").click()
        page.fill("[data-field='name']", "bad name")
        page.locator("details.panel button[type='submit']").click()
        expect_text(page.locator("details.panel .field-error"), "is not allowed")
        page.fill("[data-field='name']", "scratch")
        page.locator("details.panel button[type='submit']").click()
        expect_text(page.locator("table.fs"), "scratch")
        page.select_option("[data-field='type']", "preload")
        page.fill("[data-field='src']", "obs://demo/digits/data/")
        page.fill("[data-field='dest']", "/digits")
        page.locator("button", has_text="Start task").click()
        expect_text(page.locator("table.tasks"), "Succeeded", timeout=30000)
    console.shot("filesystems")


def test_narrow_window(browser: Any, console_server: Any) -> None:
    context = browser.new_context(viewport={"width": 400, "height": 800}, locale="en-US")
    try:
        page = context.new_page()
        page.goto(console_server.url + "/#/algorithms/new")
        page.wait_for_selector(".mode-card")
        assert page.locator(".nav-toggle").is_visible()
        assert not page.locator("#nav").is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 401, f"the page scrolls sideways at 400 px ({width} px wide)"
        page.click(".nav-toggle")
        page.locator("#nav a", has_text="Training jobs").click()
        page.wait_for_selector("h1:has-text('Training jobs')")
        context.pages[0].screenshot(path=str(_shots() / "narrow-jobs.png"), full_page=True)
    finally:
        context.close()


def _shots() -> Path:
    from console.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# ---------------------------------------------------------------------------- search
def _creates_a_job(response: Any) -> bool:
    return bool(response.request.method == "POST"
                and response.url.split("?")[0].endswith("/training-jobs"))


def test_automatic_search_from_the_job_form(console: Console, api: httpx.Client) -> None:
    create_algorithm_via_api(api, ALGORITHM)
    page = console.open(f"#/jobs/new?algorithm={ALGORITHM}")
    page.wait_for_selector("tr.hp-row")
    page.locator("tr.hp-row[data-name='epochs'] .hp-value").fill("2")
    page.fill("#in-data_url", "obs://demo/digits/data/")
    page.fill("#out-train_url", "obs://demo/search-ui/")
    page.check("[data-testid='search-enabled']")
    page.select_option("[data-field='algorithm.policies.auto_search.algo_configs[0].name']",
                       "random_search")
    page.fill("[data-field='algorithm.policies.auto_search.algo_configs[0].params']", "2")
    page.fill("[data-field='algorithm.policies.auto_search.parallel_trials']", "2")
    row = page.locator("tr.sp-row").first
    row.locator(".sp-name").select_option("learning_rate")
    row.locator(".sp-lo").fill("0.001")
    row.locator(".sp-hi").fill("5")  # beyond the hyperparameter's range [0.00001, 1]
    page.click("[data-action='create-job']")
    error = page.locator("tr.sp-row + tr.error-row .field-error")
    expect_text(error, r"search_params\[0\]\.upper_bound: .*is not allowed")
    row.locator(".sp-hi").fill("0.05")
    console.shot("search-form")
    # Creating a search opens its study and starts its driver process: on a loaded CI
    # machine that has taken over 15 s, so wait for the answer itself, and show it.
    with page.expect_response(_creates_a_job, timeout=90000) as created:
        page.click("[data-action='create-job']")
    assert created.value.status == 201, created.value.text()
    page.wait_for_url(re.compile(r".*#/search/[0-9a-f-]{36}$"))
    trials = page.locator("[data-testid='trials'] table.trials tbody tr")
    expect_text(page.locator("[data-testid='trials']"), r"Trials \(2\)", timeout=60000)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        statuses = [trials.nth(i).locator(".badge").inner_text() for i in range(trials.count())]
        if len(statuses) == 2 and all(s in ("Completed", "Failed") for s in statuses):
            break
        page.wait_for_timeout(500)
    assert statuses == ["Completed", "Completed"], statuses
    expect_text(page.locator("[data-testid='best-trial']"), r"learning_rate=0\.0")
    page.locator("section:has(h2:has-text('Objective per trial')) svg").wait_for()
    expect_text(page.locator("[data-testid='importance']"), "learning_rate")
    console.shot("search-detail")
    page = console.open("#/search")
    expect_text(page.locator("table"), "random_search")
