"""Shared fixtures: real files, the real embedding model, a real Chroma index of the example catalog."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.config import Settings, load_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CATALOG = ROOT / "examples" / "catalog.json"
DATA = Path(__file__).resolve().parent / "data"


def make_settings(workdir: Path, **overrides) -> Settings:
    shared = {"model_cache": Path(os.environ["DYAG_MODEL_CACHE"])} if "DYAG_MODEL_CACHE" in os.environ else {}
    return load_config(overrides={"workdir": workdir, **shared, **overrides}, env={}, cwd=workdir)


@pytest.fixture(scope="session", autouse=True)
def shared_model_cache(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One intent classifier per embedding model for the whole session (~30 s each to train), as a
    user who sets ``model_cache`` gets: work directories, CLI runs and servers all reuse it."""
    previous = os.environ.get("DYAG_MODEL_CACHE")
    os.environ["DYAG_MODEL_CACHE"] = str(tmp_path_factory.mktemp("model-cache"))
    yield
    if previous is None:
        os.environ.pop("DYAG_MODEL_CACHE", None)
    else:
        os.environ["DYAG_MODEL_CACHE"] = previous


def write_catalog(path: Path, records: list[dict], key: str = "applicationsia mini") -> Path:
    path.write_text(json.dumps({key: records}, ensure_ascii=False), encoding="utf-8")
    return path


def small_records() -> list[dict]:
    """Three short records: cheap to embed, enough to exercise every index path."""
    return [
        {"id": "1", "nom": "ALPHA", "nom long": "Application de test alpha", "statut si": "En production",
         "descriptif": "Suivi des stations de mesure de la qualité de l'eau.",
         "contacts": [{"role de contact": "Chef de projet", "contact": "Anne Martin", "courriel": "anne.martin@example.gouv.fr"}]},
        {"id": "2", "nom": "BETA", "statut si": "En construction", "descriptif": "Gestion des permis de construire."},
        {"id": "3", "nom": "GAMMA", "statut si": "Arrêtée", "descriptif": "Inventaire des espèces protégées."},
    ]


@pytest.fixture(scope="session")
def example_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The example catalog indexed once for the whole session (real embeddings, real Chroma)."""
    from ingestion.ingest import ingest_catalog

    settings = make_settings(tmp_path_factory.mktemp("example-index"))
    ingest_catalog(EXAMPLE_CATALOG, settings)
    return settings
