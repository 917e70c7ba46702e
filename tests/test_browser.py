"""The notebooks as people use them: JupyterLab in a real browser (headless Chromium driven by playwright).

The test starts JupyterLab on a copy of notebook 01 and opens it as stored (untrusted: its pictures
must show as PNG), runs every cell, types another table into the ``wb.explore`` panel, and checks that
the diagram was drawn again and that no cell shows an error. Screenshots go to ``tests/screenshots/``
(not kept in git) for people to look at. Debian's ``chromium`` is used (playwright's own browser
download cannot be reached everywhere); without one the test says how to get it, and fails in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "01_sketch_a_schema.ipynb"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TOKEN = "workbench-browser-test"
START_SECONDS, RUN_SECONDS = 60, 180
PANEL_INPUT = "input[placeholder='type a table (empty: all)']"

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def lab(tmp_path) -> Iterator[str]:
    """JupyterLab on a copy of the notebook, with its own settings (no news popup, every cell drawn rather
    than only those in view) and workspaces."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, notebooks / NOTEBOOK)
    settings = tmp_path / "settings" / "@jupyterlab"
    for plugin, values in (("apputils-extension/notification", {"fetchNews": "false"}),
                           ("notebook-extension/tracker", {"windowingMode": "none"})):  # every cell drawn
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
               f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={notebooks}", "--LabApp.news_url=None"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_notebook_runs_in_jupyterlab_and_its_panel_redraws(lab):
    if CHROMIUM is None:
        message = "no Chromium to drive: install Debian's (apt-get install -y chromium), then run the test again"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        try:
            page.goto(f"{lab}/lab/tree/{NOTEBOOK}?token={TOKEN}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=START_SECONDS * 1000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                                   timeout=START_SECONDS * 1000)
            stored = page.locator(".jp-OutputArea-output img")
            stored.first.wait_for(timeout=10_000)
            assert stored.count() >= 4, "the stored (untrusted) notebook shows its pictures as PNG"
            page.screenshot(path=SCREENSHOTS / "01-stored-untrusted.png")
            static = page.locator(".jp-OutputArea-output", has_text="Explore shop").first
            static.scroll_into_view_if_needed()
            assert static.locator("img").count() == 1, "a stored panel shows its static view, the diagram as PNG"
            static.screenshot(path=SCREENSHOTS / "01-stored-panel.png")

            run_all(page)
            page.screenshot(path=SCREENSHOTS / "02-after-run-all.png", full_page=False)
            assert_no_errors(page)

            panel = page.locator(PANEL_INPUT).first
            panel.scroll_into_view_if_needed()
            box = panel.locator("xpath=ancestor::div[contains(@class, 'widget-vbox')][1]")
            picture = box.locator("img").first
            before = picture.get_attribute("src")
            page.screenshot(path=SCREENSHOTS / "03-panel-before.png")
            panel.fill("customers")
            panel.press("Enter")
            page.wait_for_function("([img, before]) => img.getAttribute('src') !== before",
                                   arg=[picture.element_handle(), before], timeout=30_000)
            box.locator("text=within 1 hop of customers").first.wait_for(timeout=30_000)
            box.screenshot(path=SCREENSHOTS / "04-panel-after-picking-customers.png")
            assert_no_errors(page)
        finally:
            browser.close()


def run_all(page) -> None:
    """Run every cell from JupyterLab's Run menu and wait until each has run (no ``[*]`` left)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    cells = page.locator(".jp-CodeCell").count()
    page.wait_for_function(
        """(cells) => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
            return prompts.length === cells && prompts.every(p => /\\[\\d+\\]/.test(p));
        }""", arg=cells, timeout=RUN_SECONDS * 1000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=RUN_SECONDS * 1000)


def assert_no_errors(page) -> None:
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                          has_text="Traceback")
    broken = page.locator(".jp-OutputArea-output", has_text="Error displaying widget")
    assert errors.count() == 0, errors.all_inner_texts()
    assert broken.count() == 0, broken.all_inner_texts()
