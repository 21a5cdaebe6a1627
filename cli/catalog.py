"""``dyag inspect``, ``dyag ingest`` and ``dyag search``: look at a catalog, index it, query the index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from cli.console import console, err_console
from cli.options import (
    ChromaUrlOption,
    ConfigOption,
    EmbeddingOption,
    WorkdirOption,
    query_settings,
    settings_from,
)

CatalogArg = Annotated[Path, typer.Argument(help="The catalog export (JSON): a list of applications, or an object holding one.")]
SkipInvalidOption = Annotated[
    bool, typer.Option("--skip-invalid", help="Index the valid records and report each rejected one, instead of stopping at the first error.")
]


def ingest(
    catalog: CatalogArg,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
    embedding_model: EmbeddingOption = None,
    chroma_url: ChromaUrlOption = None,
    collection: Annotated[str | None, typer.Option(help="Chroma collection name.")] = None,
    skip_invalid: SkipInvalidOption = False,
) -> None:
    """Load, normalise, chunk, embed and index a catalog (only changed chunks are re-embedded).

    The new index is built beside the current one and replaces it only when complete: if anything
    fails, the previous index stays usable.
    """
    from ingestion.ingest import ingest_catalog

    settings = settings_from(config, workdir=workdir, embedding_model=embedding_model, chroma_url=chroma_url, collection=collection)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console
    ) as progress:
        task = progress.add_task("Loading the embedding model and the catalog", total=None)

        def report(step: str, done: int, total: int) -> None:
            if step == "intent model":
                # Once per work directory and registry version (~15 s): the router's classifier.
                progress.update(task, description="Training the question router", completed=None, total=None)
                return
            progress.update(task, description="Embedding changed chunks", completed=done, total=total)

        summary = ingest_catalog(catalog, settings, skip_invalid=skip_invalid, progress=report)
    for rejected in summary.rejected:
        err_console.print(f"[yellow]Rejected[/] {rejected}", highlight=False)
    table = Table(title=f"Indexed {catalog} → {settings.index_dir}", show_header=False)
    table.add_row("Applications", str(summary.applications))
    if summary.rejected:
        table.add_row("Rejected records", str(len(summary.rejected)))
    table.add_row("Chunks", str(summary.chunks))
    table.add_row("Added / updated / removed / unchanged", f"{summary.added} / {summary.updated} / {summary.removed} / {summary.unchanged}")
    table.add_row("Chunks embedded", str(summary.embedded))
    table.add_row("Embedding model", summary.embedding_model + (" (full rebuild: model or store changed)" if summary.full_rebuild else ""))
    table.add_row("Seconds", f"{summary.seconds:.1f}")
    console.print(table)


def inspect(
    catalog: CatalogArg,
    format: Annotated[str, typer.Option("--format", "-f", help="table, json or markdown.")] = "table",
    skip_invalid: SkipInvalidOption = False,
    config: ConfigOption = None,
) -> None:
    """Field coverage, status and domain counts, and anomalies of a catalog — run this first."""
    from ingestion.catalog import load_catalog
    from ingestion.inspection import inspect_catalog, inspection_markdown

    if format not in {"table", "json", "markdown"}:
        raise typer.BadParameter("choose table, json or markdown", param_hint="--format")
    settings = settings_from(config)
    report = load_catalog(catalog, skip_invalid=skip_invalid, max_field_chars=settings.max_field_chars, max_list_items=settings.max_list_items)
    result = inspect_catalog(report)
    if format == "json":
        print(json.dumps(result.model_dump(), ensure_ascii=False, indent=2))
        return
    if format == "markdown":
        print(inspection_markdown(result))
        return
    console.print(f"[bold]{result.applications}[/] applications ({result.encoding}, list key: {result.list_key or 'bare list'})")
    cov = Table(title="Field coverage")
    cov.add_column("Field")
    cov.add_column("Filled", justify="right")
    cov.add_column("%", justify="right")
    for c in result.coverage:
        style = "red" if c.percent < 25 else ("yellow" if c.percent < 75 else "green")
        cov.add_row(c.label, str(c.filled), f"[{style}]{c.percent}[/]")
    for key, count in result.extra_fields.items():
        cov.add_row(f"[dim]{key} (extra)[/]", str(count), f"{100 * count / max(result.applications, 1):.1f}")
    console.print(cov)
    for title, counts in (("Statuses", result.statuses), ("Domains", result.domains)):
        t = Table(title=title)
        t.add_column("Value")
        t.add_column("Applications", justify="right")
        for k, v in counts.items():
            t.add_row(k, str(v))
        console.print(t)
    an = Table(title="Anomalies")
    an.add_column("Kind")
    an.add_column("Count", justify="right")
    an.add_column("Examples")
    for kind, items in result.anomalies.items():
        an.add_row(kind, str(len(items)), "; ".join(items[:3]) + (" …" if len(items) > 3 else ""))
    console.print(an)
    for rejected in result.rejected:
        err_console.print(f"[yellow]Rejected[/] {rejected}", highlight=False)


def search(
    question: Annotated[str, typer.Argument(help="A question or keywords, in French.")],
    k: Annotated[int, typer.Option("--k", "-k", help="Chunks to show.")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid, dense or bm25.")] = "hybrid",
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
    embedding_model: EmbeddingOption = None,
    chroma_url: ChromaUrlOption = None,
) -> None:
    """Show the retrieved chunks with their dense, BM25 and fused scores (the debugging view of retrieval)."""
    from assistant.retrieval import HybridRetriever

    settings = query_settings(config, require_index=False, workdir=workdir, embedding_model=embedding_model, chroma_url=chroma_url)
    result = HybridRetriever(settings).retrieve(question, k=k, mode=mode)
    linked = ", ".join(f"{e.name} ({e.app_id}, {'exact' if e.exact else f'fuzzy {e.score:.0f}'})" for e in result.entities)
    console.print(f"Linked applications: {linked or 'none'} — relevant: {'yes' if result.relevant else '[red]no[/]'}")
    table = Table(show_lines=True)
    for col in ("#", "chunk", "dense", "BM25", "fused", "text"):
        table.add_column(col)
    for i, s in enumerate(result.chunks, 1):
        fmt = lambda v, r: "–" if v is None else f"{v:.3f} (#{r})"  # noqa: E731
        text = s.chunk.text if len(s.chunk.text) < 400 else s.chunk.text[:400] + "…"
        table.add_row(str(i), s.chunk.id, fmt(s.dense, s.dense_rank), fmt(s.bm25, s.bm25_rank), f"{s.fused:.4f}", text)
    console.print(table)
