"""The resumable evaluation: every question in every mode, one result line each.

Output folder::

    DIR/results.jsonl   one JSON object per (question, mode), appended and fsync'ed line by line
    DIR/meta.json       what was evaluated: question sets (path, sha256), modes, settings, skipped modes
    DIR/retrieval.json  the retriever alone on the set's single-application questions
                        (assistant.retrieval_eval.score_retrieval: hybrid, dense, BM25)
    DIR/summary.json    written by :mod:`eval.summary` from the three above

Resuming: a result is identified by ``(set, id, mode)``. Running the same command again reads
``results.jsonl``, drops a last line cut short by an interruption, and asks only the missing
pairs — a crash or Ctrl-C loses at most the answer being generated.

A mode whose generator cannot be loaded (no fine-tuning run, no GGUF export, server down) is
skipped with its reason in ``meta.json``; it is not an error for the other modes. A question
whose answering raises is recorded with ``error`` and scores of 0: a crash is a wrong answer.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from assistant.answering import Answer, Assistant, Conversation
from core.choices import get_mode
from core.hashing import file_sha256
from eval import metrics
from eval.questions import EvalQuestion
from eval.results import META, RESULTS, RETRIEVAL, ResultRow, ResultsFile, SourceRef
from finetune.runs import Run, RunError

log = logging.getLogger(__name__)

# progress(done, total, mode): called after each answer (and once at the start with done = already done).
Progress = Callable[[int, int, str], None]


@dataclass
class EvalOutcome:
    out_dir: Path
    answered: int
    already_done: int
    skipped_modes: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def check_modes(assistant: Assistant, modes: Iterable[str]) -> dict[str, str]:
    """``{mode: reason}`` for the modes that cannot run here, found by loading their generator now.

    ``auto`` needs no model for field answers and refusals, so it is never skipped: its generated
    answers use the fine-tuned model when a run is configured, else the base model.
    """
    skipped: dict[str, str] = {}
    for mode in modes:
        spec = get_mode(mode)
        if spec.routed:
            continue
        finetuned = spec.finetuned
        if finetuned and not assistant.has_finetuned:
            skipped[mode] = "no fine-tuning run configured (--run)"
            continue
        try:
            assistant.chat_model(finetuned)
        except Exception as exc:  # noqa: BLE001 — any load failure (missing export, import, server) skips the mode
            skipped[mode] = f"{type(exc).__name__}: {exc}"
    for mode, reason in skipped.items():
        log.warning("Skipping mode %s: %s", mode, reason)
    return skipped


def _conversation_for(assistant: Assistant, question: EvalQuestion) -> Conversation | None:
    """Replay the earlier user turns through the router (no generation) to know what "son/sa" refers to."""
    if not question.conversation:
        return None
    conversation = Conversation()
    for turn in question.conversation:
        plan = assistant.plan(turn, "auto", conversation)
        ids = plan.field_answer.app_ids if plan.field_answer and plan.mode_used == "field" else plan.app_ids
        if ids:
            conversation.last_app_ids = list(ids)
        conversation.history.append((turn, ""))
    return conversation


def score_answer(question: EvalQuestion, answer: Answer, k: int) -> dict[str, Any]:
    """The per-answer metrics of :mod:`eval.metrics` (semantic similarity is added by the runner)."""
    correct, coverage = metrics.correctness(answer.answer, question.expected, question.facts, question.expect_refusal, answer.abstained)
    sources = [s.model_dump() for s in answer.sources]
    recall, rr = metrics.retrieval_scores(sources, None if question.expect_refusal else question.app_id, k)
    return {
        "correct": correct,
        "fact_coverage": round(coverage, 4),
        "token_f1": round(metrics.token_f1(answer.answer, question.expected), 4),
        "rouge_l": round(metrics.rouge_l(answer.answer, question.expected), 4),
        "refusal_ok": metrics.refusal_ok(question.expect_refusal, answer.abstained),
        "recall_at_k": recall,
        "reciprocal_rank": None if rr is None else round(rr, 4),
    }


def _row(question: EvalQuestion, mode: str, answer: Answer, scores: dict[str, Any], error: str | None = None) -> ResultRow:
    return ResultRow(
        id=question.id,
        set=question.set,
        question=question.question,
        conversation=question.conversation,
        mode=mode,
        mode_used=answer.mode_used,
        answer=answer.answer,
        expected=question.expected,
        category=question.category,
        kind=question.kind,
        difficulty=question.difficulty,
        app_id=question.app_id,
        app_name=question.app_name,
        expect_refusal=question.expect_refusal,
        latency_ms=answer.latency_ms,
        generated_tokens=answer.generated_tokens,
        sources=[SourceRef(app_id=s.app_id, app_name=s.app_name, section=s.section) for s in answer.sources],
        abstained=answer.abstained,
        scores=scores,
        error=error,
    )


class _Semantic:
    """Embeds answer/expected pairs with the index's embedding model, caching expected answers."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self._expected: dict[str, np.ndarray] = {}

    def __call__(self, answer: str, expected: str) -> float | None:
        if not answer.strip():
            return 0.0
        if expected not in self._expected:
            self._expected[expected] = self.embedder.embed_passages([expected])[0]
        vector = self.embedder.embed_passages([answer])[0]
        return round(float(metrics.semantic_similarity(vector[None, :], self._expected[expected][None, :])[0]), 4)


