"""``dyag ask``, ``dyag chat`` and ``dyag serve``."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel

from cli.console import console, err_console
from cli.options import (
    BackendOption,
    ConfigOption,
    ModelOption,
    ModeOption,
    RunOption,
    WorkdirOption,
    query_settings,
)
from core.config import Settings
from core.errors import DyagError
from finetune.runs import Run

# Seconds `dyag serve` lets running requests finish after Ctrl-C or SIGTERM.
SHUTDOWN_GRACE_S = 5


def _settings(workdir: Path | None, config: Path | None, run: Path | None, backend: str | None, model: str | None) -> Settings:
    settings = query_settings(config, require_index=False, workdir=workdir, backend=backend, generator_model=model)
    if run is not None:
        # A run name (under <workdir>/runs) or a folder; the settings then hold its folder.
        settings = settings.model_copy(update={"run": Run.find(run, settings.runs_dir).path.resolve()})
    return settings


def _assistant(settings: Settings):  # type: ignore[no-untyped-def]
    from assistant.answering import Assistant

    return Assistant(settings)


def _stopping_server(config: Any) -> Any:
    """A uvicorn server for ``config`` (imported here: uvicorn is only needed by ``dyag serve``)."""
    import uvicorn

    from assistant.backends import clear_model_cache

    class StoppingServer(uvicorn.Server):
        """Closes the models first on Ctrl-C or SIGTERM: the answer being generated stops at its next
        token and the ones queued behind it fail at once (HTTP 503), instead of each being generated
        in turn while shutdown waits; answers that need no model finish within the grace period."""

        async def shutdown(self, sockets: list[Any] | None = None) -> None:
            await asyncio.get_running_loop().run_in_executor(None, clear_model_cache)
            await super().shutdown(sockets)

    return StoppingServer(config)


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


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
    from assistant.limits import checked_question

    settings = _settings(workdir, config, run, backend, model)
    question = checked_question(question, settings)
    assistant = _assistant(settings)
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
    from assistant.limits import checked_question

    assistant = _assistant(_settings(workdir, config, run, backend, model))
    conversation = Conversation()
    console.print(Panel("Posez vos questions sur le catalogue des applications. Ligne vide pour quitter.", title="Dyag"))
    while True:
        try:
            question = console.input("[bold cyan]Vous>[/] ").strip()
        except EOFError:
            break
        if not question:
            break
        try:
            question = checked_question(question, assistant.settings)
        except DyagError as exc:  # one question too long: say so and keep the conversation going
            err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            continue
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
    """HTTP API: POST /ask and an OpenAI-compatible POST /v1/chat/completions.

    Off this machine (a --host that is not loopback) it needs api_token (DYAG_API_TOKEN): clients
    then send ``Authorization: Bearer <token>``.
    """
    import uvicorn

    from assistant.server import create_app

    settings = _settings(workdir, config, run, backend, model)
    bind_host = host or settings.host
    bind_port = port or settings.port
    if not _is_loopback(bind_host):
        if settings.api_token is None:
            raise DyagError(
                f"Listening on {bind_host} lets other machines query the API: set a bearer token first "
                "(DYAG_API_TOKEN=<16+ random characters>, or api_token in dyag.toml), or serve on 127.0.0.1."
            )
        console.print(f"[yellow]Warning:[/] listening on {bind_host}: other machines holding the token can query the catalog.")
    app = create_app(_assistant(settings))
    auth = " · bearer token required" if settings.api_token else ""
    console.print(f"Dyag API on http://{bind_host}:{bind_port} (POST /ask, POST /v1/chat/completions){auth}")
    _stopping_server(
        uvicorn.Config(app, host=bind_host, port=bind_port, log_level="warning", timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
    ).run()
