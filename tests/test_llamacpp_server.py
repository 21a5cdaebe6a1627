"""Dyag's `openai` backend against a real OpenAI-compatible server: llama-cpp-python's own
`python -m llama_cpp.server`, serving the packaged Qwen2.5-Coder-0.5B GGUF on 127.0.0.1 — invoke,
stream, stop sequences, a whole rag answer, and the server going away."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from assistant.backends import clear_model_cache, load_chat_model
from assistant.chat_common import BackendError, generated_tokens
from core.config import Settings
from tests.conftest import make_settings
from tests.test_backends import stream_text

pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python's server extra is not installed")
pytest.importorskip("langchain_openai")

ALIAS = "dyag-qwen"
QUESTION = [{"role": "user", "content": "Quel est le statut de ADES ? Réponds en une phrase."}]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LlamaServer:
    """``python -m llama_cpp.server`` on a free 127.0.0.1 port, up once its /v1/models answers."""

    def __init__(self, gguf: Path, log: Path, interrupt: bool = False) -> None:
        # interrupt=False, as the README says: by default the server cuts a stream short when another request arrives.
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", ALIAS,
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048", "--interrupt_requests", str(interrupt)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.log = log

    def wait(self, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"llama_cpp.server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/models", timeout=5) as response:
                    return json.load(response)
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"llama_cpp.server not up after {timeout} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def qwen_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from finetune.base_models import assemble_packaged_gguf
    from finetune.registry import get_entry

    return assemble_packaged_gguf(get_entry("qwen2.5-coder:0.5b"), tmp_path_factory.mktemp("gguf"))


@pytest.fixture(scope="module")
def server(qwen_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    running = LlamaServer(qwen_gguf, tmp_path_factory.mktemp("llama-server") / "server.log")
    try:
        running.wait()
        yield running
    finally:
        running.stop()
        clear_model_cache()


def _settings(workdir: Path, url: str, **overrides: object) -> Settings:
    return make_settings(workdir, backend="openai", openai_base_url=url, generator_model=ALIAS, **overrides)


def test_the_server_exposes_the_alias(server: LlamaServer) -> None:
    assert [m["id"] for m in server.wait()["data"]] == [ALIAS]


def test_invoke_stream_and_stop_through_the_real_server(server: LlamaServer, tmp_path: Path) -> None:
    ChatOpenAI = pytest.importorskip("langchain_openai").ChatOpenAI

    model = load_chat_model(_settings(tmp_path, server.url, max_new_tokens=6))
    assert isinstance(model, ChatOpenAI)
    message = model.invoke(QUESTION)
    # Cut at max_new_tokens by the server: llama_cpp.server reads max_tokens, not max_completion_tokens.
    assert message.response_metadata["finish_reason"] == "length"
    assert generated_tokens(message) == 6 and message.content.strip()

    pieces, total = stream_text(model, QUESTION)
    assert len(pieces) > 1  # token by token over Server-Sent Events
    assert "".join(pieces) == message.content  # temperature 0: greedy, the same text
    assert total.response_metadata["finish_reason"] == "length"

    words = message.content.split()
    assert len(words) >= 2, message.content
    stop = words[1]
    expected = message.content[: message.content.index(stop)]
    assert model.invoke(QUESTION, stop=[stop]).content == expected


def _concurrent_streams(url: str, workdir: Path) -> list[str | None]:
    """Two Dyag instances (two settings, two clients) streaming at once; each stream's finish reason."""
    models = [load_chat_model(_settings(workdir, url, max_new_tokens=n)) for n in (6, 7)]
    reasons: list[str | None] = [None, None]

    def stream(i: int) -> None:
        reasons[i] = stream_text(models[i], QUESTION)[1].response_metadata.get("finish_reason")

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return reasons


def test_several_instances_share_one_server(server: LlamaServer, tmp_path: Path) -> None:
    # Requests queue on the server's lock and each stream runs to its own limit.
    assert _concurrent_streams(server.url, tmp_path) == ["length", "length"]


def test_a_rag_answer_generated_by_the_server(server: LlamaServer, example_index: Settings) -> None:
    from assistant.answering import Assistant

    settings = example_index.model_copy(
        update={"backend": "openai", "openai_base_url": server.url, "generator_model": ALIAS, "max_new_tokens": 32}
    )
    answer = Assistant(settings).ask("À quoi sert ADES ?", mode="rag")
    assert answer.mode_used == "rag" and answer.answer.strip()
    assert answer.generated_tokens > 0  # pieces streamed from the server
    assert answer.sources and {s.app_name for s in answer.sources} == {"ADES"}


def test_the_server_going_away_says_what_to_start(qwen_gguf: Path, tmp_path: Path) -> None:
    own = LlamaServer(qwen_gguf, tmp_path / "server.log")
    try:
        own.wait()
        model = load_chat_model(_settings(tmp_path, own.url, max_new_tokens=4))
        assert model.invoke(QUESTION).content
    finally:
        own.stop()
    # Loaded while it ran, asked after it stopped: Dyag's message, not the HTTP client's traceback.
    with pytest.raises(BackendError, match="Cannot reach the OpenAI-compatible endpoint"):
        model.invoke(QUESTION)
    with pytest.raises(BackendError, match="openai_base_url"):
        list(model.stream(QUESTION))
    clear_model_cache()
    with pytest.raises(BackendError, match="Start the server"):
        load_chat_model(_settings(tmp_path, own.url))
