"""Assistant latency per mode (p50/p95) and retrieval recall@k on the example questions.

    python bench/bench_assistant.py [--workdir .dyag] [--run RUN] [--limit 30]

Uses the index in ``--workdir`` (built from examples/catalog.json if absent). Modes that need a
fine-tuned run (finetuned, hybrid) are measured only with ``--run`` (or the demo's run).
Question sets: examples/questions/retrieval.jsonl (+ exact-string questions) for retrieval, and
the first ``--limit`` questions of examples/questions/test.jsonl (else retrieval.jsonl) per mode.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    from assistant.answering import Assistant
    from assistant.retrieval_eval import (
        keyword_questions,
        read_questions,
        score_retrieval,
    )
    from core.config import load_config
    from ingestion.index import current_generation_dir
    from ingestion.ingest import ingest_catalog

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".dyag")
    parser.add_argument("--run", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=30)
    args = parser.parse_args()

    settings = load_config(overrides={"workdir": args.workdir, "run": args.run})
    if current_generation_dir(settings.index_dir) is None:
        ingest_catalog(ROOT / "examples" / "catalog.json", settings)
    assistant = Assistant(settings)

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    retrieval_questions = read_questions(ROOT / "examples" / "questions" / "retrieval.jsonl") + keyword_questions(assistant.records)
    print("| retriever | n | R@1 | R@5 | MRR | p50 (ms) | p95 (ms) |\n|---|---:|---:|---:|---:|---:|---:|")
    for mode in ("bm25", "dense", "hybrid"):
        s = score_retrieval(assistant.retriever, retrieval_questions, mode)
        print(f"| {mode} | {s.questions} | {s.recall_at_1:.3f} | {s.recall_at_k:.3f} | {s.mrr:.3f} | {s.median_ms:.1f} | {s.p95_ms:.1f} |")

    test_file = ROOT / "examples" / "questions" / "test.jsonl"
    questions = [q["question"] for q in read_questions(test_file if test_file.exists() else ROOT / "examples" / "questions" / "retrieval.jsonl")][: args.limit]
    modes = ["auto", "rag", "base"] + (["finetuned", "hybrid"] if assistant.has_finetuned else [])
    print("\n| mode | n | p50 (ms) | p95 (ms) | mean generated tokens | answered by |\n|---|---:|---:|---:|---:|---|")
    for mode in modes:
        assistant.ask(questions[0], mode)  # load the model outside the timings
        latencies, tokens, used = [], [], {}
        for question in questions:
            started = time.perf_counter()
            answer = assistant.ask(question, mode)
            latencies.append((time.perf_counter() - started) * 1000)
            tokens.append(answer.generated_tokens)
            used[answer.mode_used] = used.get(answer.mode_used, 0) + 1
        how = ", ".join(f"{k} {v}" for k, v in sorted(used.items(), key=lambda kv: -kv[1]))
        print(f"| {mode} | {len(questions)} | {statistics.median(latencies):.0f} | {percentile(latencies, 0.95):.0f} | {statistics.mean(tokens):.1f} | {how} |")


if __name__ == "__main__":
    main()
