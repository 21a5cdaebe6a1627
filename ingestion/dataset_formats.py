"""Question/answer dataset formats: one normalised row model, readers and writers.

Four on-disk formats are read (and written) as JSON Lines, one example per line:

- ``messages``: OpenAI chat ``{"messages": [system, user, assistant], "meta": {...}}``; the user
  turn is :func:`core.prompts.user_content` (bare question, or context then question);
- ``prompt_completion``: ``{"prompt": ..., "completion": ...}``, either strings or TRL's
  conversational form (``prompt`` = system+user messages, ``completion`` = the assistant message);
- ``alpaca``: ``{"instruction", "input", "output"}`` (+ optional ``system``);
- ``eval``: ``{"question", "expected_answer", "category", "app_name", ...}`` (question sets).

:func:`read_dataset` detects the format from the first example and returns :class:`QARow`
objects whatever the source, so the analysis, the fine-tuning and the evaluation read datasets
written by any tool the same way. A JSON file holding a list of such objects is accepted too.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterable, Literal

from pydantic import BaseModel, Field

from core.errors import DyagError
from core.prompts import REFUSAL, SYSTEM_PROMPT, build_messages, format_facts, parse_user_content, split_facts

log = logging.getLogger(__name__)

DatasetFormat = Literal["messages", "prompt_completion", "alpaca", "eval"]
FORMATS: tuple[str, ...] = ("messages", "prompt_completion", "alpaca", "eval")
ROLES = ("system", "user", "assistant")
MAX_LISTED_ERRORS = 10
# Categories whose questions must be refused: an eval row of one needs no expected answer.
REFUSAL_CATEGORIES = ("out_of_catalog", "off_topic", "injection")



class DatasetError(DyagError, ValueError):
    """A dataset problem a user can fix: names the file, the line (or list item) and the reason."""

    def __init__(self, reason: str, *, line: int | None = None, path: Path | str | None = None, errors: list[DatasetError] | None = None) -> None:
        self.reason, self.line, self.path = reason, line, path
        self.errors = errors or []
        where = ", ".join(p for p in (str(path) if path else "", f"line {line}" if line else "") if p)
        super().__init__(f"{where}: {reason}" if where else reason)


class QARow(BaseModel):
    """One example, normalised: what every reader returns and every writer takes."""

    question: str
    expected_answer: str
    id: str | None = None
    category: str | None = None
    difficulty: str | None = None
    app_name: str | None = None
    app_id: str | None = None
    context: list[str] | None = Field(None, description="Catalog facts blocks given with the question; None for closed-book.")
    split: str | None = None
    flavour: str | None = Field(None, description="'closed_book' or 'context'.")
    template_id: str | None = None
    facts: list[str] = Field(default_factory=list, description="Verbatim strings the answer must contain.")
    messages: list[dict[str, str]] | None = None
    system: str | None = None
    source_format: str | None = None
    line: int | None = None

    @property
    def is_refusal(self) -> bool:
        return is_refusal(self.expected_answer)

    def chat_messages(self) -> list[dict[str, str]]:
        """The chat messages of this row, built from the shared prompt contract when the source had none."""
        return self.messages or build_messages(self.question, self.context, self.expected_answer)

    def meta(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "app_id": self.app_id,
            "app_name": self.app_name,
            "split": self.split,
            "flavour": self.flavour or ("context" if self.context is not None else "closed_book"),
            "template_id": self.template_id,
            "facts": self.facts,
            "difficulty": self.difficulty,
        }


def is_refusal(answer: str) -> bool:
    """The shared refusal, or the refusal for an application the catalog does not hold."""
    text = answer.strip()
    return text == REFUSAL or text.startswith("Je ne trouve pas l'application ")


# ---------------------------------------------------------------- reading


def detect_format(obj: dict[str, Any]) -> str | None:
    if "messages" in obj:
        return "messages"
    if "prompt" in obj and "completion" in obj:
        return "prompt_completion"
    if "instruction" in obj and "output" in obj:
        return "alpaca"
    if "question" in obj and ("expected_answer" in obj or "expect_refusal" in obj or obj.get("category") in REFUSAL_CATEGORIES):
        return "eval"
    return None


def _text(obj: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise DatasetError(f"'{key}' is missing or empty")
        return None
    if not isinstance(value, str):
        raise DatasetError(f"'{key}' must be text, found {type(value).__name__}")
    return value


def _check_messages(messages: Any, where: str = "messages") -> list[dict[str, str]]:
    """Validate a chat: optional system first, then user/assistant turns ending with a non-empty answer."""
    if not isinstance(messages, list) or not messages:
        raise DatasetError(f"'{where}' must be a non-empty list of {{role, content}} objects")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or "role" not in msg or "content" not in msg:
            raise DatasetError(f"{where}[{i}] must be an object with 'role' and 'content'")
        if msg["role"] not in ROLES:
            raise DatasetError(f"{where}[{i}] has the wrong role {msg['role']!r}; expected one of {', '.join(ROLES)}")
        if not isinstance(msg["content"], str):
            raise DatasetError(f"{where}[{i}].content must be text, found {type(msg['content']).__name__}")
        if msg["role"] == "system" and i != 0:
            raise DatasetError(f"{where}[{i}]: a system message is only allowed first")
    turns = [m for m in messages if m["role"] != "system"]
    for i, msg in enumerate(turns):
        expected = "user" if i % 2 == 0 else "assistant"
        if msg["role"] != expected:
            raise DatasetError(f"{where}: wrong role order, turn {i + 1} is {msg['role']!r} where {expected!r} was expected (user and assistant must alternate)")
    return messages


def _from_meta(meta: Any) -> dict[str, Any]:
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise DatasetError("'meta' must be an object")
    keys = ("id", "category", "difficulty", "app_name", "app_id", "split", "flavour", "template_id")
    out = {k: (str(meta[k]) if meta.get(k) is not None else None) for k in keys}
    facts = meta.get("facts") or meta.get("expected_facts") or []
    out["facts"] = [str(f) for f in facts] if isinstance(facts, list) else [str(facts)]
    return out


def _row_from_chat(messages: list[dict[str, str]], meta: dict[str, Any], fmt: str) -> QARow:
    users = [m for m in messages if m["role"] == "user"]
    answers = [m for m in messages if m["role"] == "assistant"]
    if not users or not answers or messages[-1]["role"] != "assistant":
        raise DatasetError("the conversation must end with an assistant answer after a user question")
    answer = answers[-1]["content"]
    if not answer.strip():
        raise DatasetError("empty answer (the last assistant message has no content)")
    question, context = parse_user_content(users[-1]["content"])
    if not question:
        raise DatasetError("empty question (the last user message has no content)")
    system = messages[0]["content"] if messages[0]["role"] == "system" else None
    return QARow(question=question, expected_answer=answer, context=context, messages=messages, system=system, source_format=fmt, **meta)


def _parse_messages(obj: dict[str, Any]) -> QARow:
    return _row_from_chat(_check_messages(obj["messages"]), _from_meta(obj.get("meta")), "messages")


def _parse_prompt_completion(obj: dict[str, Any]) -> QARow:
    meta = _from_meta(obj.get("meta"))
    prompt, completion = obj["prompt"], obj["completion"]
    if isinstance(prompt, list) or isinstance(completion, list):
        if not (isinstance(prompt, list) and isinstance(completion, list)):
            raise DatasetError("'prompt' and 'completion' must both be text or both be lists of messages")
        return _row_from_chat(_check_messages(prompt + completion, "prompt+completion"), meta, "prompt_completion")
    prompt_text = _text(obj, "prompt")
    answer = _text(obj, "completion")
    assert prompt_text is not None and answer is not None
    question, context = parse_user_content(prompt_text.strip())
    return QARow(question=question, expected_answer=answer.strip(), context=context, source_format="prompt_completion", **meta)


def _parse_alpaca(obj: dict[str, Any]) -> QARow:
    meta = _from_meta(obj.get("meta"))
    question = _text(obj, "instruction")
    answer = _text(obj, "output")
    extra = _text(obj, "input", required=False)
    assert question is not None and answer is not None
    context = None
    if extra:
        context = split_facts(extra)
    return QARow(question=question.strip(), expected_answer=answer.strip(), context=context, system=_text(obj, "system", required=False), source_format="alpaca", **meta)


def _parse_eval(obj: dict[str, Any]) -> QARow:
    question = _text(obj, "question")
    refusal = obj.get("expect_refusal") is True or obj.get("category") in REFUSAL_CATEGORIES
    # A question to refuse may come without its refusal sentence: the shared refusal is the answer.
    answer = _text(obj, "expected_answer", required=not refusal) or (REFUSAL if refusal else None)
    assert question is not None and answer is not None
    fields = {k: (str(obj[k]) if obj.get(k) is not None else None) for k in ("id", "category", "difficulty", "app_name", "app_id", "split")}
    facts = obj.get("expected_facts") or []
    if not isinstance(facts, list):
        raise DatasetError("'expected_facts' must be a list of strings")
    context = obj.get("context")
    if context is not None and not (isinstance(context, list) and all(isinstance(c, str) for c in context)):
        raise DatasetError("'context' must be a list of strings")
    return QARow(question=question.strip(), expected_answer=answer.strip(), facts=[str(f) for f in facts], context=context, source_format="eval", **fields)


_PARSERS = {"messages": _parse_messages, "prompt_completion": _parse_prompt_completion, "alpaca": _parse_alpaca, "eval": _parse_eval}


def _records(path: Path) -> Iterable[tuple[int, Any, str | None]]:
    """(line or item number, parsed object, JSON error) for each non-blank line, or each item of a JSON list."""
    text = path.read_text(encoding="utf-8-sig")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}", path=path) from None
        for i, item in enumerate(items, 1):
            yield i, item, None
        return
    # JSONL lines end at "\n" only: splitlines() would also cut at U+2028 or U+0085 inside a string.
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue  # blank lines carry no example
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"not valid JSON (column {exc.colno}): {exc.msg}"


def read_dataset(path: Path | str, skip_invalid: bool = False, fmt: str | None = None) -> tuple[list[QARow], list[DatasetError]]:
    """Read a dataset in any of the four formats into :class:`QARow` objects.

    The format is detected from the first valid example unless ``fmt`` is given; every other
    example must be in the same format. Each invalid line becomes a :class:`DatasetError` with
    its line number (the item number for a JSON list). Without ``skip_invalid`` any invalid line
    raises one :class:`DatasetError` that lists them all (``.errors``); with it, the valid rows
    are returned along with the errors, so the caller can count and report them.
    A file with no valid example, or in an unknown format, always raises.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError("file not found" if not path.exists() else "not a file", path=path)
    rows: list[QARow] = []
    errors: list[DatasetError] = []
    for number, obj, json_error in _records(path):
        try:
            if json_error:
                raise DatasetError(json_error)
            if not isinstance(obj, dict):
                raise DatasetError(f"expected a JSON object, found {type(obj).__name__}")
            found = detect_format(obj)
            if found is None:
                raise DatasetError(
                    f"unknown format (keys: {', '.join(sorted(obj)) or 'none'}); expected 'messages', "
                    "'prompt'+'completion', 'instruction'+'output' (Alpaca) or 'question'+'expected_answer'"
                )
            if fmt is None:
                fmt = found
            elif found != fmt:
                raise DatasetError(f"this example is in the {found} format but the dataset is in the {fmt} format")
            row = _PARSERS[fmt](obj)
            row.line = number
            rows.append(row)
        except DatasetError as exc:
            errors.append(DatasetError(exc.reason, line=number, path=path))
    if errors and (not skip_invalid or not rows):
        listed = "; ".join(f"line {e.line}: {e.reason}" for e in errors[:MAX_LISTED_ERRORS])
        more = f" (and {len(errors) - MAX_LISTED_ERRORS} more)" if len(errors) > MAX_LISTED_ERRORS else ""
        hint = "" if not rows else " Fix them or pass --skip-invalid to analyse the valid lines."
        raise DatasetError(f"{len(errors)} invalid example(s): {listed}{more}.{hint}", path=path, errors=errors)
    if not rows:
        raise DatasetError("the dataset holds no example", path=path)
    for error in errors:
        log.warning("Skipped %s", error)
    log.info("Read %d %s examples from %s (%d skipped)", len(rows), fmt, path, len(errors))
    return rows, errors


