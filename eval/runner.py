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

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from assistant.answering import MODES, Answer, Assistant, Conversation
from eval import metrics
from eval.questions import EvalQuestion

log = logging.getLogger(__name__)

RESULTS = "results.jsonl"
META = "meta.json"
RETRIEVAL = "retrieval.json"
SUMMARY = "summary.json"

# progress(done, total, mode): called after each answer (and once at the start with done = already done).
Progress = Callable[[int, int, str], None]


@dataclass
class EvalOutcome:
    out_dir: Path
    answered: int
    already_done: int
    skipped_modes: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def result_key(row: dict[str, Any]) -> tuple[str, str, str]:
    return (str(row.get("set", "")), str(row["id"]), str(row["mode"]))


def read_results(path: Path) -> list[dict[str, Any]]:
    """The complete result lines of ``results.jsonl`` (a line cut by an interruption is ignored)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("Ignoring an incomplete line in %s (interrupted write).", path)
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

    def append(self, row: dict[str, Any]) -> None:
        self._handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.done.add(result_key(row))

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "ResultsFile":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_modes(assistant: Assistant, modes: Iterable[str]) -> dict[str, str]:
    """``{mode: reason}`` for the modes that cannot run here, found by loading their generator now.

    ``auto`` needs no model for field answers and refusals, so it is never skipped: its generated
    answers use the fine-tuned model when a run is configured, else the base model.
    """
    skipped: dict[str, str] = {}
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}; choose from {', '.join(MODES)}.")
        if mode == "auto":
            continue
        finetuned = mode in ("finetuned", "hybrid")
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


def _row(question: EvalQuestion, mode: str, answer: Answer, scores: dict[str, Any], error: str | None = None) -> dict[str, Any]:
    row = {
        "id": question.id,
        "set": question.set,
        "question": question.question,
        "conversation": question.conversation,
        "mode": mode,
        "mode_used": answer.mode_used,
        "answer": answer.answer,
        "expected": question.expected,
        "category": question.category,
        "difficulty": question.difficulty,
        "app_id": question.app_id,
        "app_name": question.app_name,
        "expect_refusal": question.expect_refusal,
        "latency_ms": answer.latency_ms,
        "generated_tokens": answer.generated_tokens,
        "sources": [{"app_id": s.app_id, "app_name": s.app_name, "section": s.section} for s in answer.sources],
        "abstained": answer.abstained,
        "scores": scores,
    }
    if error:
        row["error"] = error
    return row


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


def run_cost(run: Path, runs_dir: Path) -> dict[str, Any]:
    """The cost side of a fine-tuning run: training wall time, steps, adapter and exported model sizes."""
    run_dir = Path(run) if Path(run).is_dir() else runs_dir / run
    if not run_dir.is_dir():
        return {}

    def read(name: str) -> dict[str, Any]:
        path = run_dir / name
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    manifest, run_metrics = read("manifest.json"), read("metrics.json")
    adapter = run_dir / "adapter"
    ggufs = sorted(run_dir.rglob("*.gguf"), key=lambda p: p.stat().st_mtime)
    return {
        "run": str(run_dir),
        "base_model": (manifest.get("base_model") or {}).get("name"),
        "training_time_s": run_metrics.get("wall_time_s"),
        "training_steps": (run_metrics.get("final") or {}).get("steps_done"),
        "training_examples": ((manifest.get("datasets") or {}).get("train") or {}).get("examples"),
        "device": manifest.get("device"),
        "adapter_mb": round(sum(f.stat().st_size for f in adapter.rglob("*") if f.is_file()) / 1e6, 1) if adapter.is_dir() else None,
        "gguf_mb": round(ggufs[-1].stat().st_size / 1e6, 1) if ggufs else None,
        "gguf": str(ggufs[-1]) if ggufs else None,
    }


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
        "cost": run_cost(settings.run, settings.runs_dir) if settings.run else {},
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
