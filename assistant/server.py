"""``dyag serve``: the HTTP API, bound to 127.0.0.1 by default.

- ``POST /ask`` — ``{"question": "...", "mode": "auto", "conversation_id": "optional"}`` → the same
  JSON as ``dyag ask --json``.
- ``POST /v1/chat/completions`` — OpenAI-compatible (``stream`` supported): the last user message
  is the question, earlier user turns give follow-ups their application; ``model`` may name a
  mode (``dyag-auto``, ``dyag-rag``…). Any OpenAI client or LangChain ``ChatOpenAI`` can talk to it.
- ``GET /v1/models``, ``GET /health``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Iterator

from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from assistant.answering import Answer, Assistant, Conversation
from core.choices import MODE_NAMES


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    mode: str = "auto"
    conversation_id: str | None = None


class ChatMessage(BaseModel):
    role: str
    content: str


class ChatRequest(BaseModel):
    model: str = "dyag-auto"
    messages: list[ChatMessage]
    stream: bool = False
    temperature: float | None = None
    max_tokens: int | None = None


def _mode_from_model(model: str) -> str:
    mode = model.removeprefix("dyag-").removeprefix("dyag")
    return mode if mode in MODE_NAMES else "auto"


def create_app(assistant: Assistant) -> FastAPI:
    app = FastAPI(title="Dyag", description="Answers about the application catalog, with sources.")
    conversations: dict[str, Conversation] = {}

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "applications": len(assistant.records), "finetuned": assistant.has_finetuned}

    @app.post("/ask", response_model=Answer)
    def ask(request: AskRequest) -> Answer:
        if request.mode not in MODE_NAMES:
            raise HTTPException(422, f"Unknown mode {request.mode!r}; choose one of {', '.join(MODE_NAMES)}.")
        conversation = conversations.setdefault(request.conversation_id, Conversation()) if request.conversation_id else None
        return assistant.ask(request.question, request.mode, conversation)

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": f"dyag-{m}", "object": "model", "owned_by": "dyag"} for m in MODE_NAMES]}

    @app.post("/v1/chat/completions", response_model=None)
    def chat_completions(request: ChatRequest) -> Any:
        user_turns = [m.content for m in request.messages if m.role == "user"]
        if not user_turns:
            raise HTTPException(422, "The conversation has no user message.")
        mode = _mode_from_model(request.model)
        conversation = Conversation()
        for earlier in user_turns[:-1]:
            plan = assistant.plan(earlier, "auto", conversation)
            conversation.last_app_ids = plan.app_ids or conversation.last_app_ids
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if not request.stream:
            answer = assistant.ask(user_turns[-1], mode, conversation)
            return {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": request.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": answer.generated_tokens, "total_tokens": answer.generated_tokens},
                "dyag": answer.model_dump(),
            }

        def events() -> Iterator[str]:
            def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
                body = {
                    "id": completion_id, "object": "chat.completion.chunk", "created": created, "model": request.model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

            yield chunk({"role": "assistant", "content": ""})
            shown = ""
            for event in assistant.stream(user_turns[-1], mode, conversation):
                if isinstance(event, str):
                    shown += event
                    yield chunk({"content": event})
                elif event.answer.strip() != shown.strip():
                    # A generated answer the guards rejected: deltas cannot be taken back, so the
                    # refusal follows what was streamed (the non-streamed reply holds it alone).
                    yield chunk({"content": ("\n\n" if shown else "") + event.answer})
            yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app
