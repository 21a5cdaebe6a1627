"""The on-disk index: Chroma (dense) + BM25 (sparse) + field store, versioned by generation.

Layout under ``<workdir>/index``::

    CURRENT              name of the live generation (replaced atomically)
    gen-000004/
        manifest.json    embedding model + dimension, counts, catalog hash
        store.sqlite     records and chunk texts (FieldStore)
        bm25/            sparse BM25 matrix
        chroma/          embedded Chroma store (absent in client/server mode)

An ingest builds generation N+1 beside N and only then points CURRENT at it, so an interrupted
or failed run leaves N intact and queryable. The previous generation is kept until the next
ingest, so a process that opened it keeps working.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel

from core.config import Settings
from core.errors import DyagError
from ingestion.bm25 import BM25Index
from ingestion.field_store import FieldStore

log = logging.getLogger(__name__)

CURRENT_FILE = "CURRENT"


class IndexStateError(DyagError, RuntimeError):
    """Base for index problems a user can fix."""


class IndexNotFoundError(IndexStateError):
    pass


class EmbeddingMismatchError(IndexStateError):
    pass


class IndexManifest(BaseModel):
    generation: int
    embedding_model: str
    embedding_dim: int
    collection: str
    chroma_url: str | None = None
    created_at: str
    catalog_path: str
    catalog_sha256: str
    n_apps: int
    n_chunks: int


def current_generation_dir(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT_FILE
    if not pointer.is_file():
        return None
    gen = index_dir / pointer.read_text().strip()
    return gen if (gen / "manifest.json").is_file() else None


def live_manifest(index_dir: Path) -> IndexManifest | None:
    """The manifest of the live index generation, or ``None`` when there is no index yet."""
    gen = current_generation_dir(index_dir)
    if gen is None:
        return None
    return IndexManifest.model_validate_json((gen / "manifest.json").read_text())


def indexed_embedding_model(index_dir: Path) -> str | None:
    """The embedding model of the live index, so queries use it unless the user forces another."""
    manifest = live_manifest(index_dir)
    return manifest.embedding_model if manifest else None


def with_index_embedding(settings: Settings) -> Settings:
    """``settings`` querying with the embedding model that built the live index (unchanged without an index).

    Every query-time entry point (CLI, web app, evaluation) calls this, so a question is embedded
    by the model that embedded the chunks — whatever the configured default says.
    """
    model = indexed_embedding_model(settings.index_dir)
    return settings.model_copy(update={"embedding_model": model}) if model else settings


def new_generation_dir(index_dir: Path) -> tuple[int, Path]:
    """Allocate a never-used generation number: a failed run's folder name is not reused, because
    Chroma caches its clients per path within a process."""
    index_dir.mkdir(parents=True, exist_ok=True)
    counter = index_dir / "LAST_GENERATION"
    existing = [int(p.name.split("-")[1]) for p in index_dir.glob("gen-*") if p.name.split("-")[1].isdigit()]
    last = int(counter.read_text()) if counter.is_file() else 0
    number = max(existing + [last]) + 1
    counter.write_text(str(number))
    return number, index_dir / f"gen-{number:06d}"


def publish_generation(index_dir: Path, gen_dir: Path) -> None:
    """Point CURRENT at ``gen_dir`` atomically, then drop generations older than the previous one."""
    previous = current_generation_dir(index_dir)
    tmp = index_dir / f".{CURRENT_FILE}.tmp"
    tmp.write_text(gen_dir.name)
    os.replace(tmp, index_dir / CURRENT_FILE)
    keep = {gen_dir.name} | ({previous.name} if previous else set())
    for old in index_dir.glob("gen-*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def chroma_client(settings: Settings, gen_dir: Path) -> Any:
    """An embedded client on the generation's folder, or an HTTP client for ``settings.chroma_url``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https", settings=chroma_settings
        )
    return chromadb.PersistentClient(path=str(gen_dir / "chroma"), settings=chroma_settings)


def get_collection(client: Any, name: str, embedding_model: str, dim: int, create: bool) -> Any:
    """The chunk collection; created with cosine space and no embedding function of Chroma's own
    (its default would try to download a model)."""
    if create:
        return client.get_or_create_collection(
            name,
            metadata={"hnsw:space": "cosine", "embedding_model": embedding_model, "embedding_dim": dim},
            embedding_function=None,
        )
    return client.get_collection(name, embedding_function=None)


class CatalogIndex:
    """Read access to the live generation: manifest, records, chunks, BM25 and Chroma."""

    def __init__(self, settings: Settings) -> None:
        gen_dir = current_generation_dir(settings.index_dir)
        if gen_dir is None:
            raise IndexNotFoundError(
                f"No index in {settings.index_dir}. Build one first: dyag ingest CATALOG.json --workdir {settings.workdir}"
            )
        self.settings = settings
        self.gen_dir = gen_dir
        self.manifest = IndexManifest.model_validate_json((gen_dir / "manifest.json").read_text())
        if self.manifest.embedding_model != settings.embedding_model:
            raise EmbeddingMismatchError(
                f"The index in {settings.index_dir} was built with the embedding model "
                f"'{self.manifest.embedding_model}' ({self.manifest.embedding_dim} dimensions), but "
                f"'{settings.embedding_model}' is configured. Query with --embedding-model "
                f"{self.manifest.embedding_model}, or re-index with: dyag ingest CATALOG.json --embedding-model "
                f"{settings.embedding_model}"
            )
        self.store = FieldStore(gen_dir / "store.sqlite")
        self.bm25 = BM25Index.load(gen_dir / "bm25")
        self._collection: Any = None

    @property
    def collection(self) -> Any:
        if self._collection is None:
            client = chroma_client(self.settings, self.gen_dir)
            self._collection = get_collection(
                client, self.manifest.collection, self.manifest.embedding_model, self.manifest.embedding_dim, create=False
            )
            stored = (self._collection.metadata or {}).get("embedding_model")
            if stored and stored != self.manifest.embedding_model:
                raise EmbeddingMismatchError(
                    f"Chroma collection '{self.manifest.collection}' holds '{stored}' embeddings, not "
                    f"'{self.manifest.embedding_model}'. Re-run dyag ingest."
                )
        return self._collection

    def dense_search(self, vector: list[float], k: int, app_ids: list[str] | None = None) -> list[tuple[str, float]]:
        """Top-k (chunk id, cosine similarity), optionally restricted to some applications."""
        if len(vector) != self.manifest.embedding_dim:
            raise EmbeddingMismatchError(
                f"Query vector has {len(vector)} dimensions; the index stores {self.manifest.embedding_dim}."
            )
        where = None
        if app_ids:
            where = {"app_id": app_ids[0]} if len(app_ids) == 1 else {"app_id": {"$in": list(app_ids)}}
        n = min(k, self.manifest.n_chunks) if self.manifest.n_chunks else k
        result = self.collection.query(query_embeddings=[vector], n_results=max(n, 1), where=where, include=["distances"])
        ids = result["ids"][0]
        distances = result["distances"][0]
        return [(chunk_id, 1.0 - float(dist)) for chunk_id, dist in zip(ids, distances)]

    def close(self) -> None:
        self.store.close()


def write_manifest(gen_dir: Path, manifest: IndexManifest) -> None:
    tmp = gen_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest.model_dump(), indent=2, ensure_ascii=False))
    os.replace(tmp, gen_dir / "manifest.json")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
