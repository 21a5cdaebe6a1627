"""Indexing with the real embedding model and real Chroma (embedded and client/server)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingestion.catalog import CatalogError
from ingestion.embeddings import get_embedder
from ingestion.index import (
    CatalogIndex,
    EmbeddingMismatchError,
    IndexNotFoundError,
    current_generation_dir,
)
from ingestion.ingest import ingest_catalog
from tests.conftest import DATA, make_settings, small_records, write_catalog


class CountingEmbedder:
    """The real packaged model, counting what it is asked to embed (to prove incrementality)."""

    def __init__(self, name: str = "multilingual-e5-small") -> None:
        self.inner = get_embedder(name)
        self.name, self.dim = self.inner.name, self.inner.dim
        self.embedded: list[str] = []

    def embed_passages(self, texts):
        self.embedded.extend(texts)
        return self.inner.embed_passages(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)

    def embed_questions(self, texts):
        return self.inner.embed_questions(texts)


def test_incremental_reindex_embeds_only_changes(tmp_path):
    settings = make_settings(tmp_path / "w")
    records = small_records()
    catalog = write_catalog(tmp_path / "c.json", records)
    first = CountingEmbedder()
    s1 = ingest_catalog(catalog, settings, embedder=first)
    assert s1.added == s1.chunks and s1.updated == s1.removed == 0
    assert len(first.embedded) == s1.chunks

    records[1]["descriptif"] = "Gestion des permis de construire et d'aménager."
    del records[2]
    write_catalog(catalog, records)
    second = CountingEmbedder()
    s2 = ingest_catalog(catalog, settings, embedder=second)
    assert s2.updated == 1 and s2.embedded == 1 and s2.removed >= 2  # GAMMA's overview + description
    assert s2.added == 0 and s2.unchanged == s1.chunks - 1 - s2.removed
    assert len(second.embedded) == 1 and "aménager" in second.embedded[0]

    index = CatalogIndex(settings)
    ids = set(index.store.chunk_hashes())
    assert not any(chunk_id.startswith("3:") for chunk_id in ids)
    assert index.collection.count() == len(ids)
    assert set(index.bm25.ids) == ids
    hits = index.dense_search(second.embed_query("permis d'aménager"), 3)
    assert hits[0][0] == "2:description:0"
    assert [r.id for r in index.store.records()] == ["1", "2"]


def test_query_with_another_model_is_refused(tmp_path):
    settings = make_settings(tmp_path / "w")
    ingest_catalog(write_catalog(tmp_path / "c.json", small_records()), settings)
    other = make_settings(tmp_path / "w", embedding_model="all-minilm-l6-v2")
    with pytest.raises(EmbeddingMismatchError, match="multilingual-e5-small.*all-minilm-l6-v2"):
        CatalogIndex(other)


def test_changing_model_rebuilds_everything(tmp_path):
    catalog = write_catalog(tmp_path / "c.json", small_records())
    ingest_catalog(catalog, make_settings(tmp_path / "w"))
    summary = ingest_catalog(catalog, make_settings(tmp_path / "w", embedding_model="all-minilm-l6-v2"))
    assert summary.full_rebuild and summary.added == summary.chunks
    index = CatalogIndex(make_settings(tmp_path / "w", embedding_model="all-minilm-l6-v2"))
    assert index.manifest.embedding_dim == 384 and index.collection.count() == summary.chunks


def test_no_index_gives_the_command_to_run(tmp_path):
    with pytest.raises(IndexNotFoundError, match="dyag ingest"):
        CatalogIndex(make_settings(tmp_path / "empty"))


@pytest.mark.parametrize("bad", ["not_json.json", "missing_nom.json", "duplicate_ids.json", "empty.json", "truncated.json"])
def test_failed_ingest_keeps_previous_index(tmp_path, bad):
    settings = make_settings(tmp_path / "w")
    ingest_catalog(write_catalog(tmp_path / "c.json", small_records()), settings)
    before = current_generation_dir(settings.index_dir)
    with pytest.raises(CatalogError):
        ingest_catalog(DATA / bad, settings)
    assert current_generation_dir(settings.index_dir) == before
    assert len(CatalogIndex(settings).store.records()) == 3


def test_interrupted_embedding_keeps_previous_index(tmp_path):
    settings = make_settings(tmp_path / "w")
    records = small_records()
    catalog = write_catalog(tmp_path / "c.json", records)
    ingest_catalog(catalog, settings)
    before = current_generation_dir(settings.index_dir)

    class Interrupting(CountingEmbedder):
        def embed_passages(self, texts):
            raise KeyboardInterrupt

    records[0]["descriptif"] = "Nouvelle description."
    write_catalog(catalog, records)
    with pytest.raises(KeyboardInterrupt):
        ingest_catalog(catalog, settings, embedder=Interrupting())
    assert current_generation_dir(settings.index_dir) == before
    assert sorted(p.name for p in settings.index_dir.glob("gen-*")) == [before.name]
    index = CatalogIndex(settings)
    assert "qualité de l'eau" in index.store.chunks(["1:description:0"])[0].text
    # The next run completes the change.
    assert ingest_catalog(catalog, settings).updated == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    port = _free_port()
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("chroma run did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


def test_chroma_server_mode(tmp_path, chroma_server):
    settings = make_settings(tmp_path / "w", chroma_url=chroma_server, collection="test_server")
    records = small_records()
    catalog = write_catalog(tmp_path / "c.json", records)
    first = ingest_catalog(catalog, settings)
    assert not (current_generation_dir(settings.index_dir) / "chroma").exists()
    index = CatalogIndex(settings)
    assert index.collection.count() == first.chunks
    vector = get_embedder("multilingual-e5-small").embed_query("espèces protégées")
    assert index.dense_search(vector, 1)[0][0].startswith("3:")

    records[0]["statut si"] = "Arrêtée"
    write_catalog(catalog, records)
    second = ingest_catalog(catalog, settings)
    # The status is in every chunk's metadata, but only the overview's text mentions it.
    assert second.updated == 3 and second.embedded == 1 and second.added == 0
    assert CatalogIndex(settings).collection.count() == first.chunks


def test_cli_errors_are_one_clear_line(tmp_path):
    env_workdir = str(tmp_path / "w")
    for name, needle in [("missing_nom.json", "record #1"), ("duplicate_ids.json", "duplicate id"), ("not_json.json", "not valid JSON")]:
        proc = subprocess.run(
            [sys.executable, "-m", "cli.main", "ingest", str(DATA / name), "--workdir", env_workdir],
            capture_output=True, text=True, timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        assert needle in proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout


def test_cli_skip_invalid_reports_rejected(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "ingest", str(DATA / "missing_nom.json"), "--skip-invalid", "--workdir", str(tmp_path / "w")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Rejected" in proc.stderr and "902" in proc.stderr
    assert "Applications" in proc.stdout


def test_cli_inspect_json(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "inspect", str(DATA / "mixed_types.json"), "--format", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["applications"] == 3
    fonctions = next(c for c in data["coverage"] if c["field"] == "fonctions")
    assert fonctions["filled"] == 2


def test_cli_ingest_then_search_shows_scores(tmp_path):
    catalog = write_catalog(tmp_path / "c.json", small_records())
    workdir = str(tmp_path / "w")
    run = lambda *args: subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, timeout=300)  # noqa: E731
    ingested = run("ingest", str(catalog), "--workdir", workdir)
    assert ingested.returncode == 0, ingested.stderr
    assert re.search(r"\d+ / 0 / 0 / 0", ingested.stdout) and "Applications" in ingested.stdout
    found = run("search", "espèces protégées", "--workdir", workdir, "--k", "2")
    assert found.returncode == 0, found.stderr
    assert "3:description:0" in found.stdout and "fused" in found.stdout
    missing = run("search", "x", "--workdir", str(tmp_path / "none"))
    assert missing.returncode == 2 and "dyag ingest" in missing.stderr
