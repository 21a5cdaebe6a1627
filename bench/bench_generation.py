"""The packaged generators compared in rag mode: accuracy and latency on the same questions, one run.

    python bench/bench_generation.py [--workdir .dyag/bench-generation] [--limit 40]
                                     [--models gemma3-270m,qwen2.5-coder:0.5b,qwen2.5-coder:1.5b]

Questions: a category-balanced sample of the single-application questions of
examples/questions/test.jsonl (the held-out templates; aggregates and out-of-catalog names
excluded — this measures reading the facts of a named application). Every model answers every
question in ``rag`` mode through the real assistant (retrieval, facts blocks, guards, llama.cpp),
one model after the other, so the latencies share the machine's state. A model whose packages
are missing (the 1.5B is the optional extra ``dyag[qwen-1-5b]``) is reported as such.

Reported per model: accuracy (field-aware, :func:`eval.metrics.correctness`), answers rejected by
the guards, latency p50/p95 and generation tokens/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from assistant.answering import Assistant
    from assistant.backends import clear_model_cache
    from core.config import load_config
    from core.sampling import balanced_subset
    from eval import metrics
    from eval.questions import load_questions
    from examples import CATALOG, TEST_QUESTIONS
    from ingestion.index import current_generation_dir, with_index_embedding
    from ingestion.ingest import ingest_catalog

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".dyag" / "bench-generation")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--models", default="gemma3-270m,qwen2.5-coder:0.5b,qwen2.5-coder:1.5b")
    args = parser.parse_args()

    settings = load_config(overrides={"workdir": args.workdir}, env={})
    if current_generation_dir(settings.index_dir) is None:
        ingest_catalog(CATALOG, settings)
    settings = with_index_embedding(settings)
    single = [q for q in load_questions(TEST_QUESTIONS) if q.app_id and not q.expect_refusal]
    questions = balanced_subset(single, args.limit)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    print(f"Machine: {cpu}, {os.cpu_count()} cores. {len(questions)} questions, rag mode.\n")
    print("| generator | accuracy | rejected by guards | p50 (s) | p95 (s) | tokens/s | note |\n|---|---:|---:|---:|---:|---:|---|")
    for model in args.models.split(","):
        assistant = Assistant(settings.model_copy(update={"generator_model": model}))
        try:
            assistant.chat_model(finetuned=False)
        except Exception as exc:  # noqa: BLE001 — a missing optional model is a row, not a crash
            print(f"| {model} | – | – | – | – | – | not measured: {str(exc).splitlines()[0][:90]} |")
            continue
        assistant.ask(questions[0].question, "rag")  # warm-up: model load and system-prompt cache
        correct, rejected, latencies, tokens = 0, 0, [], []
        for q in questions:
            answer = assistant.ask(q.question, "rag")
            correct += metrics.correctness(answer.answer, q.expected, q.facts, q.expect_refusal, answer.abstained)[0]
            rejected += answer.rejected is not None
            latencies.append(answer.latency_ms)
            tokens.append(answer.generated_tokens)
        tps = metrics.tokens_per_second(tokens, latencies)
        print(
            f"| {model} | {correct / len(questions):.1%} | {rejected} | {metrics.percentile(latencies, 50) / 1000:.2f} | "
            f"{metrics.percentile(latencies, 95) / 1000:.2f} | {tps:.1f} | |"
        )
        clear_model_cache()


if __name__ == "__main__":
    main()
