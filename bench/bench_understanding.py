"""``auto`` mode on the question sets: accuracy per set and per kind of phrasing, and latency.

    python bench/bench_understanding.py [--workdir .dyag/bench-understanding] [--run RUN] [--holdout] [--final] [--fresh] [--blind] [--sealed] [--ninth] [--names]

Sets: examples/questions/natural.jsonl (phrased by someone who never saw Dyag's templates: informal,
typos, English, full names, look-alikes…), the held-out template questions (test.jsonl) and the
hand-written edge cases; with ``--holdout``, also natural_holdout.jsonl, a second independent set
(measured once before the router was tuned on it: 85.8 %, then used for tuning); with ``--final``,
natural_final.jsonl, a third, written by four personas after the router was finished and measured
once at the end (bench/RESULTS.md): do not tune on it, or it stops measuring anything; with ``--fresh``,
natural_fresh.jsonl, a fourth set by a fifth author, split by id: its odd rows (``natural_fresh_dev``)
were used to mend the router, its even rows (``natural_fresh_test``) only measured; with ``--blind``,
natural_blind.jsonl, a fifth set by a sixth author, split the same way (``natural_blind_dev`` /
``natural_blind_test``); with ``--sealed``, natural_sealed.jsonl, a sixth set by a seventh author,
split the same way (``natural_sealed_dev`` / ``natural_sealed_test``); with ``--ninth``,
natural_ninth.jsonl, a seventh set by a ninth author, split the same way; with ``--names``,
natural_names.jsonl, questions naming applications otherwise (read: a dev set for linking). Latency is reported
for the answers that need no generation (exact, aggregate, refusal) and for the generated ones.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from assistant.answering import Assistant
    from core.config import load_config
    from eval import metrics
    from eval.questions import load_questions
    from eval.runner import _conversation_for
    from examples import (
        CATALOG,
        EDGE_CASES,
        NATURAL_BLIND,
        NATURAL_FINAL,
        NATURAL_FRESH,
        NATURAL_HOLDOUT,
        NATURAL_NAMES,
        NATURAL_NINTH,
        NATURAL_QUESTIONS,
        NATURAL_SEALED,
        TEST_QUESTIONS,
    )
    from ingestion.index import current_generation_dir, with_index_embedding
    from ingestion.ingest import ingest_catalog

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".dyag" / "bench-understanding")
    parser.add_argument("--run", type=Path, default=None, help="Fine-tuning run for the generated fallback (hybrid); default: rag.")
    parser.add_argument("--holdout", action="store_true", help="Also measure natural_holdout.jsonl.")
    parser.add_argument("--final", action="store_true", help="Also measure natural_final.jsonl (the untouched set).")
    parser.add_argument("--fresh", action="store_true", help="Also measure natural_fresh.jsonl, its dev (odd ids) and test (even ids) halves apart.")
    parser.add_argument("--blind", action="store_true", help="Also measure natural_blind.jsonl, its dev (odd ids) and test (even ids) halves apart.")
    parser.add_argument("--sealed", action="store_true", help="Also measure natural_sealed.jsonl, its dev (odd ids) and test (even ids) halves apart.")
    parser.add_argument("--ninth", action="store_true", help="Also measure natural_ninth.jsonl, its dev (odd ids) and test (even ids) halves apart.")
    parser.add_argument("--names", action="store_true", help="Also measure natural_names.jsonl (names written otherwise; a dev set).")
    parser.add_argument("--only", nargs="*", default=None, help="Measure only these sets (by name).")
    args = parser.parse_args()

    settings = load_config(overrides={"workdir": args.workdir, "run": args.run}, env={})
    if current_generation_dir(settings.index_dir) is None:
        ingest_catalog(CATALOG, settings)
    assistant = Assistant(with_index_embedding(settings))
    sets = {"natural": NATURAL_QUESTIONS, "test": TEST_QUESTIONS, "edge_cases": EDGE_CASES}
    if args.holdout:
        sets["natural_holdout"] = NATURAL_HOLDOUT
    if args.final:
        sets["natural_final"] = NATURAL_FINAL
    if args.fresh:
        sets["natural_fresh_dev"] = sets["natural_fresh_test"] = NATURAL_FRESH
    if args.blind:
        sets["natural_blind_dev"] = sets["natural_blind_test"] = NATURAL_BLIND
    if args.sealed:
        sets["natural_sealed_dev"] = sets["natural_sealed_test"] = NATURAL_SEALED
    if args.ninth:
        sets["natural_ninth_dev"] = sets["natural_ninth_test"] = NATURAL_NINTH
    if args.names:
        sets["natural_names"] = NATURAL_NAMES
    if args.only:
        sets = {name: path for name, path in sets.items() if name in args.only}
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    print(f"Machine: {cpu}, {os.cpu_count()} cores. Generated fallback: {'hybrid' if args.run else 'rag'}.\n")
    print("| set | n | accuracy | p50 no generation (ms) | p95 no generation (ms) | generated | p50 generated (s) |\n|---|---:|---:|---:|---:|---:|---:|")
    kinds: dict[str, dict[str, list[int]]] = {}
    for name, path in sets.items():
        questions = load_questions(path, name)
        if name.endswith(("_dev", "_test")):
            odd = name.endswith("_dev")
            questions = [q for q in questions if (int(q.id.rsplit("-", 1)[1]) % 2 == 1) == odd]
        fast, slow, right = [], [], 0
        per_kind: dict[str, list[int]] = defaultdict(list)
        for q in questions:
            started = time.perf_counter()
            answer = assistant.ask(q.question, "auto", _conversation_for(assistant, q))
            elapsed = (time.perf_counter() - started) * 1000
            (fast if answer.mode_used in ("field", "aggregate", "refusal") else slow).append(elapsed)
            correct = metrics.correctness(answer.answer, q.expected, q.facts, q.expect_refusal, answer.abstained)[0]
            right += correct
            per_kind[q.kind or q.category].append(correct)
        kinds[name] = per_kind
        p50_slow = f"{metrics.percentile(slow, 50) / 1000:.2f}" if slow else "–"
        print(
            f"| {name} | {len(questions)} | {right / len(questions):.1%} | {metrics.percentile(fast, 50):.0f} | "
            f"{metrics.percentile(fast, 95):.0f} | {len(slow)} | {p50_slow} |"
        )
    for name in ("natural", "natural_holdout", "natural_final", "natural_fresh_dev", "natural_fresh_test", "natural_blind_dev", "natural_blind_test", "natural_sealed_dev", "natural_sealed_test",
                 "natural_ninth_dev", "natural_ninth_test", "natural_names"):
        if name in kinds:
            print(f"\n{name}, per kind:\n\n| kind | right | n |\n|---|---:|---:|")
            for kind, scores in sorted(kinds[name].items()):
                print(f"| {kind} | {sum(scores)} | {len(scores)} |")


if __name__ == "__main__":
    main()
