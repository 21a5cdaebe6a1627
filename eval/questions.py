"""Question sets for the evaluation, in every format Dyag's ecosystem writes.

Reading is :func:`ingestion.dataset_formats.read_dataset` (one parser for the whole product):
``{question, expected_answer, category, difficulty, app_name, app_id[, expected_facts]}`` lines
(the ``test.eval.jsonl`` of ``dyag generate-training`` and hand-written sets), ``{prompt,
completion}`` (strings or TRL's conversational form), chat ``{"messages": [...]}`` (the last user
turn is the question, the last assistant turn the expected answer, earlier user turns the
conversation before it) and Alpaca. This module only turns those rows into :class:`EvalQuestion`.

Two things the row model does not carry are read here:

* ``conversation`` — in the eval format, a list of earlier user questions that a follow-up
  ("et son statut ?") refers to; for chat messages, the earlier user turns;
* a stable ``id`` for rows that have none (hash of the conversation and question), so an
  interrupted evaluation can resume by id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.prompts import parse_user_content
from ingestion.dataset_formats import QARow, read_dataset


@dataclass
class EvalQuestion:
    """One question to ask in every mode, with what a right answer must contain."""

    id: str
    question: str
    expected: str
    category: str = "uncategorised"
    difficulty: str | None = None
    app_id: str | None = None
    app_name: str | None = None
    facts: list[str] = field(default_factory=list)
    conversation: list[str] = field(default_factory=list)
    expect_refusal: bool = False
    kind: str | None = None  # how the question is phrased (natural sets: informal, typo, english…)
    set: str = "questions"


def _stable_id(question: str, conversation: list[str]) -> str:
    digest = hashlib.sha1("\n".join([*conversation, question]).encode("utf-8")).hexdigest()
    return f"q-{digest[:12]}"


def _extra_fields(path: Path) -> dict[int, dict[str, Any]]:
    """Raw objects by line (or item) number, for the keys the row model does not hold."""
    text = path.read_text(encoding="utf-8-sig")
    if text.lstrip().startswith("["):
        return {i: obj for i, obj in enumerate(json.loads(text), 1) if isinstance(obj, dict)}
    extras: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(text.split("\n"), 1):  # as read_dataset numbers them
        if line.strip():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue  # read_dataset already reported it
            if isinstance(obj, dict):
                extras[number] = obj
    return extras


def _conversation(row: QARow, raw: dict[str, Any]) -> list[str]:
    given = raw.get("conversation")
    if isinstance(given, list):
        return [str(turn) for turn in given if str(turn).strip()]
    if row.messages:
        users = [m["content"] for m in row.messages if m["role"] == "user"]
        return [parse_user_content(content)[0] for content in users[:-1]]
    return []


def to_question(row: QARow, raw: dict[str, Any] | None = None, set_name: str = "questions") -> EvalQuestion:
    """An :class:`EvalQuestion` from a dataset row (and its raw JSON object, for ``conversation``)."""
    raw = raw or {}
    conversation = _conversation(row, raw)
    expect_refusal = row.is_refusal
    if isinstance(raw.get("expect_refusal"), bool):
        expect_refusal = raw["expect_refusal"]
    return EvalQuestion(
        id=row.id or _stable_id(row.question, conversation),
        question=row.question,
        expected=row.expected_answer,
        category=row.category or "uncategorised",
        difficulty=row.difficulty,
        app_id=row.app_id,
        app_name=row.app_name,
        facts=list(row.facts),
        conversation=conversation,
        expect_refusal=expect_refusal,
        kind=str(raw["kind"]) if raw.get("kind") else None,
        set=set_name,
    )


def load_questions(path: Path | str, set_name: str | None = None, skip_invalid: bool = False) -> list[EvalQuestion]:
    """Every question of the file, in file order, with unique ids.

    ``set_name`` labels the questions in the results and the report (default: the file name
    without ``.jsonl`` and without the ``.eval`` suffix of generate-training, e.g. ``test``).
    Duplicate ids get a ``#2``, ``#3``… suffix so that resuming never confuses two questions.
    """
    path = Path(path)
    rows, _ = read_dataset(path, skip_invalid=skip_invalid)
    extras = _extra_fields(path)
    name = set_name or path.name.removesuffix(".jsonl").removesuffix(".json").removesuffix(".eval")
    questions: list[EvalQuestion] = []
    seen: dict[str, int] = {}
    for row in rows:
        question = to_question(row, extras.get(row.line or -1), name)
        seen[question.id] = seen.get(question.id, 0) + 1
        if seen[question.id] > 1:
            question.id = f"{question.id}#{seen[question.id]}"
        questions.append(question)
    return questions
