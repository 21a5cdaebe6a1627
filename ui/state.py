"""Settings and per-process resources of the Streamlit app.

The app is started as ``streamlit run streamlit_app.py -- --workdir DIR`` (what ``dyag app``
runs). The workdir comes from ``--workdir``, else ``DYAG_WORKDIR``, else ``.dyag`` — the usual
:func:`~core.config.load_config` layers, with the script arguments as the top layer.

The :class:`~assistant.answering.Assistant` (index, embedding model, generators) and the catalog
records are cached with ``st.cache_resource``: loaded once per server process and shared by every
browser session. Streamlit does not cache exceptions, so a page that failed because the index was
missing works as soon as ``dyag ingest`` has built it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import streamlit as st

from assistant.answering import Assistant
from core.config import Settings, load_config
from ingestion.index import CatalogIndex, IndexNotFoundError, current_generation_dir, with_index_embedding
from ingestion.records import AppRecord

log = logging.getLogger(__name__)

EXAMPLE_CATALOG = "examples/catalog.json"


def parse_app_args(argv: list[str]) -> dict[str, Path | None]:
    """The settings overrides given after ``--`` on the ``streamlit run`` command line."""
    parser = argparse.ArgumentParser(prog="streamlit_app.py", add_help=False)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--run", type=Path)
    # Unknown arguments are ignored: Streamlit may pass its own, and a typo must not kill the page.
    known, _ = parser.parse_known_args(argv)
    return vars(known)


def app_settings(argv: list[str] | None = None) -> Settings:
    """The settings of this server process, querying with the embedding model that built the index."""
    args = parse_app_args(sys.argv[1:] if argv is None else argv)
    return with_index_embedding(load_config(config_file=args.pop("config"), overrides=args))


def ingest_command(settings: Settings) -> str:
    return f"dyag ingest {EXAMPLE_CATALOG} --workdir {settings.workdir}"


def index_error_message(settings: Settings, exc: Exception) -> str:
    if isinstance(exc, IndexNotFoundError):
        return (
            f"Aucun index du catalogue dans `{settings.index_dir}`. "
            f"Construisez-le avec :\n\n```\n{ingest_command(settings)}\n```"
        )
    return f"L'index du catalogue ne peut pas être ouvert : {exc}\n\nReconstruisez-le avec :\n\n```\n{ingest_command(settings)}\n```"


def index_generation(settings: Settings) -> str | None:
    """The live index generation's name: part of the cache keys, so a new ingest is picked up."""
    gen = current_generation_dir(settings.index_dir)
    return gen.name if gen is not None else None


@st.cache_resource(show_spinner=False, max_entries=4)
def _assistant(settings_json: str, generation: str | None) -> Assistant:
    log.info("Loading the assistant for index generation %s", generation)
    return Assistant(Settings.model_validate_json(settings_json))


def get_assistant(settings: Settings) -> Assistant:
    """The process-wide assistant for these settings (raises ``IndexNotFoundError`` without an index)."""
    return _assistant(settings.model_dump_json(), index_generation(settings))


@st.cache_resource(show_spinner=False, max_entries=4)
def _records(settings_json: str, generation: str | None) -> list[AppRecord]:
    # The catalog page only reads the field store: no embedding model, so it opens instantly
    # even while the assistant is still loading in another session.
    index = CatalogIndex(Settings.model_validate_json(settings_json))
    try:
        return index.store.records()
    finally:
        index.close()


def get_records(settings: Settings) -> list[AppRecord]:
    return _records(settings.model_dump_json(), index_generation(settings))
