"""Retrieval quality on a question set: recall@k and MRR at the application level.

Shared by the tests (hybrid must beat dense and BM25 alone), ``bench/bench_retrieval.py`` and
the evaluation report, so the three quote the same numbers.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from assistant.retrieval import HybridRetriever
from ingestion.records import AppRecord


@dataclass
class RetrievalScores:
    mode: str
    questions: int
    recall_at_1: float
    recall_at_k: float
    mrr: float
    median_ms: float
    p95_ms: float


def keyword_questions(records: list[AppRecord]) -> list[dict[str, str]]:
    """Questions quoting an exact email or URL from the catalog (staff paste these): BM25's strength."""
    questions = []
    for r in records:
        emails = [c.courriel for c in r.contacts if c.courriel]
        urls = [s.url for s in r.sites if s.url and s.url.startswith("http")]
        if emails:
            questions.append({"question": f"À quelle application correspond le contact {emails[0]} ?", "app_id": r.id})
        if urls:
            questions.append({"question": f"Quelle application est en ligne sur {urls[0]} ?", "app_id": r.id})
    return questions


def read_questions(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score_retrieval(retriever: HybridRetriever, questions: list[dict[str, str]], mode: str, k: int = 5) -> RetrievalScores:
    """Entity linking is off: this measures the retrievers themselves, not the name matcher."""
    hits_1 = hits_k = 0
    reciprocal = 0.0
    latencies = []
    for q in questions:
        started = time.perf_counter()
        result = retriever.retrieve(q["question"], k=k * 4, mode=mode, link_entities=False)
        latencies.append((time.perf_counter() - started) * 1000)
        apps: list[str] = []
        for scored in result.chunks:
            if scored.chunk.app_id not in apps:
                apps.append(scored.chunk.app_id)
        apps = apps[:k]
        if apps and apps[0] == q["app_id"]:
            hits_1 += 1
        if q["app_id"] in apps:
            hits_k += 1
            reciprocal += 1 / (apps.index(q["app_id"]) + 1)
    n = max(len(questions), 1)
    latencies.sort()
    return RetrievalScores(
        mode=mode,
        questions=len(questions),
        recall_at_1=hits_1 / n,
        recall_at_k=hits_k / n,
        mrr=reciprocal / n,
        median_ms=median(latencies) if latencies else 0.0,
        p95_ms=latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0.0,
    )
