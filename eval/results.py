"""``results.jsonl``: one typed line per (question, mode), written and read here only.

Lines are appended and fsync'ed one by one (:class:`ResultsFile`), so a crash or Ctrl-C loses at
most the answer being written, and a resumed evaluation recognises what is done by
``(set, id, mode)``. :class:`ResultRow` is the line's schema: the runner writes it, the summary,
the report and the dashboard read it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import DyagError

log = logging.getLogger(__name__)

RESULTS = "results.jsonl"
META = "meta.json"
RETRIEVAL = "retrieval.json"
SUMMARY = "summary.json"


class NoResultsError(DyagError, FileNotFoundError):
    """An evaluation folder without results: the message names the command that writes them."""


class SourceRef(BaseModel):
    model_config = ConfigDict(extra="allow")

    app_id: str
    app_name: str
    section: str


class ResultRow(BaseModel):
    """One answer to one question in one mode, and its scores (:mod:`eval.metrics`)."""

    model_config = ConfigDict(extra="allow")

    id: str
    set: str = "questions"
    question: str
    conversation: list[str] = Field(default_factory=list)
    mode: str
    mode_used: str = ""
    answer: str = ""
    expected: str = ""
    category: str = "uncategorised"
    kind: str | None = None
    difficulty: str | None = None
    app_id: str | None = None
    app_name: str | None = None
    expect_refusal: bool = False
    latency_ms: float = 0.0
    generated_tokens: int = 0
    sources: list[SourceRef] = Field(default_factory=list)
    abstained: bool = False
    scores: dict[str, float | int | None] = Field(default_factory=dict)
    error: str | None = None


def result_key(row: dict[str, Any]) -> tuple[str, str, str]:
    return (str(row.get("set", "")), str(row["id"]), str(row["mode"]))


def read_results(path: Path) -> list[dict[str, Any]]:
    """The complete result lines of ``results.jsonl``, each validated as a :class:`ResultRow`.

    Returned as plain dicts with every key present (defaults filled in for files written by older
    versions or by hand). A line cut by an interruption, or one that is not a result, is skipped
    with a warning: one bad line never makes the whole evaluation unreadable.
    """
    if not path.is_file():
        return []
    rows = []
    with path.open(encoding="utf-8", newline="\n") as handle:
        # Lines are split on "\n" only: a question holding U+2028 or U+0085 stays one line.
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rows.append(ResultRow.model_validate_json(line).model_dump())
            except ValidationError as exc:
                log.warning("Ignoring line %d of %s: %s", number, path, exc.errors()[0]["msg"])
    return rows


class ResultsFile:
    """``results.jsonl`` opened for appending: each line is flushed and fsync'ed before the next answer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        self.done = {result_key(r) for r in read_results(path)}
        self._handle = path.open("a", encoding="utf-8")

    def _repair(self) -> None:
        """Cut a trailing partial line, so that the next append starts on a fresh line."""
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data[: data.rfind(b"\n") + 1]
            log.warning("Dropping an incomplete last line of %s (the run was interrupted while writing it).", self.path)
            with self.path.open("r+b") as handle:
                handle.truncate(len(keep))

    def append(self, row: ResultRow) -> None:
        self._handle.write(row.model_dump_json() + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.done.add(result_key(row.model_dump()))

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "ResultsFile":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
