"""OpenAI fine-tuning files from any Dyag dataset: written, checked and costed offline.

``export_openai`` writes ``train.jsonl`` / ``valid.jsonl`` (one ``{"messages": [...]}`` per line,
nothing else) and then checks the files it wrote the way OpenAI's data-preparation guide does
(the cookbook notebook "Data preparation and analysis for chat model fine-tuning"):

- format: each line an object with a ``messages`` list and no other key; each message a
  ``role`` among system/user/assistant and a string ``content``, no key the API rejects
  (``name`` and ``weight`` are allowed); at least one assistant message per example;
- tokens per example: 3 per message (its framing) + the tokens of its strings + 1 for a
  ``name`` + 3 for the priming of the reply; examples over ``max_tokens`` are listed (the API
  truncates them);
- duplicates: identical conversations within a file and between the two files;
- billed tokens: Σ min(max_tokens, tokens) over the training file, and the number of epochs
  (given, or OpenAI's default rule: 3, raised for small files, lowered for big ones); the
  estimated cost is billed × epochs × the price per million tokens the user gives. Dyag knows no
  price: prices change, the user reads them from their provider.

Token counts use OpenAI's own vocabularies, ``o200k_base`` (gpt-4o, gpt-4.1 and their minis:
the models fine-tuned today) or ``cl100k_base`` (gpt-3.5-turbo, gpt-4), as shipped inside the
``quicktok-v1`` package. tiktoken, OpenAI's tokenizer, downloads its vocabularies at first use,
and neither the project's machines nor CI reach the network; quicktok's files are byte for byte
OpenAI's (their sha256 is the one tiktoken checks) and its ids are tiktoken's, which
``tests/test_openai_export.py`` verifies against tiktoken itself. Nothing is uploaded: the user
runs their own client.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, Field

from core.errors import DyagError
from ingestion.dataset_formats import QARow

ENCODINGS: tuple[str, ...] = ("o200k_base", "cl100k_base")
# The per-example limit of the guide (gpt-3.5-turbo's context); newer models accept more, see --max-tokens.
DEFAULT_MAX_TOKENS = 16_385
TRAIN_FILE, VALID_FILE, REPORT_FILE = "train.jsonl", "valid.jsonl", "openai_report.json"
ROLES = ("system", "user", "assistant")
MESSAGE_KEYS = {"role", "content", "name", "weight"}
# The guide's framing constants: each message costs 3 tokens beyond its text, a name 1 more, and
# every example 3 for the assistant reply's priming.
TOKENS_PER_MESSAGE, TOKENS_PER_NAME, TOKENS_PER_REPLY = 3, 1, 3
# OpenAI's default number of epochs: 3, unless that makes fewer than 100 or more than 25,000 examples seen.
TARGET_EPOCHS, MIN_TARGET_EXAMPLES, MAX_TARGET_EXAMPLES, MIN_DEFAULT_EPOCHS, MAX_DEFAULT_EPOCHS = 3, 100, 25_000, 1, 25


class ExportError(DyagError):
    """The export cannot run, or its files would be rejected by the fine-tuning API."""


class FormatIssue(BaseModel):
    """One example the fine-tuning API would reject, named by file and line."""

    file: str
    line: int
    kind: str = Field(description="data_type, missing_messages_list, example_unrecognized_key, message_missing_key, "
                                  "message_unrecognized_key, unrecognized_role, missing_content or example_missing_assistant_message.")
    detail: str


class FileReport(BaseModel):
    """The checks of one written file."""

    file: str
    examples: int
    tokens: int = Field(description="Tokens of every example, as counted by the guide.")
    billed_tokens: int = Field(description="Σ min(max_tokens, tokens): what one epoch over this file is billed.")
    min_tokens: int
    max_tokens: int
    mean_tokens: float
    assistant_tokens: int = Field(description="Tokens of the assistant messages (what the model learns to write).")
    missing_system: int
    over_limit: list[int] = Field(default_factory=list, description="Lines whose example exceeds the limit (truncated by the API).")
    duplicates: list[list[int]] = Field(default_factory=list, description="Groups of lines holding the same conversation.")


class OpenAIExportReport(BaseModel):
    """What ``dyag export-dataset --format openai`` wrote and found; saved as ``openai_report.json``."""

    source: str
    output: str
    encoding: str
    max_tokens_per_example: int
    train: FileReport
    valid: FileReport | None = None
    held_out: int = Field(0, description="Test-split examples left out: they are for evaluation, never for training.")
    format_issues: list[FormatIssue] = Field(default_factory=list)
    shared_with_valid: int = Field(0, description="Training conversations that also appear in the validation file.")
    epochs: int
    epochs_default: bool = Field(description="True when the epochs follow OpenAI's default rule (no --epochs given).")
    billed_training_tokens: int = Field(description="Billed tokens of the training file × epochs.")
    price_per_million: float | None = None
    estimated_cost: float | None = Field(None, description="billed_training_tokens × price_per_million / 10⁶, in the price's currency.")


class TokenCounter:
    """Token counts of chat examples with one of OpenAI's vocabularies (see the module docstring)."""

    def __init__(self, encoding: str = "o200k_base") -> None:
        if encoding not in ENCODINGS:
            raise ExportError(f"Unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}.")
        try:
            import quicktok
        except ImportError:
            raise ExportError("Token counting needs quicktok-v1: pip install 'dyag[cloud]'.") from None
        self.name = encoding
        self._encoder = quicktok.get_encoding(encoding)

    def text(self, text: str) -> int:
        # Special-token strings in catalog text are counted as the text they are, as the API reads them.
        return int(self._encoder.count(text))

    def messages(self, messages: list[dict[str, Any]]) -> int:
        total = TOKENS_PER_REPLY
        for message in messages:
            total += TOKENS_PER_MESSAGE
            for key, value in message.items():
                if isinstance(value, str):
                    total += self.text(value)
                if key == "name":
                    total += TOKENS_PER_NAME
        return total


