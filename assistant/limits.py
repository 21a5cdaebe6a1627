"""What one question may be: checked at every interface (CLI, HTTP API) before any work.

A question is read by the entity linker, BM25, the embedder and the generator; unbounded, one
request can hold the server for minutes or overflow the model's context. The limit is the
``max_question_chars`` setting, and the message never repeats the question.
"""

from __future__ import annotations

from core.config import Settings
from core.errors import DyagError
from ingestion.text_repair import restore_stray_bytes, strip_control_chars


class QuestionTooLongError(DyagError):
    """The question exceeds ``max_question_chars``; the message gives both lengths and what to do."""


def checked_question(question: str, settings: Settings) -> str:
    """``question`` ready to answer, or :class:`QuestionTooLongError` beyond ``settings.max_question_chars``.

    Control characters are dropped and lone surrogates (a JSON ``"\\ud800"``, or bytes of a
    command-line argument that were not UTF-8) repaired: no tokenizer or index can encode them.
    """
    if len(question) > settings.max_question_chars:
        raise QuestionTooLongError(
            f"The question is {len(question):,} characters long; the limit is {settings.max_question_chars:,} "
            "(max_question_chars). Ask a shorter question."
        )
    return strip_control_chars(restore_stray_bytes(question))