def _run_cost(settings: Any) -> dict[str, Any]:
    if settings.run is None:
        return {}
    try:
        return Run.find(settings.run, settings.runs_dir).cost()
    except RunError:
        return {}


def _write_meta(out_dir: Path, questions: list[EvalQuestion], sources: dict[str, Path], modes: list[str], assistant: Assistant, skipped: dict[str, str], k: int) -> None:
    path = out_dir / META
    previous = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    settings = assistant.settings
    sets = dict(previous.get("sets", {}))
    for name, source in sources.items():
        sets[name] = {"path": str(source), "sha256": file_sha256(source), "questions": sum(1 for q in questions if q.set == name)}
    meta = {
        "created_at": previous.get("created_at") or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "modes": list(dict.fromkeys([*previous.get("modes", []), *modes])),
        "sets": sets,
        "skipped_modes": {**{m: r for m, r in previous.get("skipped_modes", {}).items() if m not in modes}, **skipped},
        "k": k,
        "cost": _run_cost(settings),
        "settings": {
            "backend": settings.backend,
            "generator_model": settings.generator_model,
            "run": str(settings.run) if settings.run else None,
            "embedding_model": settings.embedding_model,
            "max_new_tokens": settings.max_new_tokens,
            "context_tokens": settings.context_tokens,
            "top_k": settings.top_k,
        },
    }
    path.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")


def _write_retrieval(out_dir: Path, assistant: Assistant, questions: list[EvalQuestion], k: int) -> None:
    """Retriever quality per set (entity linking off), once per set: it does not depend on the mode."""
    from assistant.retrieval_eval import score_retrieval

    path = out_dir / RETRIEVAL
    existing = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for name in dict.fromkeys(q.set for q in questions):
        if name in existing:
            continue
        probes = [{"question": q.question, "app_id": q.app_id} for q in questions if q.set == name and q.app_id and not q.expect_refusal and not q.conversation]
        if probes:
            existing[name] = {mode: asdict(score_retrieval(assistant.retriever, probes, mode, k)) for mode in ("hybrid", "dense", "bm25")}
    path.write_text(json.dumps(existing, ensure_ascii=False, indent=2), encoding="utf-8")


def evaluate(
    questions: list[EvalQuestion],
    assistant: Assistant,
    modes: list[str],
    out_dir: Path,
    *,
    sources: dict[str, Path] | None = None,
    embedder: Any | None = None,
    judge_model: Any | None = None,
    k: int = 5,
    progress: Progress | None = None,
) -> EvalOutcome:
    """Ask every question in every mode, appending one line per answer to ``out_dir/results.jsonl``.

    ``sources`` maps set names to their files (recorded in ``meta.json``). ``embedder`` (the
    index's embedding model) enables the semantic similarity; ``judge_model`` (a LangChain chat
    model) the LLM-as-judge score. Pairs already in ``results.jsonl`` are not asked again.
    Returns how many answers were produced now and how many were already there.
    """
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    skipped = check_modes(assistant, modes)
    _write_meta(out_dir, questions, sources or {}, modes, assistant, skipped, k)
    _write_retrieval(out_dir, assistant, questions, k)
    runnable = [m for m in modes if m not in skipped]
    semantic = _Semantic(embedder) if embedder is not None else None
    total = len(runnable) * len(questions)
    answered = 0
    with ResultsFile(out_dir / RESULTS) as results:
        already = sum(1 for m in runnable for q in questions if (q.set, q.id, m) in results.done)
        if progress:
            progress(already, total, runnable[0] if runnable else "")
        done = already
        # Question-major: an interrupted (or still running) evaluation has every mode on the same
        # questions, so its partial summary is already a fair comparison.
        for question in questions:
            for mode in runnable:
                if (question.set, question.id, mode) in results.done:
                    continue
                error = None
                try:
                    answer = assistant.ask(question.question, mode, _conversation_for(assistant, question))
                    scores = score_answer(question, answer, k)
                    scores["semantic"] = semantic(answer.answer, question.expected) if semantic else None
                    if judge_model is not None:
                        scores["judge"] = metrics.judge_answer(judge_model, question.question, question.expected, answer.answer)
                except Exception as exc:  # noqa: BLE001 — recorded and scored as wrong, the run goes on
                    log.exception("Question %s failed in mode %s", question.id, mode)
                    error = f"{type(exc).__name__}: {exc}"
                    answer = Answer(question=question.question, answer="", mode=mode, mode_used="error")
                    scores = {"correct": 0, "fact_coverage": 0.0, "token_f1": 0.0, "rouge_l": 0.0, "semantic": 0.0,
                              "refusal_ok": 0, "recall_at_k": 0 if question.app_id and not question.expect_refusal else None,
                              "reciprocal_rank": 0.0 if question.app_id and not question.expect_refusal else None}
                results.append(_row(question, mode, answer, scores, error))
                answered += 1
                done += 1
                if progress:
                    progress(done, total, mode)
    return EvalOutcome(out_dir, answered, already, skipped, time.perf_counter() - started)