# ---------------------------------------------------------------- writing


def to_messages(row: QARow) -> dict[str, Any]:
    return {"messages": row.chat_messages(), "meta": row.meta()}


def to_prompt_completion(row: QARow) -> dict[str, Any]:
    """TRL's conversational prompt/completion: the trainer applies the model's chat template and
    computes the loss on the completion only, with the same system prompt as inference."""
    messages = row.chat_messages()
    return {"prompt": messages[:-1], "completion": messages[-1:], "meta": row.meta()}


def to_alpaca(row: QARow) -> dict[str, Any]:
    return {
        "instruction": row.question,
        "input": format_facts(row.context) if row.context is not None else "",
        "output": row.expected_answer,
        "system": row.system or SYSTEM_PROMPT,
        "meta": row.meta(),
    }


def to_eval(row: QARow) -> dict[str, Any]:
    return {
        "id": row.id,
        "question": row.question,
        "expected_answer": row.expected_answer,
        "category": row.category,
        "difficulty": row.difficulty,
        "app_name": row.app_name,
        "app_id": row.app_id,
        "expected_facts": row.facts,
    }


WRITERS = {"messages": to_messages, "prompt_completion": to_prompt_completion, "alpaca": to_alpaca, "eval": to_eval}


def write_dataset(rows: Iterable[QARow], path: Path | str, fmt: str = "messages") -> int:
    """Write rows as JSON Lines in ``fmt``; returns the number written. Writes atomically."""
    if fmt not in WRITERS:
        raise DatasetError(f"unknown output format {fmt!r}; choose from {', '.join(FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(WRITERS[fmt](row), ensure_ascii=False) + "\n")
            count += 1
    tmp.replace(path)
    return count
