"""``dyag serve``: the HTTP API, bound to 127.0.0.1 by default.

- ``POST /ask`` — ``{"question": "...", "mode": "auto", "conversation_id": "optional"}`` → the same
  JSON as ``dyag ask --json``.
- ``POST /v1/chat/completions`` — OpenAI-compatible (``stream`` supported): the last user message
  is the question, earlier user turns give follow-ups their application; ``model`` may name a
  mode (``dyag-auto``, ``dyag-rag``…). Any OpenAI client or LangChain ``ChatOpenAI`` can talk to it.
- ``GET /v1/models``, ``GET /health``.

What one request may cost is bounded, since anyone who reaches the port can send one: bodies of
at most :data:`MAX_BODY_BYTES`, questions of at most ``max_question_chars``, the last
:data:`REPLAYED_TURNS` earlier user turns replayed, conversations that expire. With
``api_token`` set, every route but ``/health`` needs ``Authorization: Bearer <token>``. Errors
are JSON (``{"detail": …}``) and never echo the request: a :class:`~core.errors.DyagError` is a
413 (too long), a 503 (no generator, or too many answers already waiting for it) or a 422, never
a 500.
"""

from __future__ import annotations

import hmac
import itertools
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any, Iterator

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from assistant.answering import Answer, Assistant, Conversation
from assistant.chat_common import BackendError, GeneratorBusyError, PromptTooLongError
from assistant.limits import QuestionTooLongError, checked_question
from core.choices import MODE_NAMES
from core.errors import DyagError

log = logging.getLogger(__name__)

# 2,000-character questions and their answers fit many times over; a 5 MB body is refused unread.
MAX_BODY_BYTES = 256 * 1024
MAX_MESSAGES = 200
# Follow-ups need the application discussed last: a few earlier user turns resolve it, and
# replaying all of them made a 200-turn request cost 17 s of CPU.
REPLAYED_TURNS = 6
CONVERSATION_TTL_S = 3600.0
MAX_CONVERSATIONS = 1000
# Question/answer pairs a /ask conversation keeps (answering appends one per question).
HISTORY_KEPT = 20


class AskRequest(BaseModel):
    question: str = Field(min_length=1)
    mode: str = Field("auto", max_length=32)
    conversation_id: str | None = Field(None, max_length=128)


class ChatMessage(BaseModel):
    role: str = Field(max_length=32)
    content: str


class ChatRequest(BaseModel):
    model: str = Field("dyag-auto", max_length=128)
    messages: list[ChatMessage] = Field(max_length=MAX_MESSAGES)
    stream: bool = False
    temperature: float | None = None
    max_tokens: int | None = None


def _mode_from_model(model: str) -> str:
    mode = model.removeprefix("dyag-").removeprefix("dyag")
    return mode if mode in MODE_NAMES else "auto"


class ConversationStore:
    """The ``/ask`` conversations by id: an idle one expires after ``ttl_s``, the least recent goes beyond ``limit``."""

    def __init__(self, ttl_s: float = CONVERSATION_TTL_S, limit: int = MAX_CONVERSATIONS) -> None:
        self.ttl_s, self.limit = ttl_s, limit
        self._items: OrderedDict[str, tuple[float, Conversation]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, conversation_id: str) -> Conversation:
        now = time.monotonic()
        with self._lock:
            seen, conversation = self._items.pop(conversation_id, (now, Conversation()))
            if now - seen > self.ttl_s:
                conversation = Conversation()
            # Least recently used first: drop the expired ones, and the oldest while over the limit.
            while self._items:
                oldest_id, (oldest_seen, _) = next(iter(self._items.items()))
                if now - oldest_seen <= self.ttl_s and len(self._items) < self.limit:
                    break
                del self._items[oldest_id]
            del conversation.history[:-HISTORY_KEPT]
            self._items[conversation_id] = (now, conversation)
            return conversation


def _status_of(exc: DyagError) -> int:
    if isinstance(exc, (QuestionTooLongError, PromptTooLongError)):
        return 413
    return 503 if isinstance(exc, BackendError) else 422


