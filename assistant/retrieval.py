"""Hybrid retrieval: BM25 + dense, fused with reciprocal rank fusion, restricted to the linked app.

Reciprocal rank fusion (Cormack et al., 2009): ``fused(d) = Σ_r 1 / (60 + rank_r(d))`` over the
two rankings. It needs no score calibration between BM25 (unbounded) and cosine (bounded), which
is why it is the standard for hybrid search. Rank-based scores cannot say "nothing is relevant",
so relevance is judged on absolute signals: an application linked by name, or the best dense
similarity / BM25 score clearing a threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.entity_linking import EntityLinker, EntityMatch
from core.config import Settings
from ingestion.chunking import Chunk
from ingestion.embeddings import Embedder, get_embedder
from ingestion.index import CatalogIndex

RRF_K = 60
CANDIDATES = 50
# Calibrated on the example questions (bench/RESULTS.md): in-catalog questions without a named
# app score above these, out-of-catalog ones below.
DENSE_RELEVANCE = {"multilingual-e5-small": 0.83, "all-minilm-l6-v2": 0.45}
BM25_RELEVANCE = 6.0


@dataclass
class ScoredChunk:
    chunk: Chunk
    fused: float
    dense: float | None = None
    bm25: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None


@dataclass
class RetrievalResult:
    question: str
    chunks: list[ScoredChunk]
    entities: list[EntityMatch] = field(default_factory=list)
    relevant: bool = True

    @property
    def app_ids(self) -> list[str]:
        return [e.app_id for e in self.entities]


def rrf(rankings: list[list[str]], k: int = RRF_K) -> dict[str, float]:
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


class HybridRetriever:
    """Retrieval over one index. ``mode`` is 'hybrid' (default), 'dense' or 'bm25' (for comparisons)."""

    def __init__(self, settings: Settings, index: CatalogIndex | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.index = index or CatalogIndex(settings)
        self.embedder = embedder or get_embedder(self.index.manifest.embedding_model)
        self.records = self.index.store.records()
        self.records_by_id = {r.id: r for r in self.records}
        self.linker = EntityLinker(self.records)
        self.dense_threshold = settings.min_relevance or DENSE_RELEVANCE.get(self.embedder.name, 0.5)

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        app_ids: list[str] | None = None,
        mode: str = "hybrid",
        link_entities: bool = True,
    ) -> RetrievalResult:
        k = k or self.settings.top_k
        entities = self.linker.link(question) if link_entities and app_ids is None else []
        if app_ids is None and entities:
            app_ids = [e.app_id for e in entities[:3]]
        allowed = set(self.index.store.chunk_ids_for_apps(app_ids)) if app_ids else None

        dense: list[tuple[str, float]] = []
        sparse: list[tuple[str, float]] = []
        if mode in ("hybrid", "dense"):
            vector = self.embedder.embed_query(question)
            dense = self.index.dense_search(vector, CANDIDATES, app_ids=app_ids)
        if mode in ("hybrid", "bm25"):
            sparse = self.index.bm25.search(question, CANDIDATES, allowed=allowed)

        fused = rrf([[c for c, _ in dense], [c for c, _ in sparse]])
        if app_ids and not fused and allowed:
            # The app is named but no chunk matched the words: its chunks, in section order.
            fused = {chunk_id: 1.0 / (RRF_K + i) for i, chunk_id in enumerate(sorted(allowed), 1)}
        order = sorted(fused, key=lambda c: -fused[c])[:k]
        dense_map = {c: (s, r) for r, (c, s) in enumerate(dense, 1)}
        sparse_map = {c: (s, r) for r, (c, s) in enumerate(sparse, 1)}
        chunks = self.index.store.chunks(order)
        scored = [
            ScoredChunk(
                chunk=chunk,
                fused=fused[chunk.id],
                dense=dense_map.get(chunk.id, (None, None))[0],
                dense_rank=dense_map.get(chunk.id, (None, None))[1],
                bm25=sparse_map.get(chunk.id, (None, None))[0],
                bm25_rank=sparse_map.get(chunk.id, (None, None))[1],
            )
            for chunk in chunks
        ]
        best_dense = max((s for _, s in dense), default=0.0)
        best_bm25 = max((s for _, s in sparse), default=0.0)
        relevant = bool(entities) or bool(app_ids) or best_dense >= self.dense_threshold or best_bm25 >= BM25_RELEVANCE
        return RetrievalResult(question=question, chunks=scored, entities=entities, relevant=relevant)


class DyagRetriever(BaseRetriever):
    """LangChain retriever over a Dyag index: drop it into any LangChain chain.

    Documents carry ``app_id``, ``app_name``, ``section`` and the dense/BM25/fused scores in
    their metadata.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: HybridRetriever
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self.hybrid.retrieve(query, k=self.k)
        if not result.relevant:
            return []
        return [
            Document(
                page_content=s.chunk.text,
                id=s.chunk.id,
                metadata={**s.chunk.metadata, "fused_score": s.fused, "dense_score": s.dense, "bm25_score": s.bm25},
            )
            for s in result.chunks
        ]
