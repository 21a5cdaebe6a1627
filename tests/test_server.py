"""`dyag serve`'s API on a real uvicorn server on 127.0.0.1, spoken to by real clients."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from assistant.answering import Assistant
from assistant.server import create_app
from ingestion.ingest import ingest_catalog
from tests.conftest import make_settings, small_records, write_catalog


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("server")
    settings = make_settings(tmp / "w")
    ingest_catalog(write_catalog(tmp / "c.json", small_records()), settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Assistant(settings)), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


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
