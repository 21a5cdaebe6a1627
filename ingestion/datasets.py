"""Write the synthetic datasets of a catalog to a folder: what ``dyag generate-training`` and the
demo both call.

The folder holds ``dataset.jsonl`` (every split), ``<split>.jsonl`` per split and format
(``messages`` → ``train.jsonl``, ``eval`` → ``test.eval.jsonl``…), ``leakage_report.json`` and
``manifest.json`` (catalog hash, seed, options, counts), which tells the demo whether the folder
is up to date.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import DyagError
from core.hashing import file_sha256, text_sha256
from core.prompts import SYSTEM_PROMPT
from ingestion.catalog import LoadReport
from ingestion.dataset_formats import QARow, write_dataset
from ingestion.splits import SPLITS
from ingestion.synthetic import (
    ALL_TYPE_NAMES,
    GeneratedDataset,
    GenerationConfig,
    generate_dataset,
)

# File suffix of each written format (messages is the default, written as <split>.jsonl).
SUFFIX = {"messages": "", "alpaca": ".alpaca", "prompt_completion": ".prompt_completion", "eval": ".eval"}
MANIFEST = "manifest.json"


class GenerationOptionError(DyagError, ValueError):
    """An option the dataset generator cannot honour (unknown type, impossible hold-out…)."""


@dataclass
class WrittenDatasets:
    data: GeneratedDataset
    folder: Path
    files: list[str]
    manifest: dict[str, Any]


def eval_rows(rows: list[QARow]) -> list[QARow]:
    """One evaluation question per rendered question: the evaluator retrieves its own context."""
    seen: set[str] = set()
    out = []
    for row in sorted(rows, key=lambda r: r.flavour != "closed_book"):
        if row.question not in seen:
            seen.add(row.question)
            out.append(row)
    return out


def _write_files(data: GeneratedDataset, out: Path, formats: list[str]) -> list[str]:
    written = [f"dataset.jsonl ({write_dataset(data.rows, out / 'dataset.jsonl')} examples, all splits)"]
    for split in SPLITS:
        rows = [r for r in data.rows if r.split == split]
        for fmt in formats:
            chosen = eval_rows(rows) if fmt == "eval" else rows
            name = f"{split}{SUFFIX[fmt]}.jsonl"
            written.append(f"{name} ({write_dataset(chosen, out / name, fmt)})")
    return written


def _manifest(data: GeneratedDataset, catalog: Path, cfg: GenerationConfig, names: dict[str, str], files: list[str]) -> dict[str, Any]:
    return {
        "catalog": str(catalog),
        "catalog_sha256": file_sha256(catalog),
        "applications": len(names),
        "seed": cfg.seed,
        "per_app": cfg.per_app,
        "ratios": cfg.ratios,
        "question_types": list(cfg.question_types or ALL_TYPE_NAMES),
        "flavours": list(cfg.flavours),
        "holdout_apps": [{"id": i, "nom": names[i]} for i in data.holdout_app_ids],
        "system_prompt_sha256": text_sha256(SYSTEM_PROMPT),
        "examples": len(data.rows),
        "by_split": dict(Counter(r.split for r in data.rows)),
        "by_category": dict(Counter(r.category for r in data.rows)),
        "apps_without_value": data.skipped,
        "files": files,
    }


def write_datasets(catalog: Path, report: LoadReport, out: Path, cfg: GenerationConfig, formats: list[str]) -> WrittenDatasets:
    """Generate the examples of ``report.records`` and write them (see the module docstring)."""
    try:
        data = generate_dataset(report.records, cfg)
    except ValueError as exc:  # option values the generator rejects, in words the user can act on
        raise GenerationOptionError(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)
    files = _write_files(data, out, formats)
    (out / "leakage_report.json").write_text(json.dumps(data.leakage.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    manifest = _manifest(data, catalog, cfg, {r.id: r.nom for r in report.records}, files)
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return WrittenDatasets(data, out, files, manifest)


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
