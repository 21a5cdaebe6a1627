"""What every chat model of Dyag shares: message conversion, stop sequences, token counts, errors.

The in-process models (:mod:`assistant.llamacpp_chat`, :mod:`assistant.transformers_chat`) and
the factory (:mod:`assistant.backends`) import these; nothing here imports them back.
"""

from __future__ import annotations

from typing import Sequence

from langchain_core.messages import BaseMessage

from core.errors import DyagError


class BackendError(DyagError, RuntimeError):
    """A generator cannot be loaded or reached; the message says which command to run or what to set."""


_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def to_chat_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as the ``{"role", "content"}`` dicts that chat templates (and training data) use.

    Only system, human and AI messages exist in Dyag's prompt contract (:mod:`core.prompts`);
    tool or function messages would be silently mis-rendered by a chat template, so they are refused.
    """
    converted = []
    for message in messages:
        role = _ROLES.get(message.type)
        if role is None:
            raise ValueError(f"{message.type!r} messages are not supported by Dyag's local chat models.")
        converted.append({"role": role, "content": message.text})
    return converted


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the earliest stop sequence, and whether one was found."""
    positions = [text.find(s) for s in stops if s and s in text]
    if not positions:
        return text, False
    return text[: min(positions)], True


def generated_tokens(message: BaseMessage) -> int:
    """How many tokens the model generated for ``message`` (any backend), 0 if unknown.

    Dyag's own models put it in ``response_metadata["generated_tokens"]`` and ``usage_metadata``;
    ChatOllama fills ``eval_count``, ChatOllama and ChatOpenAI ``usage_metadata["output_tokens"]``
    from the server's counters (OpenAI-compatible streams only when the server sends usage).
    """
    meta = getattr(message, "response_metadata", {}) or {}
    usage = getattr(message, "usage_metadata", None) or {}
    return int(meta.get("generated_tokens") or meta.get("eval_count") or usage.get("output_tokens") or 0)
