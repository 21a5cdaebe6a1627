"""Shared fixtures: real files, the real embedding model, a real Chroma index of the example catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import Settings, load_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CATALOG = ROOT / "examples" / "catalog.json"
DATA = Path(__file__).resolve().parent / "data"


def make_settings(workdir: Path, **overrides) -> Settings:
    return load_config(overrides={"workdir": workdir, **overrides}, env={}, cwd=workdir)


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
