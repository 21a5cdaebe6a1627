"""``dyag ask``, ``dyag chat`` and ``dyag serve``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel

from cli.console import console
from cli.options import (
    BackendOption,
    ConfigOption,
    ModelOption,
    ModeOption,
    RunOption,
    WorkdirOption,
    query_settings,
)
from finetune.runs import Run


def _assistant(workdir: Path | None, config: Path | None, run: Path | None, backend: str | None, model: str | None):  # type: ignore[no-untyped-def]
    from assistant.answering import Assistant

    settings = query_settings(config, require_index=False, workdir=workdir, backend=backend, generator_model=model)
    if run is not None:
        # A run name (under <workdir>/runs) or a folder; the settings then hold its folder.
        settings = settings.model_copy(update={"run": Run.find(run, settings.runs_dir).path.resolve()})
    return Assistant(settings)


def _print_sources(answer) -> None:  # type: ignore[no-untyped-def]
    if answer.sources:
        seen = []
        for s in answer.sources:
            label = f"{s.app_name} ({s.app_id}, {s.section})"
            if label not in seen:
                seen.append(label)
        console.print("[dim]Sources : " + " · ".join(seen) + "[/]")
    console.print(f"[dim]mode {answer.mode_used} · {answer.latency_ms:.0f} ms" + (" · abstention" if answer.abstained else "") + "[/]")


def _print_streamed(events) -> None:  # type: ignore[no-untyped-def]
    """Print text pieces as they arrive, then the final answer's sources and mode.

    A generated answer the guards rejected ends as the refusal: it is printed after what was shown.
    """
    shown = ""
    for event in events:
        if isinstance(event, str):
            shown += event
            console.print(event, end="", markup=False, highlight=False)
        else:
            if event.answer.strip() != shown.strip():
                console.print(("\n" if shown else "") + event.answer, markup=False, highlight=False, end="")
            console.print()
            _print_sources(event)


def ask(
    question: Annotated[str, typer.Argument(help="Your question, in French.")],
    mode: ModeOption = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the full answer object as JSON.")] = False,
    run: RunOption = None,
    backend: BackendOption = None,
    model: ModelOption = None,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """Answer one question about the catalog, with its sources."""
    assistant = _assistant(workdir, config, run, backend, model)
    if as_json:
        print(json.dumps(assistant.ask(question, mode).model_dump(), ensure_ascii=False, indent=2))
        return
    _print_streamed(assistant.stream(question, mode))


def chat(
    mode: ModeOption = "auto",
    run: RunOption = None,
    backend: BackendOption = None,
    model: ModelOption = None,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """Interactive, multi-turn chat (follow-ups such as « et son contact ? » work). Empty line or Ctrl-D quits."""
    from assistant.answering import Conversation

    assistant = _assistant(workdir, config, run, backend, model)
    conversation = Conversation()
    console.print(Panel("Posez vos questions sur le catalogue des applications. Ligne vide pour quitter.", title="Dyag"))
    while True:
        try:
            question = console.input("[bold cyan]Vous>[/] ").strip()
        except EOFError:
            break
        if not question:
            break
        console.print("[bold green]Dyag>[/] ", end="")
        _print_streamed(assistant.stream(question, mode, conversation))


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind. Default 127.0.0.1 (this machine only).")] = None,
    port: Annotated[int | None, typer.Option(help="Port. Default 8765.")] = None,
    run: RunOption = None,
    backend: BackendOption = None,
    model: ModelOption = None,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """HTTP API: POST /ask and an OpenAI-compatible POST /v1/chat/completions."""
    import uvicorn

    from assistant.server import create_app

    assistant = _assistant(workdir, config, run, backend, model)
    settings = assistant.settings
    bind_host = host or settings.host
    bind_port = port or settings.port
    if bind_host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]Warning:[/] listening on {bind_host}: other machines can query the catalog.")
    console.print(f"Dyag API on http://{bind_host}:{bind_port} (POST /ask, POST /v1/chat/completions)")
    uvicorn.run(create_app(assistant), host=bind_host, port=bind_port, log_level="warning")
