"""``dyag app``: start the staff web app (Streamlit) on this machine."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.console import console
from cli.options import ConfigOption, RunOption, WorkdirOption, settings_from
from core.errors import DyagError

log = logging.getLogger(__name__)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def app_script() -> Path:
    """``streamlit_app.py``: installed as a top-level module beside the packages (see pyproject)."""
    spec = importlib.util.find_spec("streamlit_app")
    if spec is None or spec.origin is None:
        raise DyagError("streamlit_app.py is not installed; reinstall Dyag with: pip install -e '.[app]'")
    return Path(spec.origin)


def streamlit_command(script: Path, host: str, port: int, workdir: Path, config: Path | None, run: Path | None) -> list[str]:
    command = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.address", host,
        "--server.port", str(port),
        # Headless: no browser to open on a server, and no first-run e-mail prompt on the terminal.
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        # A staff server: no source watching (it reloads nothing useful), no developer toolbar.
        "--server.fileWatcherType", "none",
        "--client.toolbarMode", "viewer",
        "--", "--workdir", str(workdir),
    ]
    if config is not None:
        command += ["--config", str(config)]
    if run is not None:
        command += ["--run", str(run)]
    return command


def app(
    host: Annotated[str, typer.Option(help="Interface to bind. Default 127.0.0.1 (this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8501,
    run: RunOption = None,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """Web app for staff: chat with sources, mode comparison, the catalog, the evaluation dashboard."""
    if importlib.util.find_spec("streamlit") is None:
        raise DyagError("Streamlit is not installed: pip install -e '.[app]'")
    settings = settings_from(config, workdir=workdir, run=run)
    if host not in LOCAL_HOSTS:
        console.print(f"[yellow]Warning:[/] listening on {host}: other machines can reach the app and query the catalog.")
    console.print(f"Dyag app on http://{host}:{port} (work directory {settings.workdir}); Ctrl-C stops it.")
    command = streamlit_command(app_script(), host, port, settings.workdir.resolve(), config, run)
    log.info("Running %s", " ".join(command))
    try:
        code = subprocess.call(command)
    except KeyboardInterrupt:
        # Streamlit got the same Ctrl-C and stops on its own.
        code = 0
    raise typer.Exit(code)
