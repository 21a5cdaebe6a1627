"""Staff feedback on answers: one JSON line per rating in ``<workdir>/feedback.jsonl``.

Rows use the evaluation question format (``id, question, expected_answer, category, app_id,
conversation``) plus what was answered, so the file can be loaded as a question set: a thumbs-up
makes the answer the expected one; a thumbs-down carries the correction when the reviewer gave
one (without one it has no ``expected_answer``: ``eval.questions.load_questions(path,
skip_invalid=True)`` keeps the rows that can be scored).
The file is append-only — rows are never rewritten, so concurrent sessions cannot lose each other's.
Lines end at ``\n`` only: U+2028, U+2029 and U+0085 are written escaped, and a line that cannot be
read (cut short by a crash) is skipped with a warning, never the whole file.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal
from uuid import uuid4

from pydantic import BaseModel, Field

from assistant.answering import Answer

log = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.jsonl"
# Valid inside JSON strings, but line breaks to str.splitlines() and to many JSONL readers.
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}
# One lock per process: Streamlit serves every browser session from threads of the same process.
_WRITE_LOCK = threading.Lock()


class FeedbackSource(BaseModel):
    app_id: str
    app_name: str
    section: str


class FeedbackRow(BaseModel):
    id: str = Field(default_factory=lambda: f"feedback-{uuid4().hex[:12]}")
    question: str
    expected_answer: str | None = Field(None, description="The answer if rated up, else the reviewer's correction, if any.")
    category: str = "feedback"
    app_id: str | None = Field(None, description="First application the answer is about (eval question format).")
    conversation: list[str] = Field(default_factory=list, description="Earlier questions, which a follow-up refers to.")
    answer: str
    mode: str
    mode_used: str
    rating: Literal["up", "down"]
    comment: str = ""
    sources: list[FeedbackSource] = Field(default_factory=list)
    latency_ms: float = 0.0
    timestamp: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @classmethod
    def from_answer(
        cls, answer: Answer, rating: Literal["up", "down"], comment: str = "", correction: str = "", conversation: list[str] | None = None
    ) -> FeedbackRow:
        expected = answer.answer if rating == "up" else (correction.strip() or None)
        return cls(
            question=answer.question,
            expected_answer=expected,
            app_id=answer.linked_apps[0] if answer.linked_apps else None,
            conversation=list(conversation or []),
            answer=answer.answer,
            mode=answer.mode,
            mode_used=answer.mode_used,
            rating=rating,
            comment=comment.strip(),
            sources=[FeedbackSource(app_id=s.app_id, app_name=s.app_name, section=s.section) for s in answer.sources],
            latency_ms=answer.latency_ms,
        )


def feedback_path(workdir: Path) -> Path:
    return workdir / FEEDBACK_FILE


def save_feedback(workdir: Path, row: FeedbackRow) -> Path:
    path = feedback_path(workdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = row.model_dump_json()
    for char, escaped in _LINE_BREAKS.items():
        line = line.replace(char, escaped)
    with _WRITE_LOCK, path.open("a+b") as handle:
        # After a line cut short (a crash mid-write), start a new line rather than extend the broken one.
        handle.seek(0, 2)
        if handle.tell():
            handle.seek(-1, 2)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
        handle.write(line.encode("utf-8") + b"\n")
    return path


def load_feedback(workdir: Path) -> list[FeedbackRow]:
    """Every readable row; unreadable lines are skipped with a warning that gives their numbers."""
    path = feedback_path(workdir)
    if not path.is_file():
        return []
    rows, bad = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").split("\n"), 1):
        if line.strip():
            try:
                rows.append(FeedbackRow.model_validate_json(line))
            except ValueError:
                bad.append(number)
    if bad:
        log.warning("%s: skipped %d unreadable line(s): %s", path, len(bad), ", ".join(map(str, bad[:20])))
    return rows