def create_app(assistant: Assistant) -> FastAPI:
    settings = assistant.settings
    # max_body_size: a longer body gets a 413, refused by its Content-Length before it is read, or as
    # soon as a chunked body passes it.
    app = FastAPI(title="Dyag", description="Answers about the application catalog, with sources.", max_body_size=MAX_BODY_BYTES)
    conversations = ConversationStore()
    bearer = HTTPBearer(auto_error=False)
    token = settings.api_token.get_secret_value().encode() if settings.api_token else None

    def authorised(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if token is None:
            return
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, token):
            raise HTTPException(401, "Missing or wrong bearer token (Authorization: Bearer <api_token>).", {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each invalid value ("input"): a 5 MB field came back whole.
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(DyagError)
    async def user_error(request: Request, exc: DyagError) -> JSONResponse:
        log.info("%s %s: %s", request.method, request.url.path, exc)
        retry = {"Retry-After": "5"} if isinstance(exc, GeneratorBusyError) else None
        return JSONResponse({"detail": str(exc)}, status_code=_status_of(exc), headers=retry)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "applications": len(assistant.records), "finetuned": assistant.has_finetuned}

    @app.post("/ask", response_model=Answer, dependencies=[Depends(authorised)])
    def ask(request: AskRequest) -> Answer:
        if request.mode not in MODE_NAMES:
            raise HTTPException(422, f"Unknown mode; choose one of {', '.join(MODE_NAMES)}.")
        question = checked_question(request.question, settings)
        conversation = conversations.get(request.conversation_id) if request.conversation_id else None
        return assistant.ask(question, request.mode, conversation)

    @app.get("/v1/models", dependencies=[Depends(authorised)])
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": f"dyag-{m}", "object": "model", "owned_by": "dyag"} for m in MODE_NAMES]}

    @app.post("/v1/chat/completions", response_model=None, dependencies=[Depends(authorised)])
    def chat_completions(request: ChatRequest) -> Any:
        user_turns = [m.content for m in request.messages if m.role == "user"]
        if not user_turns:
            raise HTTPException(422, "The conversation has no user message.")
        question = checked_question(user_turns[-1], settings)
        mode = _mode_from_model(request.model)
        conversation = Conversation()
        for earlier in user_turns[:-1][-REPLAYED_TURNS:]:
            if len(earlier) <= settings.max_question_chars:  # only names an application; a long one is skipped
                plan = assistant.plan(checked_question(earlier, settings), "auto", conversation)
                conversation.last_app_ids = plan.app_ids or conversation.last_app_ids
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if not request.stream:
            answer = assistant.ask(question, mode, conversation)
            return {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": request.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": answer.generated_tokens, "total_tokens": answer.generated_tokens},
                "dyag": answer.model_dump(),
            }

        answering = assistant.stream(question, mode, conversation)
        # Routing, retrieval and the prompt's size check run before the first event: their errors
        # become HTTP errors here, before the 200 of the stream is sent.
        first = next(answering)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            body = {
                "id": completion_id, "object": "chat.completion.chunk", "created": created, "model": request.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

        def events() -> Iterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            shown = ""
            try:
                for event in itertools.chain((first,), answering):
                    if isinstance(event, str):
                        shown += event
                        yield chunk({"content": event})
                    elif event.answer.strip() != shown.strip():
                        # A generated answer the guards rejected: deltas cannot be taken back, so the
                        # refusal follows what was streamed (the non-streamed reply holds it alone).
                        yield chunk({"content": ("\n\n" if shown else "") + event.answer})
            except DyagError as exc:
                # The 200 is sent: the error travels as an event, as OpenAI-compatible servers do.
                log.info("Stream stopped: %s", exc)
                yield f"data: {json.dumps({'error': {'message': str(exc), 'code': _status_of(exc)}}, ensure_ascii=False)}\n\n"
            finally:
                answering.close()
            yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app

