"""`dyag serve`'s API on a real uvicorn server on 127.0.0.1, spoken to by real clients."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from assistant.answering import Assistant
from assistant.server import MAX_MESSAGES, REPLAYED_TURNS, ConversationStore, create_app
from cli.ask import SHUTDOWN_GRACE_S
from ingestion.ingest import ingest_catalog
from tests.conftest import ROOT, make_settings, small_records, write_catalog


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(settings):  # type: ignore[no-untyped-def]
    """The API for ``settings`` on a real uvicorn server on 127.0.0.1, in a thread."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(Assistant(settings)), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("server")
    settings = make_settings(tmp / "w")
    ingest_catalog(write_catalog(tmp / "c.json", small_records()), settings)
    return settings


@pytest.fixture(scope="module")
def base_url(indexed):
    with serving(indexed) as url:
        yield url


def test_ask_returns_the_answer_json(base_url):
    response = httpx.post(f"{base_url}/ask", json={"question": "Quel est le statut de ALPHA ?"}, timeout=60)
    assert response.status_code == 200
    body = response.json()
    assert "En production" in body["answer"] and body["mode_used"] == "field"
    assert body["sources"][0]["app_name"] == "ALPHA" and body["abstained"] is False


def test_conversation_id_carries_follow_ups(base_url):
    httpx.post(f"{base_url}/ask", json={"question": "Quel est le statut de ALPHA ?", "conversation_id": "c1"}, timeout=60)
    follow = httpx.post(f"{base_url}/ask", json={"question": "et son contact ?", "conversation_id": "c1"}, timeout=60).json()
    assert "anne.martin@example.gouv.fr" in follow["answer"]


def test_bad_requests_are_rejected_clearly(base_url):
    assert httpx.post(f"{base_url}/ask", json={"question": "x", "mode": "magic"}, timeout=30).status_code == 422
    assert httpx.post(f"{base_url}/ask", json={"question": ""}, timeout=30).status_code == 422
    no_user = httpx.post(f"{base_url}/v1/chat/completions", json={"messages": [{"role": "system", "content": "x"}]}, timeout=30)
    assert no_user.status_code == 422


def test_openai_client_gets_answers_and_streams(base_url):
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(model="dyag-auto", base_url=f"{base_url}/v1", api_key="unused", max_retries=0)
    reply = chat.invoke([("user", "Qui contacter pour ALPHA ?")])
    assert "anne.martin@example.gouv.fr" in reply.content
    pieces = [chunk.content for chunk in chat.stream([("user", "Quel est le statut de BETA ?")])]
    assert "En construction" in "".join(pieces)
    # Earlier user turns resolve the follow-up.
    history = [("user", "Quel est le statut de ALPHA ?"), ("assistant", "En production."), ("user", "et son contact ?")]
    assert "anne.martin" in chat.invoke(history).content


def test_models_and_health(base_url):
    models = httpx.get(f"{base_url}/v1/models", timeout=30).json()
    assert "dyag-auto" in [m["id"] for m in models["data"]]
    assert httpx.get(f"{base_url}/health", timeout=30).json()["applications"] == 3


# --- abuse (issue #15): bounded requests, no echo, no 500, a token off loopback, a prompt shutdown ---

TOKEN = "s3cret-token-for-the-tests"


def test_huge_bodies_are_refused_unread_and_never_echoed(base_url):
    huge = {"messages": [{"role": "user", "content": "x" * 5_000_000}]}
    response = httpx.post(f"{base_url}/v1/chat/completions", json=huge, timeout=60)
    assert response.status_code == 413 and len(response.content) < 200
    # A chunked body (no Content-Length) is cut off as soon as it passes the limit.
    chunks = (b"x" * 65536 for _ in range(80))
    assert httpx.post(f"{base_url}/ask", content=chunks, timeout=60).status_code == 413
    # A body within the limit but invalid: the 422 names the field, without the value.
    invalid = httpx.post(f"{base_url}/v1/chat/completions", json={"messages": "y" * 200_000}, timeout=60)
    assert invalid.status_code == 422 and len(invalid.content) < 500 and "yyyy" not in invalid.text
    assert invalid.json()["detail"][0]["loc"] == ["body", "messages"]
    assert httpx.get(f"{base_url}/health", timeout=30).status_code == 200


def test_a_question_longer_than_the_limit_is_a_413_on_both_routes(base_url):
    question = "Décris ALPHA. " * 8000  # ~110 KB: once a traceback from the model's context, an HTTP 500
    for route, body in (
        ("/ask", {"question": question, "mode": "rag"}),
        ("/v1/chat/completions", {"model": "dyag-rag", "messages": [{"role": "user", "content": question}]}),
        ("/v1/chat/completions", {"model": "dyag-rag", "stream": True, "messages": [{"role": "user", "content": question}]}),
    ):
        response = httpx.post(f"{base_url}{route}", json=body, timeout=60)
        assert response.status_code == 413, (route, response.text[:300])
        assert "max_question_chars" in response.json()["detail"] and "Décris" not in response.text


