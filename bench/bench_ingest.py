"""Ingest benchmark: applications per second and peak memory for generated catalogs.

    python bench/bench_ingest.py                 # all scenarios, prints a Markdown table
    python bench/bench_ingest.py --scenario full --apps 1000

Scenarios (each in its own process, so peak RSS is the scenario's own):
- ``load``: read + repair + normalise + chunk (no index);
- ``full``: the whole ``ingest_catalog`` with the real default embedding model;
- ``index-only``: the whole ingest with model inference replaced by random unit vectors — the cost
  of Chroma, BM25 and the field store alone. Embedding cost = ``full`` − ``index-only``, which scales
  linearly with chunks (measured chunks/s below), so 10,000-app timings are quoted this way;
- ``incremental``: re-ingest after changing 1 % of the applications (index-only embedder).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.catalog_gen import generate_catalog  # noqa: E402


class RandomUnitEmbedder:
    """Benchmark-only stand-in for model inference: measures everything except the model."""

    name = "multilingual-e5-small"
    dim = 384

    def __init__(self) -> None:
        self._rng = np.random.default_rng(0)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        vectors = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def run_scenario(scenario: str, apps: int) -> dict:
    from core.config import load_config
    from ingestion.catalog import load_catalog
    from ingestion.chunking import chunk_records
    from ingestion.ingest import ingest_catalog

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        catalog = generate_catalog(apps, tmp_path / "catalog.json")
        settings = load_config(overrides={"workdir": tmp_path / "work"}, env={}, cwd=tmp_path)
        started = time.perf_counter()
        chunks = 0
        if scenario == "load":
            records = load_catalog(catalog).records
            chunks = len(chunk_records(records))
        elif scenario == "full":
            chunks = ingest_catalog(catalog, settings).chunks
        elif scenario == "index-only":
            chunks = ingest_catalog(catalog, settings, embedder=RandomUnitEmbedder()).chunks
        elif scenario == "incremental":
            ingest_catalog(catalog, settings, embedder=RandomUnitEmbedder())
            data = json.loads(catalog.read_text(encoding="utf-8"))
            for record in data["applicationsia mini"][:: 100]:
                record["statut si"] = "Arrêtée"
            catalog.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            started = time.perf_counter()
            summary = ingest_catalog(catalog, settings, embedder=RandomUnitEmbedder())
            chunks = summary.embedded
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"scenario": scenario, "apps": apps, "chunks": chunks, "seconds": round(seconds, 2),
            "apps_per_s": round(apps / seconds, 1), "peak_rss_mb": round(peak_mb)}


PLAN = [("load", 1000), ("load", 10000), ("load", 100000), ("full", 1000), ("index-only", 1000),
        ("index-only", 10000), ("incremental", 10000)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=["load", "full", "index-only", "incremental"])
    parser.add_argument("--apps", type=int, default=1000)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.apps)))
        return
    rows = []
    for scenario, apps in PLAN:
        out = subprocess.run([sys.executable, __file__, "--scenario", scenario, "--apps", str(apps)],
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], file=sys.stderr)
    print(f"Machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}\n")
    print("| scenario | apps | chunks | seconds | apps/s | peak RSS (MB) |\n|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['scenario']} | {r['apps']:,} | {r['chunks']:,} | {r['seconds']} | {r['apps_per_s']} | {r['peak_rss_mb']} |")


if __name__ == "__main__":
    main()
