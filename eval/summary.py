"""From ``results.jsonl`` to ``summary.json``: every metric per mode, category, difficulty and set.

The numbers are the means and percentiles of :mod:`eval.metrics`; this module only groups. A
summary is a plain dict (JSON) so the report, the recommendation, the UI and other tools read it
without importing Dyag::

    {"dir", "modes", "skipped_modes", "questions": {set: n}, "settings", "cost", "retrieval",
     "by_mode": {mode: STATS}, "by_mode_category": {mode: {category: STATS}},
     "by_mode_difficulty": {...}, "by_mode_set": {...}, "by_mode_kind": {...}, "mode_used": {mode: {route: count}},
     "paired": {"A-B": PAIR}}

STATS = ``n, accuracy, fact_coverage, token_f1, rouge_l, semantic, judge, refusal_accuracy,
refusal_recall, false_refusal_rate, recall_at_k, mrr, latency_p50_ms, latency_p95_ms,
latency_mean_ms, tokens_per_s, errors`` (``None`` where a metric has no defined value).

PAIR compares two modes on the questions both answered (:data:`PAIRS`): ``n``, ``a_only`` and
``b_only`` (questions only A, or only B, got right), ``difference`` = (a_only − b_only) / n, the
accuracy gap, and ``half_width`` of its 95 % interval. Both modes answer the *same* questions,
so the noise is that of the discordant pairs (McNemar), not of two independent samples:

    SE = sqrt(a_only + b_only − (a_only − b_only)² / n) / n,   half_width = 1.96 × SE

With 141 questions and 20 discordant pairs that is ±6 points, where two independent samples at
p = 0.5 would give ±12.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, Field

from eval import metrics
from eval.results import META, RESULTS, RETRIEVAL, SUMMARY, NoResultsError, read_results

_SCORE_MEANS = {
    "accuracy": "correct",
    "fact_coverage": "fact_coverage",
    "token_f1": "token_f1",
    "rouge_l": "rouge_l",
    "semantic": "semantic",
    "judge": "judge",
    "refusal_accuracy": "refusal_ok",
    "recall_at_k": "recall_at_k",
    "mrr": "reciprocal_rank",
}


class Stats(BaseModel):
    """The aggregate metrics of one group of answers (see the module docstring)."""

    model_config = ConfigDict(extra="allow")

    n: int
    accuracy: float | None = None
    fact_coverage: float | None = None
    token_f1: float | None = None
    rouge_l: float | None = None
    semantic: float | None = None
    judge: float | None = None
    refusal_accuracy: float | None = None
    recall_at_k: float | None = None
    mrr: float | None = None
    refusal_recall: float | None = None
    false_refusal_rate: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_mean_ms: float | None = None
    tokens_per_s: float | None = None
    errors: int = 0


class Summary(BaseModel):
    """``summary.json``: what the report, the recommendation and the dashboard read."""

    model_config = ConfigDict(extra="allow")

    dir: str | None = None
    modes: list[str]
    skipped_modes: dict[str, str] = Field(default_factory=dict)
    questions: dict[str, int] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    cost: dict[str, Any] = Field(default_factory=dict)
    retrieval: dict[str, Any] = Field(default_factory=dict)
    by_mode: dict[str, Stats]
    by_mode_category: dict[str, dict[str, Stats]] = Field(default_factory=dict)
    by_mode_difficulty: dict[str, dict[str, Stats]] = Field(default_factory=dict)
    by_mode_set: dict[str, dict[str, Stats]] = Field(default_factory=dict)
    by_mode_kind: dict[str, dict[str, Stats]] = Field(default_factory=dict)
    mode_used: dict[str, dict[str, int]] = Field(default_factory=dict)
    paired: dict[str, Pair] = Field(default_factory=dict)


PAIRS = (("hybrid", "rag"), ("hybrid", "finetuned"), ("rag", "finetuned"), ("auto", "rag"), ("auto", "hybrid"), ("rag", "base"))


class Pair(BaseModel):
    """Two modes on the same questions (see the module docstring)."""

    n: int
    a_only: int
    b_only: int
    difference: float
    half_width: float


def correct_by_mode(rows: list[dict[str, Any]]) -> dict[str, dict[tuple[str, str], float]]:
    """``{mode: {(set, question id): correct}}`` over the scored rows."""
    out: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for r in rows:
        if r["scores"].get("correct") is not None:
            out[r["mode"]][(str(r.get("set")), str(r["id"]))] = r["scores"]["correct"]
    return out


def pair_of(right_a: dict[tuple[str, str], float], right_b: dict[tuple[str, str], float]) -> dict[str, Any] | None:
    """The :class:`Pair` of two modes' correctness maps, or None when they share no question."""
    common = right_a.keys() & right_b.keys()
    if not common:
        return None
    n = len(common)
    a_only = sum(1 for k in common if right_a[k] and not right_b[k])
    b_only = sum(1 for k in common if right_b[k] and not right_a[k])
    se = math.sqrt(max(0.0, a_only + b_only - (a_only - b_only) ** 2 / n)) / n
    return Pair(n=n, a_only=a_only, b_only=b_only, difference=round((a_only - b_only) / n, 4), half_width=round(1.96 * se, 4)).model_dump()


