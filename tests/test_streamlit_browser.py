"""The staff web app in a real headless Chromium: ask a question, see the answer and its sources.

Starts the app with the command ``dyag app`` runs (``streamlit run streamlit_app.py`` on
127.0.0.1, a free port) as a subprocess, and drives
Debian's ``chromium`` through ``chromedriver`` with selenium (no browser download). Chromium is
installed with apt-get when missing and the test runs as root; otherwise the test is skipped with
the reason. The screenshot is kept in ``tests/artifacts/chat.png`` (docs/chat.png in the README is a copy of one).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from cli.webapp import streamlit_command
from core.config import Settings
from tests.conftest import ROOT
from tests.test_streamlit_app import APP, ui_index  # noqa: F401  (the fixture, shared)

log = logging.getLogger(__name__)

pytestmark = pytest.mark.chromium

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1000",
)
STARTUP_SECONDS = 60
# The first question loads the embedding model in the server process.
ANSWER_SECONDS = 120


def _ensure_chromium() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("Chromium is not installed and cannot be (needs root and apt-get): apt-get install -y chromium chromium-driver")
    install = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
        capture_output=True, text=True, timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    if install.returncode != 0 or not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(f"apt-get could not install chromium and chromium-driver: {install.stderr.strip()[-300:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with code {server.returncode}: {server.stdout.read() if server.stdout else ''}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not answer on {url} within {STARTUP_SECONDS} s")


@pytest.fixture
def app_url(ui_index: Settings, tmp_path: Path) -> Iterator[str]:  # noqa: F811
    with app_url_for(ui_index, tmp_path) as url:
        yield url


@contextlib.contextmanager
def app_url_for(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The app on ``settings.workdir``, started as ``dyag app`` starts it; its URL."""
    port = _free_port()
    log_file = (tmp_path / "streamlit.log").open("w+")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DYAG_RUN", None)
    # The very command `dyag app` runs (localhost, headless, no file watcher, no developer toolbar).
    server = subprocess.Popen(
        streamlit_command(APP, "127.0.0.1", port, settings.workdir, config=None, run=None),
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log_file.seek(0)
        log.info("streamlit output:\n%s", log_file.read())
        log_file.close()


@pytest.fixture
def driver() -> Iterator[Any]:
    """Headless Chromium driven by chromedriver (checked first, so a skip costs no indexing)."""
    _ensure_chromium()
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed: pip install selenium")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    try:
        yield browser
    finally:
        browser.quit()


def test_chat_in_headless_chromium(driver: Any, app_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(app_url)
    wait = WebDriverWait(driver, ANSWER_SECONDS)

    def ask(question: str, expected: str, turn: int) -> None:
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")))
        box.send_keys(question, Keys.ENTER)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")) >= 2 * turn)
        wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid='stMainBlockContainer']"), expected))

    ask("Quel est le statut de 6Tzen ?", "En production", turn=1)
    ask("et son contact ?", "Laurent Blanc", turn=2)
    # The app is idle again (the last run finished), so the screenshot shows the settled page.
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']"))
    page = driver.find_element(By.CSS_SELECTOR, "[data-testid='stMainBlockContainer']").text
    assert "Le statut de 6Tzen est « En production »" in page
    assert "6Tzen (id 1028) · section overview" in page and "6Tzen (id 1028) · section contacts" in page
    assert "réponse exacte tirée de la fiche" in page
    source_links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage'] a")]
    assert any(href and href.startswith("https://6tzen") for href in source_links)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "chat.png"
    assert driver.save_screenshot(str(shot))
