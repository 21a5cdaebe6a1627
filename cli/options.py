"""Options shared by several commands, and the one way a command gets its settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from core.choices import BACKEND_NAMES, MODE_NAMES
from core.config import Settings, load_config
from core.errors import DyagError
from ingestion.index import current_generation_dir, with_index_embedding

WorkdirOption = Annotated[
    Path | None, typer.Option("--workdir", "-w", help="Directory holding all Dyag state (index, datasets, runs, reports). Default: ./.dyag")
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML settings file. Default: ./dyag.toml if present.")]
EmbeddingOption = Annotated[
    str | None,
    typer.Option("--embedding-model", help="multilingual-e5-small (default), all-minilm-l6-v2, or a sentence-transformers id/folder."),
]
ChromaUrlOption = Annotated[str | None, typer.Option("--chroma-url", help="Use a Chroma server (e.g. http://127.0.0.1:8000) instead of the embedded store.")]
ModeOption = Annotated[str, typer.Option("--mode", "-m", help=f"{', '.join(MODE_NAMES)} (see `dyag ask --help`).")]
RunOption = Annotated[Path | None, typer.Option("--run", help="Fine-tuning run (its folder, or its name under <workdir>/runs) for the finetuned and hybrid modes.")]
RequiredRunOption = Annotated[Path, typer.Option("--run", help="Fine-tuning run: its folder, or its name under <workdir>/runs.")]
BackendOption = Annotated[str | None, typer.Option("--backend", help=f"{', '.join(BACKEND_NAMES)} (default llamacpp).")]
ModelOption = Annotated[str | None, typer.Option("--model", help="Generator: registry name (dyag models), folder, GGUF file, or served model name.")]


def settings_from(config: Path | None = None, **overrides: Any) -> Settings:
    """Defaults < TOML file < DYAG_* environment < the command's flags (``None``: not given)."""
    return load_config(config_file=config, overrides=overrides)


def query_settings(config: Path | None = None, *, require_index: bool = True, **overrides: Any) -> Settings:
    """Settings for a command that queries the index: its embedding model is the index's own.

    An ``embedding_model`` flag given by the user wins (and is then checked against the index).
    """
    settings = settings_from(config, **overrides)
    if require_index and current_generation_dir(settings.index_dir) is None:
        raise DyagError(f"No index in {settings.index_dir}: run `dyag ingest CATALOG` first (or `dyag demo`).")
    return settings if overrides.get("embedding_model") else with_index_embedding(settings)


def csv_choices(value: str | None, allowed: tuple[str, ...] | list[str], option: str) -> list[str] | None:
    """``"a,b"`` → ``["a", "b"]``, each checked against ``allowed``; ``None`` when not given."""
    if not value:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in allowed]
    if unknown:
        raise DyagError(f"{option}: unknown value(s) {', '.join(unknown)}; choose from {', '.join(allowed)}.")
    return items
