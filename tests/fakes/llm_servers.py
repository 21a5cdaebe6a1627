"""Fake Ollama and OpenAI-compatible servers on 127.0.0.1, for testing the HTTP backends for real.

They speak the real wire protocols — so the real clients (``ollama``, ``openai``, under LangChain's
``ChatOllama``/``ChatOpenAI``) parse their answers exactly as they would a real server's:

* Ollama: ``GET /api/tags`` (model list, used to validate the model at load), ``POST /api/chat``
  answering NDJSON chunks over chunked transfer encoding when ``stream`` is true (Ollama's default),
  one JSON object otherwise; the final chunk carries ``done_reason`` and the eval counters.
* OpenAI: ``GET /v1/models``, ``POST /v1/chat/completions`` answering one ``chat.completion`` JSON
  or Server-Sent Events (``data: {chat.completion.chunk}`` … ``data: [DONE]``), with a usage chunk
  when the client asks for ``stream_options.include_usage``.

The answer is a fixed list of tokens, cut at ``num_predict`` / ``max_completion_tokens`` like a
real server would. Every request body is recorded in :attr:`FakeServer.requests` so tests can
check what the client sent (model, messages, options).

Usage::

    with FakeOllama(model="dyag-gemma") as server:
        ChatOllama(model="dyag-gemma", base_url=server.url).invoke("Bonjour")
        server.requests[-1]["body"]["options"]["temperature"]
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable

DEFAULT_TOKENS = ("Le ", "statut ", "de ", "ADES ", "est ", ": ", "en ", "production ", "[ADES].")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streaming, as the real servers do
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 — keep test output quiet
        pass

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        self.server.owner.requests.append({"method": self.command, "path": self.path, "body": body})
        return body

    def send_json(self, payload: Any, status: int = 200) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_stream(self, content_type: str, pieces: Iterable[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for piece in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:  # noqa: N802 — http.server's naming
        self._body()
        self.server.owner.handle_get(self)

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        self.server.owner.handle_post(self, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: "FakeServer"


class FakeServer:
    """A threaded HTTP server on a free 127.0.0.1 port; a context manager that starts and stops it."""

    def __init__(self, model: str, tokens: Iterable[str] = DEFAULT_TOKENS) -> None:
        self.model = model
        self.tokens = list(tokens)
        self.requests: list[dict[str, Any]] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def answer(self, limit: int | None) -> tuple[list[str], bool]:
        """The tokens to send and whether the token limit cut them."""
        if limit is not None and 0 < limit < len(self.tokens):
            return self.tokens[:limit], True
        return list(self.tokens), False

    def handle_get(self, handler: _Handler) -> None:
        handler.send_json({"error": f"not found: {handler.path}"}, status=404)

    def handle_post(self, handler: _Handler, body: dict[str, Any]) -> None:
        handler.send_json({"error": f"not found: {handler.path}"}, status=404)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _tagged(name: str) -> str:
    """Ollama's model reference with its implicit tag: ``dyag-gemma`` is ``dyag-gemma:latest``."""
    return name if ":" in name else name + ":latest"


class FakeOllama(FakeServer):
    """Ollama's HTTP API (``/api/tags``, ``/api/chat``), as documented in ollama/docs/api.md."""

    def handle_get(self, handler: _Handler) -> None:
        if handler.path == "/api/tags":
            details = {"format": "gguf", "family": "gemma3", "parameter_size": "268.10M", "quantization_level": "Q4_K_M"}
            entry = {"name": self.model, "model": self.model, "modified_at": _now(), "size": 253_000_000,
                     "digest": "0" * 64, "details": details}
            handler.send_json({"models": [entry]})
        elif handler.path == "/api/version":
            handler.send_json({"version": "0.12.0"})
        else:
            super().handle_get(handler)

    def handle_post(self, handler: _Handler, body: dict[str, Any]) -> None:
        if handler.path != "/api/chat":
            return super().handle_post(handler, body)
        if _tagged(body.get("model", "")) != _tagged(self.model):
            handler.send_json({"error": f"model '{body.get('model')}' not found"}, status=404)
            return
        started = time.perf_counter_ns()
        tokens, cut = self.answer((body.get("options") or {}).get("num_predict"))
        counters = {
            "done_reason": "length" if cut else "stop", "total_duration": 0, "load_duration": 1_000_000,
            "prompt_eval_count": sum(len(m.get("content", "").split()) for m in body.get("messages", [])),
            "prompt_eval_duration": 2_000_000, "eval_count": len(tokens), "eval_duration": 0,
        }

        def finish() -> dict[str, Any]:
            elapsed = time.perf_counter_ns() - started
            return {**counters, "total_duration": elapsed + 3_000_000, "eval_duration": elapsed}

        if body.get("stream", True):  # Ollama streams unless told not to
            def lines() -> Iterable[bytes]:
                for token in tokens:
                    chunk = {"model": self.model, "created_at": _now(),
                             "message": {"role": "assistant", "content": token}, "done": False}
                    yield json.dumps(chunk).encode("utf-8") + b"\n"
                final = {"model": self.model, "created_at": _now(), "message": {"role": "assistant", "content": ""},
                         "done": True, **finish()}
                yield json.dumps(final).encode("utf-8") + b"\n"

            handler.send_stream("application/x-ndjson", lines())
        else:
            handler.send_json({"model": self.model, "created_at": _now(),
                               "message": {"role": "assistant", "content": "".join(tokens)}, "done": True, **finish()})


class FakeOpenAI(FakeServer):
    """The OpenAI chat-completions API under ``/v1`` (what vLLM, llama.cpp's server, LM Studio… expose)."""

    def handle_get(self, handler: _Handler) -> None:
        if handler.path == "/v1/models":
            handler.send_json({"object": "list", "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "dyag-tests"}]})
        else:
            super().handle_get(handler)

    def handle_post(self, handler: _Handler, body: dict[str, Any]) -> None:
        if handler.path != "/v1/chat/completions":
            return super().handle_post(handler, body)
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        tokens, cut = self.answer(limit)
        finish = "length" if cut else "stop"
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(tokens), "total_tokens": prompt_tokens + len(tokens)}
        common = {"id": "chatcmpl-dyag", "created": int(time.time()), "model": self.model}
        if body.get("stream"):
            def events() -> Iterable[bytes]:
                def event(payload: Any) -> bytes:
                    return b"data: " + json.dumps(payload).encode("utf-8") + b"\n\n"

                chunk = {**common, "object": "chat.completion.chunk"}
                yield event({**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
                for token in tokens:
                    yield event({**chunk, "choices": [{"index": 0, "delta": {"content": token}, "finish_reason": None}]})
                yield event({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
                if (body.get("stream_options") or {}).get("include_usage"):
                    yield event({**chunk, "choices": [], "usage": usage})
                yield b"data: [DONE]\n\n"

            handler.send_stream("text/event-stream", events())
        else:
            message = {"role": "assistant", "content": "".join(tokens)}
            handler.send_json({**common, "object": "chat.completion",
                               "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage})