def default_epochs(n_examples: int) -> int:
    """OpenAI's default number of epochs for a training file of ``n_examples``."""
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // max(n_examples, 1))
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def format_issues(example: Any, file: str, line: int) -> list[FormatIssue]:
    """Why the fine-tuning API would reject ``example`` (empty: it would accept it)."""

    def issue(kind: str, detail: str) -> FormatIssue:
        return FormatIssue(file=file, line=line, kind=kind, detail=detail)

    if not isinstance(example, dict):
        return [issue("data_type", f"expected a JSON object, found {type(example).__name__}")]
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return [issue("missing_messages_list", "no non-empty 'messages' list")]
    issues = [issue("example_unrecognized_key", f"key {key!r} beside 'messages'") for key in example if key != "messages"]
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            issues.append(issue("data_type", f"messages[{i}] is not an object"))
            continue
        if "role" not in message or "content" not in message:
            issues.append(issue("message_missing_key", f"messages[{i}] lacks 'role' or 'content'"))
        extra = sorted(set(message) - MESSAGE_KEYS)
        if extra:
            issues.append(issue("message_unrecognized_key", f"messages[{i}] has {', '.join(map(repr, extra))}"))
        if message.get("role") not in ROLES:
            issues.append(issue("unrecognized_role", f"messages[{i}] has role {message.get('role')!r}"))
        content = message.get("content")
        if not isinstance(content, str) or not content:
            issues.append(issue("missing_content", f"messages[{i}] has no text content"))
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
        issues.append(issue("example_missing_assistant_message", "no assistant message"))
    return issues