def test_only_the_last_user_turns_are_replayed_and_messages_are_capped(base_url):
    def chat(messages):  # type: ignore[no-untyped-def]
        return httpx.post(f"{base_url}/v1/chat/completions", json={"messages": messages}, timeout=120)

    opening = [{"role": "user", "content": "Quel est le statut de ALPHA ?"}, {"role": "assistant", "content": "En production."}]
    follow_up = [{"role": "user", "content": "et son contact ?"}]
    filler = [{"role": "user", "content": "merci"}, {"role": "assistant", "content": "De rien."}]
    near = chat(opening + filler * (REPLAYED_TURNS - 1) + follow_up).json()
    assert "anne.martin@example.gouv.fr" in near["choices"][0]["message"]["content"]
    # The application was named before the replayed window: the follow-up no longer resolves to it.
    far = chat(opening + filler * REPLAYED_TURNS + follow_up).json()
    assert "anne.martin" not in far["choices"][0]["message"]["content"]
    too_many = chat(filler * (MAX_MESSAGES // 2) + follow_up)
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["body", "messages"]


def test_conversations_expire_and_are_bounded():
    store = ConversationStore(ttl_s=3600, limit=3)
    first = store.get("a")
    first.last_app_ids = ["1"]
    assert store.get("a") is first
    for name in "bcd":
        store.get(name)
    assert len(store) == 3 and store.get("a") is not first  # the least recently used went first
    expiring = ConversationStore(ttl_s=0.0, limit=10)
    kept = expiring.get("x")
    time.sleep(0.01)
    assert expiring.get("x") is not kept and len(expiring) == 1
    long = ConversationStore()
    conversation = long.get("h")
    conversation.history.extend(("q", "a") for _ in range(500))
    assert len(long.get("h").history) <= 20


def test_the_bearer_token_guards_every_route_but_health(indexed):
    with serving(indexed.model_copy(update={"api_token": SecretStr(TOKEN)})) as url:
        question = {"question": "Quel est le statut de ALPHA ?"}
        assert httpx.post(f"{url}/ask", json=question, timeout=60).status_code == 401
        wrong = httpx.post(f"{url}/ask", json=question, headers={"Authorization": "Bearer nope"}, timeout=60)
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert httpx.get(f"{url}/v1/models", timeout=30).status_code == 401
        good = httpx.post(f"{url}/ask", json=question, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        assert good.status_code == 200 and "En production" in good.json()["answer"]
        assert httpx.get(f"{url}/health", timeout=30).status_code == 200


def test_serving_off_loopback_needs_a_token(indexed):
    from typer.testing import CliRunner

    from cli.main import app

    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--workdir", str(indexed.workdir)], env={"DYAG_API_TOKEN": None})
    assert result.exit_code == 2 and "DYAG_API_TOKEN" in result.output and "127.0.0.1" in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


def test_a_prompt_beyond_the_models_context_is_a_413_not_a_500(indexed):
    """The real Qwen model: a question let through by a raised limit overflows its 4,096 tokens."""
    with serving(indexed.model_copy(update={"max_question_chars": 200_000})) as url:
        question = "Décris ALPHA. " * 1500  # ~6,000 tokens
        for stream in (False, True):
            body = {"model": "dyag-rag", "stream": stream, "messages": [{"role": "user", "content": question}]}
            response = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=300)
            assert response.status_code == 413 and "context" in response.json()["detail"], response.text[:300]
        assert httpx.get(f"{url}/health", timeout=30).status_code == 200


def test_sigterm_stops_the_server_while_answers_queue_for_the_model(indexed, tmp_path):
    """`dyag serve` as a process: SIGTERM while 24 generated answers are asked of the one model.

    Once it waited for every one of them (minutes). Now those beyond the model's line get a 503 at
    once, and at SIGTERM the answer being generated stops at its next token and the ones in line
    get a 503: no request is left hanging, and no traceback.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_file = (tmp_path / "serve.log").open("w+")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DYAG_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workdir", str(indexed.workdir)],
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.3)
        body = {"model": "dyag-rag", "messages": [{"role": "user", "content": "Décris ALPHA et son usage en détail."}]}
        # The model is loaded by the first answer: then the queue forms behind it.
        assert httpx.post(f"{url}/v1/chat/completions", json=body, timeout=300).status_code == 200

        def post(_: int) -> int:
            try:
                return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=600).status_code
            except httpx.HTTPError:
                return -1  # the connection closed by the shutdown

        with ThreadPoolExecutor(24) as pool:
            answers = pool.map(post, range(24))
            time.sleep(3)
            stopping = time.monotonic()
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=300)
            stopped_in = time.monotonic() - stopping
            codes = list(answers)
    finally:
        if server.poll() is None:
            server.kill()
        log_file.seek(0)
        output = log_file.read()
        log_file.close()
    assert stopped_in < SHUTDOWN_GRACE_S + 30, (stopped_in, codes)
    assert codes.count(200) < 24 and all(code in (200, 503, -1) for code in codes), codes
    assert "Traceback" not in output, output[-3000:]
