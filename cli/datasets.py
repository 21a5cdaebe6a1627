"""``dyag generate-training``, ``dyag analyze-training`` and ``dyag export-dataset``: build, review and export Q&A datasets."""

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
from ingestion.openai_export import DEFAULT_MAX_TOKENS, ENCODINGS, OpenAIExportReport, export_openai
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
        report = load_catalog(
            catalog, skip_invalid=skip_invalid, max_field_chars=settings.max_field_chars, max_list_items=settings.max_list_items
        )
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
        records = (
            load_catalog(catalog, max_field_chars=settings.max_field_chars, max_list_items=settings.max_list_items).records if catalog else None
        )
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


EXPORT_FORMATS = ("openai",)
# Lines listed per problem kind; the report file holds them all.
MAX_LISTED = 10


def export_dataset(
    dataset: Annotated[Path, typer.Argument(help="Dataset (JSONL) in any format Dyag reads; its split field decides train/valid, test rows stay out.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for train.jsonl, valid.jsonl and openai_report.json.")],
    format: Annotated[str, typer.Option("--format", "-f", help="openai: the OpenAI fine-tuning chat format (one messages list per line, nothing else).")] = "openai",
    valid_share: Annotated[float | None, typer.Option("--valid-share", help="Instead of the split field: this share (0–0.99) of the non-test examples goes to valid.jsonl.")] = None,
    encoding: Annotated[str, typer.Option("--encoding", help=f"Token vocabulary: {' or '.join(ENCODINGS)} (o200k_base: gpt-4o and gpt-4.1 families; cl100k_base: gpt-3.5-turbo, gpt-4).")] = "o200k_base",
    max_tokens: Annotated[int, typer.Option("--max-tokens", min=1, help="Tokens per example above which the API truncates it (the guide's 16,385; check your model's limit).")] = DEFAULT_MAX_TOKENS,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Epochs you will train for. Default: OpenAI's default rule for this file size.")] = None,
    price_per_million: Annotated[float | None, typer.Option("--price-per-million", min=0.0, help="Your provider's training price per million tokens, for the cost estimate (none is built in).")] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Export the valid lines of the dataset instead of stopping at an invalid one.")] = False,
) -> None:
    """Write the dataset as cloud fine-tuning files, check them like OpenAI's guide, and estimate the cost. Uploads nothing."""
    if format not in EXPORT_FORMATS:
        raise DyagError(f"--format: unknown format {format!r}; choose from {', '.join(EXPORT_FORMATS)}.")
    rows, _ = read_dataset(dataset, skip_invalid=skip_invalid)
    split = default_split_from_name(dataset)
    for row in rows:
        row.split = row.split or split
    report = export_openai(
        rows, output, source=str(dataset), encoding=encoding, max_tokens=max_tokens, valid_share=valid_share,
        epochs=epochs, price_per_million=price_per_million,
    )
    console.print(_export_table(report))
    for file in (report.train, report.valid):
        if file is None:
            continue
        if file.over_limit:
            console.print(f"[yellow]{file.file}: {len(file.over_limit)} example(s) over {report.max_tokens_per_example:,} tokens, truncated by the API:[/] lines {_lines(file.over_limit)}")
        if file.duplicates:
            console.print(f"[yellow]{file.file}: {len(file.duplicates)} duplicated conversation(s):[/] lines {'; '.join(_lines(g) for g in file.duplicates[:MAX_LISTED])}")
    if report.shared_with_valid:
        console.print(f"[yellow]{report.shared_with_valid} training conversation(s) also in {report.valid.file if report.valid else 'valid'}:[/] the validation loss will flatter the model.")
    if report.valid is None:
        console.print("No validation rows: only train.jsonl was written (use --valid-share to hold some out).")
    epochs_note = "OpenAI's default for this file size" if report.epochs_default else "--epochs"
    console.print(f"Billed training tokens: [bold]{report.train.billed_tokens:,}[/] × {report.epochs} epochs ({epochs_note}) = [bold]{report.billed_training_tokens:,}[/] ({report.encoding})")
    if report.estimated_cost is not None:
        console.print(f"Estimated cost: [bold]{report.estimated_cost:,.2f}[/] at {report.price_per_million:g} per million tokens")
    else:
        console.print("Pass --price-per-million PRICE (your provider's training price) for a cost estimate.")
    console.print(f"Wrote {output / 'train.jsonl'}" + (f" and {output / 'valid.jsonl'}" if report.valid else "") + f"; report: {output / 'openai_report.json'}")
    if report.format_issues:
        first = report.format_issues[0]
        raise DyagError(
            f"{len(report.format_issues)} format problem(s) the fine-tuning API would reject, first {first.file} line {first.line}: "
            f"{first.kind} ({first.detail}); all of them are in {output / 'openai_report.json'}."
        )


def _lines(numbers: list[int]) -> str:
    return ", ".join(map(str, numbers[:MAX_LISTED])) + (" …" if len(numbers) > MAX_LISTED else "")


def _export_table(report: OpenAIExportReport) -> Table:
    # The assistant-token and missing-system counts are in openai_report.json: 80 columns hold the rest.
    table = Table(title="OpenAI fine-tuning files", caption=f"{report.source}: {report.held_out} test examples left out")
    for column in ("file", "examples", "tokens", "billed", "mean", "max", ">limit", "dup"):
        table.add_column(column, justify="left" if column == "file" else "right", min_width=11 if column == "file" else None)
    for f in (report.train, report.valid):
        if f is not None:
            table.add_row(f.file, f"{f.examples:,}", f"{f.tokens:,}", f"{f.billed_tokens:,}", f"{f.mean_tokens:g}", str(f.max_tokens),
                          str(len(f.over_limit)), str(len(f.duplicates)))
    return table


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