def _conversation_key(messages: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def check_file(path: Path, counter: TokenCounter, max_tokens: int) -> tuple[FileReport, list[FormatIssue], set[str]]:
    """Check one fine-tuning file as the API would read it; also returns its conversations' keys."""
    issues: list[FormatIssue] = []
    counts: list[int] = []
    assistant = missing_system = 0
    over: list[int] = []
    lines_of: dict[str, list[int]] = defaultdict(list)
    # Lines end at "\n" only: splitlines() would also cut at a U+2028 inside a catalog string.
    for number, raw in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not raw:
            continue  # the end of the file
        try:
            example = json.loads(raw)
        except json.JSONDecodeError as exc:
            issues.append(FormatIssue(file=path.name, line=number, kind="data_type", detail=f"not JSON: {exc.msg}"))
            continue
        found = format_issues(example, path.name, number)
        issues.extend(found)
        if found:
            continue
        messages = example["messages"]
        tokens = counter.messages(messages)
        counts.append(tokens)
        assistant += sum(counter.text(m["content"]) for m in messages if m["role"] == "assistant")
        missing_system += not any(m["role"] == "system" for m in messages)
        if tokens > max_tokens:
            over.append(number)
        lines_of[_conversation_key(messages)].append(number)
    report = FileReport(
        file=path.name,
        examples=len(counts),
        tokens=sum(counts),
        billed_tokens=sum(min(max_tokens, n) for n in counts),
        min_tokens=min(counts, default=0),
        max_tokens=max(counts, default=0),
        mean_tokens=round(sum(counts) / len(counts), 1) if counts else 0.0,
        assistant_tokens=assistant,
        missing_system=missing_system,
        over_limit=over,
        duplicates=[lines for lines in lines_of.values() if len(lines) > 1],
    )
    return report, issues, set(lines_of)


def split_rows(rows: list[QARow], valid_share: float | None) -> tuple[list[QARow], list[QARow], int]:
    """(train, valid, held-out test count).

    The rows' own split decides (``test`` rows are never exported); ``valid_share`` instead sends
    that share of the non-test rows to validation, chosen by a hash of the question — the same
    dataset always splits the same way, and every phrasing of one question lands on one side.
    """
    test = [r for r in rows if r.split == "test"]
    kept = [r for r in rows if r.split != "test"]
    if valid_share is None:
        return [r for r in kept if r.split != "valid"], [r for r in kept if r.split == "valid"], len(test)
    if not 0.0 <= valid_share < 1.0:
        raise ExportError(f"--valid-share must be at least 0 and below 1, not {valid_share}.")
    order = sorted(range(len(kept)), key=lambda i: hashlib.sha256(kept[i].question.encode("utf-8")).hexdigest())
    chosen = set(order[: math.floor(valid_share * len(kept))])
    return [r for i, r in enumerate(kept) if i not in chosen], [r for i, r in enumerate(kept) if i in chosen], len(test)


def _write(rows: Iterable[QARow], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({"messages": row.chat_messages()}, ensure_ascii=False) + "\n")
    tmp.replace(path)


def export_openai(
    rows: list[QARow],
    output: Path,
    *,
    source: str = "",
    encoding: str = "o200k_base",
    max_tokens: int = DEFAULT_MAX_TOKENS,
    valid_share: float | None = None,
    epochs: int | None = None,
    price_per_million: float | None = None,
) -> OpenAIExportReport:
    """Write ``output/train.jsonl`` (and ``valid.jsonl`` when there are validation rows), check them, cost them.

    The report is also written to ``output/openai_report.json``. Format issues do not stop the
    export: they are in the report, for the caller to show and refuse.
    """
    counter = TokenCounter(encoding)
    train_rows, valid_rows, held_out = split_rows(rows, valid_share)
    if not train_rows:
        raise ExportError(f"{source or 'The dataset'} has no training example once the test (and validation) rows are set aside.")
    output.mkdir(parents=True, exist_ok=True)
    _write(train_rows, output / TRAIN_FILE)
    train, issues, train_keys = check_file(output / TRAIN_FILE, counter, max_tokens)
    valid = None
    shared = 0
    if valid_rows:
        _write(valid_rows, output / VALID_FILE)
        valid, valid_issues, valid_keys = check_file(output / VALID_FILE, counter, max_tokens)
        issues += valid_issues
        shared = len(train_keys & valid_keys)
    else:
        # A validation file from an earlier export would otherwise be uploaded with this training file.
        (output / VALID_FILE).unlink(missing_ok=True)
    chosen_epochs = epochs if epochs is not None else default_epochs(train.examples)
    billed = train.billed_tokens * chosen_epochs
    report = OpenAIExportReport(
        source=source,
        output=str(output),
        encoding=counter.name,
        max_tokens_per_example=max_tokens,
        train=train,
        valid=valid,
        held_out=held_out,
        format_issues=issues,
        shared_with_valid=shared,
        epochs=chosen_epochs,
        epochs_default=epochs is None,
        billed_training_tokens=billed,
        price_per_million=price_per_million,
        estimated_cost=round(billed * price_per_million / 1_000_000, 4) if price_per_million is not None else None,
    )
    (output / REPORT_FILE).write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return report
