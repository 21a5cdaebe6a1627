"""``dyag generate-training`` and ``dyag analyze-training``: build and review Q&A datasets."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.console import console
from cli.options import ConfigOption, WorkdirOption, csv_choices, settings_from
from core.errors import DyagError
from ingestion.catalog import load_catalog
from ingestion.dataset_analysis import (
    analyze_dataset,
    coverage_summary,
    default_split_from_name,
    render_markdown,
)
from ingestion.dataset_formats import FORMATS, QARow, read_dataset
from ingestion.datasets import write_datasets
from ingestion.splits import SPLITS, parse_ratios
from ingestion.synthetic import ALL_TYPE_NAMES, FLAVOURS, GenerationConfig


def generate_training(
    catalog: Annotated[Path, typer.Argument(help="Catalog JSON export.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output folder. Default: <workdir>/datasets")] = None,
    question_types: Annotated[str | None, typer.Option("--question-types", help=f"Comma-separated subset of: {', '.join(ALL_TYPE_NAMES)}.")] = None,
    per_app: Annotated[int, typer.Option("--per-app", min=1, help="Training phrasings per application and question type.")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same dataset.")] = 0,
    split: Annotated[str, typer.Option("--split", help="train/valid/test shares.")] = "80/10/10",
    holdout_apps: Annotated[int, typer.Option("--holdout-apps", min=0, help="Applications whose examples all go to test (never seen in training).")] = 0,
    flavours: Annotated[str, typer.Option("--flavours", help="closed_book, context, or both (comma-separated).")] = "closed_book,context",
    formats: Annotated[str, typer.Option("--formats", help=f"Files to write besides dataset.jsonl: {', '.join(FORMATS)}.")] = ",".join(FORMATS),
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Skip invalid catalog records instead of stopping.")] = False,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """Generate synthetic French Q&A training/valid/test sets from a catalog."""
    settings = settings_from(config, workdir=workdir)
    out = output or settings.datasets_dir
    chosen_formats = csv_choices(formats, FORMATS, "--formats") or []
    with console.status("Loading the catalog and generating examples…"):
        report = load_catalog(catalog, skip_invalid=skip_invalid, max_field_chars=settings.max_field_chars)
        try:
            ratios = parse_ratios(split)
        except ValueError as exc:
            raise DyagError(str(exc)) from None
        cfg = GenerationConfig(
            question_types=csv_choices(question_types, ALL_TYPE_NAMES, "--question-types"),
            per_app=per_app,
            seed=seed,
            ratios=ratios,
            holdout_apps=holdout_apps,
            flavours=csv_choices(flavours, FLAVOURS, "--flavours") or FLAVOURS,
        )
        written = write_datasets(catalog, report, out, cfg, chosen_formats)
    data = written.data
    names = {r.id: r.nom for r in report.records}
    console.print(_counts_table(data.rows))
    if report.rejected:
        console.print(f"[yellow]{len(report.rejected)} invalid catalog records skipped.[/]")
    leak = data.leakage
    colour = "green" if not leak.leaks else "red"
    console.print(
        f"[{colour}]Leakage: {leak.leaks}[/] (guard removed {leak.removed_questions + leak.removed_answers}); "
        f"held-out applications: {', '.join(names[i] for i in data.holdout_app_ids) or 'none'}."
    )
    console.print(f"Wrote {len(data.rows)} examples to [bold]{out}[/]. Review them with: dyag analyze-training {out / 'dataset.jsonl'} --catalog {catalog}")


def analyze_training(
    dataset: Annotated[Path, typer.Argument(help="Dataset (JSONL) in messages, prompt/completion, Alpaca or eval format.")],
    catalog: Annotated[Path | None, typer.Option("--catalog", help="Catalog JSON, to report applications without examples.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Folder for <name>.analysis.md/.json. Default: <workdir>/reports")] = None,
    tokenizer: Annotated[str | None, typer.Option("--tokenizer", help="Local transformers tokenizer folder for token counts (default: regex estimate).")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Analyse the valid lines and count the invalid ones instead of stopping.")] = False,
    lang_sample: Annotated[int, typer.Option("--lang-sample", min=0, help="Examples sampled for language detection (0: none).")] = 300,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """Describe a Q&A dataset (counts, coverage, lengths, languages, duplicates, leakage) and recommend fixes."""
    settings = settings_from(config, workdir=workdir)
    with console.status(f"Reading {dataset}…"):
        rows, errors = read_dataset(dataset, skip_invalid=skip_invalid)
        split = default_split_from_name(dataset)
        for row in rows:
            row.split = row.split or split
        records = load_catalog(catalog, max_field_chars=settings.max_field_chars).records if catalog else None
    with console.status(f"Analysing {len(rows)} examples…"):
        analysis = analyze_dataset(rows, errors, records=records, tokenizer=tokenizer, lang_sample=lang_sample, source=str(dataset))
    out = output or settings.reports_dir
    out.mkdir(parents=True, exist_ok=True)
    stem = dataset.name.removesuffix(".jsonl").removesuffix(".json")
    md_path, json_path = out / f"{stem}.analysis.md", out / f"{stem}.analysis.json"
    md_path.write_text(render_markdown(analysis), encoding="utf-8")
    json_path.write_text(json.dumps(analysis, ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(_summary_table(analysis))
    console.print("[bold]Recommendations[/]")
    for line in analysis["recommendations"]:
        console.print(f"  • {line}", highlight=False)
    console.print(f"Report: {md_path} and {json_path}")


def _counts_table(rows: list[QARow]) -> Table:
    table = Table(title="Examples per question type and split (all flavours)")
    table.add_column("Type")
    for split in (*SPLITS, "total"):
        table.add_column(split, justify="right")
    counts = Counter((r.category, r.split) for r in rows)
    for category in dict.fromkeys(r.category for r in rows):
        per = [counts[(category, s)] for s in SPLITS]
        table.add_row(category, *map(str, per), str(sum(per)))
    totals = [sum(1 for r in rows if r.split == s) for s in SPLITS]
    table.add_row("[bold]total", *map(str, totals), str(len(rows)))
    return table


def _summary_table(a: dict[str, Any]) -> Table:
    table = Table(title=f"{a['examples']} examples ({', '.join(a['formats'])})")
    table.add_column("Type")
    splits = [s for s in (*SPLITS, "(none)") if s in a["by_split"]]
    for s in splits:
        table.add_column(s, justify="right")
    for category, per in a["by_category_split"].items():
        table.add_row(category, *(str(per.get(s, 0)) for s in splits))
    covered = coverage_summary(a["coverage"])
    leaks = a["leakage"]["leaks"] if a["leakage"] else "n/a"
    table.caption = (
        f"refusals {a['refusals']['share']:.1%} · context {a['context']['share']:.1%} · apps covered {covered} · "
        f"invalid lines {a['n_invalid']} · leakage {leaks}"
    )
    return table
