"""``dyag mcp``: start the MCP server of :mod:`cli.mcp_server` (imported only here: it loads the assistant's modules)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from cli.options import ConfigOption, RunOption, WorkdirOption, query_settings
from core.errors import DyagError
from finetune.runs import Run

log = logging.getLogger(__name__)

TRANSPORTS = ("stdio", "http")


def mcp(
    transport: Annotated[str, typer.Option("--transport", help="stdio (default: the client starts the server) or http (streamable HTTP on 127.0.0.1).")] = "stdio",
    port: Annotated[int, typer.Option("--port", help="Port of the http transport.")] = 8766,
    run: RunOption = None,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """MCP server: ask, search, get_application, list_applications and evaluate as tools, the records as resources."""
    if transport not in TRANSPORTS:
        raise DyagError(f"--transport: unknown transport {transport!r}; choose {' or '.join(TRANSPORTS)}.")
    # Checked before serving, so that a missing index is one line on stderr and exit code 2, not a broken session.
    settings = query_settings(config, workdir=workdir)
    if run is not None:
        settings = settings.model_copy(update={"run": Run.find(run, settings.runs_dir).path.resolve()})
    from cli.mcp_server import build_server

    server = build_server(settings)
    log.info("Dyag MCP server (%s) on the index of %s", transport, settings.workdir)
    if transport == "stdio":
        server.run("stdio")
    else:
        # Loopback only: the catalog, and the files the evaluate tool reads, stay on this machine.
        server.run("streamable-http", host="127.0.0.1", port=port)
