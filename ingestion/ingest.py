"""``dyag ingest``: catalog → records → chunks → embeddings → a new index generation.

Everything that can fail on bad input (reading, parsing, normalising) happens before the index
is touched; the new generation is built beside the live one and published atomically at the
end, so the previous index stays usable whatever happens.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.config import Settings
from ingestion.bm25 import BM25Index
from ingestion.catalog import CatalogError, LoadReport, load_catalog
from ingestion.chunking import Chunk, chunk_records
from ingestion.embeddings import Embedder, get_embedder
from ingestion.field_store import FieldStore
from ingestion.index import (
    IndexManifest,
    chroma_client,
    current_generation_dir,
    get_collection,
    new_generation_dir,
    publish_generation,
    utc_now,
    write_manifest,
)
from ingestion.intent_model import ensure_intent_model

log = logging.getLogger(__name__)

UPSERT_BATCH = 2048

# Progress callback: (step description, done, total).
Progress = Callable[[str, int, int], None]


@dataclass
class IngestSummary:
    applications: int
    chunks: int
    added: int
    updated: int
    removed: int
    unchanged: int
    embedded: int
    seconds: float
    embedding_model: str
    generation: int
    rejected: list[CatalogError] = field(default_factory=list)
    full_rebuild: bool = False


def _diff(new: list[Chunk], old_hashes: dict[str, str]) -> tuple[list[Chunk], list[Chunk], list[str], int]:
    added, updated = [], []
    unchanged = 0
    for chunk in new:
        old = old_hashes.get(chunk.id)
        if old is None:
            added.append(chunk)
        elif old != chunk.content_hash:
            updated.append(chunk)
        else:
            unchanged += 1
    new_ids = {c.id for c in new}
    removed = [chunk_id for chunk_id in old_hashes if chunk_id not in new_ids]
    return added, updated, removed, unchanged


def ingest_catalog(
    catalog_path: Path,
    settings: Settings,
    *,
    skip_invalid: bool = False,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> IngestSummary:
    """Index ``catalog_path`` into ``settings.index_dir``, re-embedding only changed chunks."""
    started = time.perf_counter()
    report: LoadReport = load_catalog(
        catalog_path, skip_invalid=skip_invalid, max_field_chars=settings.max_field_chars, max_list_items=settings.max_list_items
    )
    chunks = chunk_records(report.records, settings.chunk_words)
    embedder = embedder or get_embedder(settings.embedding_model)

    index_dir = settings.index_dir
    previous = current_generation_dir(index_dir)
    number, gen_dir = new_generation_dir(index_dir)
    old_manifest = IndexManifest.model_validate_json((previous / "manifest.json").read_text()) if previous else None
    full_rebuild = bool(
        old_manifest
        and (old_manifest.embedding_model != embedder.name or (old_manifest.chroma_url or None) != (settings.chroma_url or None))
    )
    try:
        if previous and not full_rebuild and not settings.chroma_url:
            shutil.copytree(previous, gen_dir)
        else:
            gen_dir.mkdir(parents=True)
            if previous and not full_rebuild:
                # Client/server mode: the vectors live on the server; only the hashes are carried over.
                shutil.copy2(previous / "store.sqlite", gen_dir / "store.sqlite")
        store = FieldStore(gen_dir / "store.sqlite")
        old_hashes = {} if full_rebuild else store.chunk_hashes()
        added, updated, removed, unchanged = _diff(chunks, old_hashes)

        client = chroma_client(settings, gen_dir)
        if full_rebuild and settings.chroma_url:
            existing = {c.name if hasattr(c, "name") else c for c in client.list_collections()}
            if settings.collection in existing:
                client.delete_collection(settings.collection)
        collection = get_collection(client, settings.collection, embedder.name, embedder.dim, create=True)
        stored_model = (collection.metadata or {}).get("embedding_model")
        if stored_model and stored_model != embedder.name:
            raise CatalogError(
                f"The Chroma collection '{settings.collection}' already holds '{stored_model}' embeddings. "
                "Use another --collection name for another embedding model."
            )
        if removed:
            collection.delete(ids=removed)
        # A chunk whose text is unchanged (only its metadata, e.g. the app's status) keeps its vector.
        old_texts = {c.id: c.text for c in store.chunks([c.id for c in updated])}
        metadata_only = [c for c in updated if old_texts.get(c.id) == c.text]
        if metadata_only:
            collection.update(
                ids=[c.id for c in metadata_only],
                metadatas=[{**c.metadata, "hash": c.content_hash} for c in metadata_only],
            )
        to_embed = added + [c for c in updated if old_texts.get(c.id) != c.text]
        # Embed in small batches (progress, memory) but write to Chroma in large ones: each
        # upsert has a fixed cost (a transaction, an HNSW update) that dominates small batches.
        batch = settings.embed_batch_size
        pending: list[tuple[Chunk, Any]] = []

        def flush() -> None:
            if pending:
                collection.upsert(
                    ids=[c.id for c, _ in pending],
                    embeddings=np.stack([v for _, v in pending]),
                    documents=[c.text for c, _ in pending],
                    metadatas=[{**c.metadata, "hash": c.content_hash} for c, _ in pending],
                )
                pending.clear()

        for start in range(0, len(to_embed), batch):
            part = to_embed[start : start + batch]
            vectors = embedder.embed_passages([c.text for c in part])
            pending.extend(zip(part, vectors))
            if len(pending) >= UPSERT_BATCH:
                flush()
            if progress:
                progress("embedding", min(start + batch, len(to_embed)), len(to_embed))
        flush()
        store.replace_all(report.records, chunks)
        store.close()
        BM25Index.build([c.id for c in chunks], [c.text for c in chunks]).save(gen_dir / "bm25")
        if progress:
            progress("intent model", 0, 1)
        ensure_intent_model(gen_dir, settings.intent_cache, embedder.embed_questions, embedder.name)
        write_manifest(
            gen_dir,
            IndexManifest(
                generation=number,
                embedding_model=embedder.name,
                embedding_dim=embedder.dim,
                collection=settings.collection,
                chroma_url=settings.chroma_url,
                created_at=utc_now(),
                catalog_path=str(catalog_path),
                catalog_sha256=hashlib.sha256(Path(catalog_path).read_bytes()).hexdigest(),
                n_apps=len(report.records),
                n_chunks=len(chunks),
            ),
        )
        publish_generation(index_dir, gen_dir)
    except BaseException:
        # Nothing was published: the live generation is untouched; drop the half-built one.
        shutil.rmtree(gen_dir, ignore_errors=True)
        raise
    return IngestSummary(
        applications=len(report.records),
        chunks=len(chunks),
        added=len(added),
        updated=len(updated),
        removed=len(removed),
        unchanged=unchanged,
        embedded=len(to_embed),
        seconds=time.perf_counter() - started,
        embedding_model=embedder.name,
        generation=number,
        rejected=report.rejected,
        full_rebuild=full_rebuild,
    )
