"""Which embedding model for French? Dense retrieval quality and speed on the example catalog.

    python bench/bench_embeddings.py [--models multilingual-e5-small,all-minilm-l6-v2]

For each model: index examples/catalog.json, then score dense-only retrieval (entity linking off)
on three question sets — paraphrased descriptions (examples/questions/retrieval.jsonl), exact
emails/URLs, and the generated held-out questions that name the application — at the
application level (recall@1, recall@5, MRR). The default model is the one this table favours.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from assistant.retrieval import HybridRetriever
    from assistant.retrieval_eval import (
        keyword_questions,
        read_questions,
        score_retrieval,
    )
    from core.config import load_config
    from ingestion.catalog import load_catalog
    from ingestion.ingest import ingest_catalog
    from ingestion.synthetic import GenerationConfig, generate_dataset

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="multilingual-e5-small,all-minilm-l6-v2")
    args = parser.parse_args()

    catalog = ROOT / "examples" / "catalog.json"
    records = load_catalog(catalog).records
    named = [
        {"question": r.question, "app_id": r.app_id}
        for r in generate_dataset(records, GenerationConfig(seed=0)).rows
        if r.split == "test" and r.app_id and r.context is None and r.category not in ("out_of_catalog", "comparison")
    ][::3]
    sets = {
        "paraphrases": read_questions(ROOT / "examples" / "questions" / "retrieval.jsonl"),
        "exact strings": keyword_questions(records),
        "named apps": named,
    }
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| model | question set | n | R@1 | R@5 | MRR | query p50 (ms) |\n|---|---|---:|---:|---:|---:|---:|")
    speed = []
    for model in args.models.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_config(overrides={"workdir": Path(tmp), "embedding_model": model}, env={}, cwd=Path(tmp))
            started = time.perf_counter()
            summary = ingest_catalog(catalog, settings)
            seconds = time.perf_counter() - started
            speed.append((model, summary.chunks, seconds))
            retriever = HybridRetriever(settings)
            for name, questions in sets.items():
                s = score_retrieval(retriever, questions, "dense")
                print(f"| {model} | {name} | {s.questions} | {s.recall_at_1:.3f} | {s.recall_at_k:.3f} | {s.mrr:.3f} | {s.median_ms:.0f} |")
            retriever.index.close()
    print("\n| model | chunks indexed | seconds | chunks/s |\n|---|---:|---:|---:|")
    for model, chunks, seconds in speed:
        print(f"| {model} | {chunks} | {seconds:.1f} | {chunks / seconds:.1f} |")


if __name__ == "__main__":
    main()
