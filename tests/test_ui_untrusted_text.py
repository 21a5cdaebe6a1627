"""Catalog and model text in the web app is data (issue #15): no image it names is fetched, no
link it writes hides its address, whether the text comes verbatim from a record or through the model.

A real HTTP server on 127.0.0.1 counts the requests a browser would make for the images a
record holds; the app runs under AppTest (the Markdown it renders) and in headless Chromium
(what a browser does with it).
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from core.config import Settings
from tests.conftest import make_settings, small_records, write_catalog
from tests.test_streamlit_app import start_app
from tests.test_streamlit_browser import ANSWER_SECONDS, app_url_for, driver  # noqa: F401  (the fixture, shared)
from ui.text import md_escape


class _Pixels(http.server.ThreadingHTTPServer):
    hits: list[str]


@pytest.fixture(scope="module")
def pixels() -> Iterator[_Pixels]:
    """An image server on 127.0.0.1 that records every path asked of it."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            server.hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = _Pixels(("127.0.0.1", 0), Handler)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory: pytest.TempPathFactory, pixels: _Pixels) -> Settings:
    """ALPHA, BETA, GAMMA and PIXEL, whose long name and description hold Markdown images and links."""
    from ingestion.ingest import ingest_catalog

    host = f"http://127.0.0.1:{pixels.server_address[1]}"
    pixel = {
        "id": "77", "nom": "PIXEL", "statut si": "En production",
        "nom long": f"Suivi des pixels ![n]({host}/name.png?leak=nom_long)",
        "descriptif": (
            f"Suivi des pixels du réseau. ![x]({host}/pixel.png?leak=descriptif) "
            f"Voir [la documentation officielle]({host}/phish) et :red[alerte]."
        ),
    }
    base = tmp_path_factory.mktemp("hostile-ui")
    settings = make_settings(base / "work")
    ingest_catalog(write_catalog(base / "catalog.json", [*small_records(), pixel]), settings)
    return settings


def _markdown_of_answer(at: Any) -> list[str]:
    return [str(m.value) for m in at.chat_message[1].markdown]


def test_a_record_quoted_verbatim_is_shown_escaped(monkeypatch: pytest.MonkeyPatch, hostile_index: Settings) -> None:
    at = start_app(monkeypatch, hostile_index.workdir)
    at.chat_input[0].set_value("À quoi sert PIXEL ?").run()
    assert not at.exception
    answer = at.session_state["turns"][-1].replies[0].answer
    assert answer.mode_used == "field" and "![x](" in answer.answer  # the record's text, as it is
    shown = _markdown_of_answer(at)[0]
    assert shown == md_escape(answer.answer)
    assert "![x](" not in shown and "](http" not in shown and ":red[" not in shown
    assert "\\!\\[x\\]\\(" in shown


def test_a_generated_answer_is_shown_escaped(monkeypatch: pytest.MonkeyPatch, hostile_index: Settings) -> None:
    """The real Qwen model reads PIXEL's record (its image included) and answers in rag mode."""
    at = start_app(monkeypatch, hostile_index.workdir)
    at.selectbox(key="mode").set_value("rag").run()
    at.chat_input[0].set_value("Parle-moi de l'application PIXEL et de sa documentation.").run()
    assert not at.exception
    answer = at.session_state["turns"][-1].replies[0].answer
    assert answer.mode_used == "rag" and answer.answer
    assert _markdown_of_answer(at)[0] == md_escape(answer.answer)
    # Source excerpts are plain text, and their labels are escaped Markdown.
    assert all("![" not in str(e.label) for e in at.expander)


@pytest.mark.chromium
def test_no_image_of_a_record_is_fetched_by_the_browser(
    driver: Any, hostile_index: Settings, pixels: _Pixels, tmp_path: Path  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with app_url_for(hostile_index, tmp_path) as url:
        wait = WebDriverWait(driver, ANSWER_SECONDS)
        driver.get(url)
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid='stChatInputTextArea']")))
        box.send_keys("À quoi sert PIXEL ?", Keys.ENTER)
        main = (By.CSS_SELECTOR, "[data-testid='stMainBlockContainer']")
        wait.until(ec.text_to_be_present_in_element(main, "Suivi des pixels du réseau."))
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']"))
        chat = driver.find_element(*main)
        assert "![x](" in chat.text and "Voir [la documentation officielle](" in chat.text  # shown as written
        host = f"http://127.0.0.1:{pixels.server_address[1]}"
        # A bare address may still become a link (GitHub-flavoured autolink), but one that shows it:
        # no link to the record's host hides behind words.
        for link in chat.find_elements(By.TAG_NAME, "a"):
            if (link.get_attribute("href") or "").startswith(host):
                assert link.text.startswith(host), (link.text, link.get_attribute("href"))
        # The catalog page shows the same record: its long name is a header, its description Markdown.
        driver.get(f"{url}/catalogue?app=77")
        wait.until(ec.text_to_be_present_in_element(main, "Voir [la documentation officielle]"))
        images = [img.get_attribute("src") or "" for img in driver.find_elements(By.TAG_NAME, "img")]
        assert not any(str(pixels.server_address[1]) in src for src in images), images
    assert pixels.hits == []
