"""The ``dyag`` command line: one Typer app assembled from each package's ``register(app)``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ingestion.cli_common import (
    ConfigOption,
    WorkdirOption,
    EmbeddingOption,
    ChromaUrlOption,
    console,
    friendly_errors,
    settings_from,
    setup_logging,
)

app = typer.Typer(
    name="dyag",
    help="Dyag — answers about the organisation's application catalog (hybrid RAG + fine-tuned model).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show progress logs.")] = False) -> None:
    setup_logging(verbose)


@app.command()
@friendly_errors
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
    from ingestion.index import indexed_embedding_model

    settings = settings_from(config, workdir=workdir, embedding_model=embedding_model, chroma_url=chroma_url)
    if embedding_model is None:
        settings.embedding_model = indexed_embedding_model(settings.index_dir) or settings.embedding_model
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


def _register_all() -> None:
    from ingestion import cli as ingestion_cli

    ingestion_cli.register(app)
    for module in ("ingestion.datasets_cli", "finetune.cli", "assistant.ask_cli", "assistant.ui_cli", "eval.cli"):
        try:
            registered = __import__(module, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        registered.register(app)


_register_all()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
