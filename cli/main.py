"""The ``dyag`` command: one Typer app, one list of commands, one place where errors meet the user.

Every command is a plain function in one of the ``cli`` modules, registered here from
:data:`COMMANDS` (``dyag --help`` lists them in this order). :func:`guarded` wraps each: a
:class:`~core.errors.DyagError` prints as one red line and exits with code 2, Ctrl-C exits with
130 and says the previous state is intact; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import logging
from typing import Annotated, Any, Callable, TypeVar

import typer
from rich.markup import escape

from cli import ask, catalog, datasets, evaluate, finetune, mcp, webapp
from cli.console import err_console
from core.errors import DyagError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="dyag",
    help="Dyag — answers about the organisation's application catalog (hybrid RAG + fine-tuned model).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

COMMANDS: list[tuple[str, Callable[..., Any]]] = [
    ("inspect", catalog.inspect),
    ("ingest", catalog.ingest),
    ("search", catalog.search),
    ("generate-training", datasets.generate_training),
    ("analyze-training", datasets.analyze_training),
    ("export-dataset", datasets.export_dataset),
    ("models", finetune.models),
    ("finetune", finetune.finetune),
    ("runs", finetune.runs),
    ("query-finetuned", finetune.query_finetuned),
    ("merge", finetune.merge),
    ("export", finetune.export),
    ("ask", ask.ask),
    ("chat", ask.chat),
    ("serve", ask.serve),
    ("mcp", mcp.mcp),
    ("evaluate", evaluate.evaluate),
    ("compare", evaluate.compare),
    ("demo", evaluate.demo),
    ("app", webapp.app),
]


def guarded(func: F) -> F:
    """User errors as one line and exit code 2; Ctrl-C as exit code 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            err_console.print("[yellow]Interrupted.[/] Previous state is intact; run the command again to continue.")
            raise typer.Exit(130) from None
        except DyagError as exc:
            # soft_wrap: the message stays one line, whatever the terminal width (copy-paste, logs, tests).
            err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@app.callback()
def _root(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show progress logs (dyag -v COMMAND …).")] = False) -> None:
    setup_logging(verbose)


for _name, _command in COMMANDS:
    app.command(_name)(guarded(_command))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
