"""What every ``dyag`` command shares: the common options, settings, and error reporting.

Each package exposes ``register(app)`` in its own ``cli`` module; ``assistant.cli`` builds the
one Typer app from them. Errors a user can fix are printed as one plain sentence with exit code
2 (1 for an unexpected failure), never as a traceback.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Annotated, Any, Callable, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from ingestion.config import ConfigError, Settings, load_config

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

WorkdirOption = Annotated[
    Path | None, typer.Option("--workdir", "-w", help="Directory holding all Dyag state (index, datasets, runs, reports). Default: ./.dyag")
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="TOML settings file. Default: ./dyag.toml if present.")]
EmbeddingOption = Annotated[
    str | None,
    typer.Option("--embedding-model", help="multilingual-e5-small (default), all-minilm-l6-v2, or a sentence-transformers id/folder."),
]
ChromaUrlOption = Annotated[str | None, typer.Option("--chroma-url", help="Use a Chroma server (e.g. http://127.0.0.1:8000) instead of the embedded store.")]


class UserError(Exception):
    """An error whose message is the whole story for the user."""


def settings_from(config: Path | None = None, **overrides: Any) -> Settings:
    return load_config(config_file=config, overrides=overrides)


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types whose message is meant for the user (imported lazily: some modules are heavy)."""
    from ingestion.catalog import CatalogError
    from ingestion.embeddings import EmbeddingModelError
    from ingestion.index import IndexStateError

    extra: list[type[BaseException]] = []
    try:
        from ingestion.dataset_formats import DatasetError

        extra.append(DatasetError)
    except ImportError:
        pass
    return (UserError, ConfigError, CatalogError, IndexStateError, EmbeddingModelError, FileNotFoundError, *extra)


def friendly_errors(func: F) -> F:
    """Turn user errors into one red line and exit code 2; Ctrl-C into exit 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            err_console.print("[yellow]Interrupted.[/] Previous state is intact; run the command again to continue.")
            raise typer.Exit(130) from None
        except user_errors() as exc:
            # soft_wrap: the message stays one line, whatever the terminal width (copy-paste, logs, tests).
            err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
