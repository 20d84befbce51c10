"""A real browser: JupyterLab serves the bots notebook, headless Chromium runs it, fills the
form and saves; the bot must land in the database. The screenshot is kept in
test-artifacts/ (CI keeps that folder)."""

from __future__ import annotations

import contextlib
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
import sqlalchemy as sa

from tests.conftest import IN_CI
from workbench.db import make_engine
from workbench.db.models import BotConfig

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("WORKBENCH_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "workbench-browser-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """JupyterLab on a copy of the notebooks, with a fresh workbench home; its URL and home."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    root = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns("conftest.py"))
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["WORKBENCH_HOME"] = str(home)
    port = free_port()
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
         "--ServerApp.ip=127.0.0.1", "--allow-root"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if server.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
        yield url, home
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_bots_notebook_form_saves_a_bot(lab: tuple[str, Path]) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    url, home = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{url}/lab/tree/02_bots.ipynb?token={TOKEN}")
            page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
            choose = page.locator(".jp-Dialog button", has_text="Select")
            with contextlib.suppress(PlaywrightTimeout):  # it may ask which kernel to start
                choose.click(timeout=10_000)
            expect(
                page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            ).to_be_visible(timeout=60_000)
            page.locator("li.lm-MenuBar-item", has_text="Run").click()
            page.locator(".lm-Menu-itemLabel").get_by_text("Run All Cells", exact=True).click()

            name = page.locator(".widget-text:has(label:text-is('name')) input")
            name.wait_for(timeout=60_000)
            name.fill("browser-bot")
            symbol = page.locator(".widget-text:has(label:text-is('symbol')) input")
            symbol.fill("BTC/USDT")
            page.locator(
                ".jp-Collapse-header, .lm-AccordionPanel-title, .widget-accordion *",
                has_text="Strategy",
            ).first.click()
            fast = page.locator(".widget-inline-hbox:has(label:text-is('ema fast')) input")
            fast.fill("7")
            fast.press("Enter")
            page.locator(".widget-button", has_text="Save").click()
            expect(page.locator(".widget-html", has_text="created bot")).to_be_visible(
                timeout=30_000
            )
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "bots-form-failure.png"), full_page=True)
            raise
        page.screenshot(path=str(ARTIFACTS / "bots-form.png"), full_page=True)
        browser.close()

    engine = make_engine(f"sqlite:///{home / 'workbench.db'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(BotConfig.name, BotConfig.symbol, BotConfig.ema_fast))
        assert [tuple(r) for r in rows] == [("browser-bot", "BTC/USDT", 7)]
    engine.dispose()
    assert (ARTIFACTS / "bots-form.png").stat().st_size > 10_000
