"""What every chat model of Dyag shares: message conversion, stop sequences, token counts, errors.

The in-process models (:mod:`assistant.llamacpp_chat`, :mod:`assistant.transformers_chat`) and
the factory (:mod:`assistant.backends`) import these; nothing here imports them back.
"""

from __future__ import annotations

from typing import Callable, Sequence

from langchain_core.messages import BaseMessage

from core.errors import DyagError


class BackendError(DyagError, RuntimeError):
    """A generator cannot be loaded or reached; the message says which command to run or what to set."""


class PromptTooLongError(BackendError):
    """The prompt does not fit the model's context: the request is too big, not the generator broken."""


class GeneratorBusyError(BackendError):
    """Too many answers already wait for this generator: try again shortly."""


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


# Private-use characters: never in catalog data, and kept as they are by every Jinja template.
_SLOT = "\ue000DYAG{}\ue001"


def prompt_segments(render: Callable[[list[dict[str, str]]], str], messages: list[dict[str, str]]) -> list[tuple[str, bool, str | None]]:
    """The rendered prompt cut into ``(text, is_markup, role)`` pieces.

    Only the template's own text (``<|im_start|>user\\n``, ``<start_of_turn>``, ``<bos>``…) is
    markup and may become special tokens; message contents are data and must be tokenized as
    plain text — otherwise a catalog record holding ``<end_of_turn>`` ends the turn for real.
    The cut is found by rendering the template with placeholders in place of the contents; if the
    template transforms contents (so the placeholders do not map back), the whole prompt is one
    markup piece and the caller relies on :func:`core.prompts.neutralize_markup` alone.
    """
    full = render(messages)
    templated = render([{**m, "content": _SLOT.format(i)} for i, m in enumerate(messages)])
    pieces: list[tuple[str, bool, str | None]] = []
    rest = templated
    for i, message in enumerate(messages):
        slot = _SLOT.format(i)
        if rest.count(slot) != 1:
            return [(full, True, None)]
        before, rest = rest.split(slot, 1)
        pieces += [(before, True, None), (message["content"], False, message["role"])]
    pieces.append((rest, True, None))
    if "".join(text for text, _, _ in pieces) != full:
        return [(full, True, None)]
    return [piece for piece in pieces if piece[0]]