def paired(rows: list[dict[str, Any]], a: str, b: str) -> dict[str, Any] | None:
    """The :class:`Pair` of modes ``a`` and ``b`` in ``rows``, or None when they share no scored question."""
    by_mode = correct_by_mode(rows)
    return pair_of(by_mode.get(a, {}), by_mode.get(b, {}))


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The aggregate metrics of a group of result rows (see the module docstring)."""
    out: dict[str, Any] = {"n": len(rows)}
    for name, key in _SCORE_MEANS.items():
        out[name] = _round(metrics.mean(r["scores"].get(key) for r in rows))
    should = [r for r in rows if r["expect_refusal"]]
    should_not = [r for r in rows if not r["expect_refusal"]]
    out["refusal_recall"] = _round(metrics.mean(int(r["abstained"]) for r in should))
    out["false_refusal_rate"] = _round(metrics.mean(int(r["abstained"]) for r in should_not))
    latencies = [float(r["latency_ms"]) for r in rows if not r.get("error")]
    out["latency_p50_ms"] = _round(metrics.percentile(latencies, 50), 1)
    out["latency_p95_ms"] = _round(metrics.percentile(latencies, 95), 1)
    out["latency_mean_ms"] = _round(metrics.mean(latencies), 1)
    out["tokens_per_s"] = _round(metrics.tokens_per_second([r["generated_tokens"] for r in rows], [r["latency_ms"] for r in rows]), 1)
    out["errors"] = sum(1 for r in rows if r.get("error"))
    return out


def _grouped(rows: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        groups[row["mode"]][str(row.get(key) or "unknown")].append(row)
    return {mode: {name: stats(group) for name, group in sorted(per.items())} for mode, per in groups.items()}


def summarize(rows: list[dict[str, Any]], meta: dict[str, Any] | None = None, retrieval: dict[str, Any] | None = None) -> dict[str, Any]:
    """The summary dict of a list of result rows (pure: no file access)."""
    meta = meta or {}
    order = [m for m in meta.get("modes", []) if any(r["mode"] == m for r in rows)]
    modes = order + sorted({r["mode"] for r in rows} - set(order))
    by_mode = {mode: stats([r for r in rows if r["mode"] == mode]) for mode in modes}
    right = correct_by_mode(rows)
    questions = Counter(r.get("set", "questions") for r in rows if r["mode"] == (modes[0] if modes else None))
    summary = {
        "modes": modes,
        "skipped_modes": meta.get("skipped_modes", {}),
        "questions": dict(questions),
        "settings": meta.get("settings", {}),
        "cost": meta.get("cost", {}),
        "retrieval": retrieval or {},
        "by_mode": by_mode,
        "by_mode_category": _grouped(rows, "category"),
        "by_mode_difficulty": _grouped(rows, "difficulty"),
        "by_mode_set": _grouped(rows, "set"),
        "by_mode_kind": _grouped([r for r in rows if r.get("kind")], "kind"),
        "mode_used": {mode: dict(Counter(r["mode_used"] for r in rows if r["mode"] == mode)) for mode in modes},
        "paired": {f"{a}-{b}": pair for a, b in PAIRS if (pair := pair_of(right.get(a, {}), right.get(b, {}))) is not None},
    }
    # Validated, then plain JSON types again: the schema is checked where the file is made.
    return Summary.model_validate(summary).model_dump(mode="json")


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_summary(out_dir: Path) -> dict[str, Any]:
    """Summarise ``out_dir/results.jsonl`` into ``out_dir/summary.json`` and return the summary."""
    rows = read_results(out_dir / RESULTS)
    if not rows:
        raise NoResultsError(f"{out_dir / RESULTS} holds no result; run `dyag evaluate` first.")
    summary = summarize(rows, _read_json(out_dir / META), _read_json(out_dir / RETRIEVAL))
    summary["dir"] = str(out_dir)
    (out_dir / SUMMARY).write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary
