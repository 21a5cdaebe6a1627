"""BM25 over the chunks, with French-aware tokenisation, stored as a sparse matrix.

Local Chroma has no keyword search, so the sparse half of hybrid retrieval lives here. The
index is a CSC matrix of per-(term, chunk) BM25 weights: scoring a query is one sparse
row-sum, ~milliseconds at 100k chunks, where a pure-Python BM25 walks every document.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import sparse

from ingestion.text_repair import fold

# Frequent French function words and catalog boilerplate that only add noise to BM25.
FRENCH_STOPWORDS = frozenset(
    """a au aux avec ce ces dans de des du elle en est et eux il ils je la le les leur lui ma mais me meme mes moi mon
    ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous c d j l m
    n s t y ete etre sont quel quelle quels quelles quoi comment est-ce cette cet il elle application applications""".split()
)


def tokenize(text: str) -> list[str]:
    """Accent- and case-insensitive tokens; plural ``s``/``x`` stripped so "domaines" matches "domaine"."""
    tokens = []
    for tok in fold(text).split():
        if tok in FRENCH_STOPWORDS:
            continue
        if len(tok) > 5 and tok[-1] in "sx" and not tok[-2].isdigit():
            tok = tok[:-1]
        tokens.append(tok)
    return tokens


class BM25Index:
    """Okapi BM25 (k1=1.5, b=0.75) over a fixed list of chunk ids."""

    def __init__(self, ids: list[str], vocab: dict[str, int], weights: sparse.csr_matrix) -> None:
        self.ids = ids
        self.vocab = vocab
        self.weights = weights  # shape (n_terms, n_chunks)
        self._position = {chunk_id: i for i, chunk_id in enumerate(ids)}

    @classmethod
    def build(cls, ids: list[str], texts: list[str], k1: float = 1.5, b: float = 0.75) -> "BM25Index":
        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.zeros(len(texts), dtype=np.float32)
        for doc, text in enumerate(texts):
            counts: dict[int, int] = {}
            tokens = tokenize(text)
            lengths[doc] = len(tokens)
            for tok in tokens:
                term = vocab.setdefault(tok, len(vocab))
                counts[term] = counts.get(term, 0) + 1
            for term, tf in counts.items():
                rows.append(term)
                cols.append(doc)
                tfs.append(tf)
        n_docs = max(len(texts), 1)
        avg_len = float(lengths.mean()) if len(texts) else 1.0
        tf = np.asarray(tfs, dtype=np.float32)
        rows_a = np.asarray(rows, dtype=np.int64)
        cols_a = np.asarray(cols, dtype=np.int64)
        df = np.bincount(rows_a, minlength=len(vocab)).astype(np.float32)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        norm = k1 * (1 - b + b * lengths[cols_a] / max(avg_len, 1e-9))
        weight = idf[rows_a] * tf * (k1 + 1) / (tf + norm)
        matrix = sparse.csr_matrix((weight, (rows_a, cols_a)), shape=(len(vocab), len(texts)), dtype=np.float32)
        return cls(list(ids), vocab, matrix)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros where no term matches)."""
        terms = [self.vocab[t] for t in tokenize(query) if t in self.vocab]
        if not terms or not self.ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.weights[terms].sum(axis=0)).ravel()

    def search(self, query: str, k: int = 10, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Top-k (chunk id, score) with a positive score, optionally only among ``allowed`` ids."""
        scores = self.scores(query)
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=bool)
            for chunk_id in allowed:
                pos = self._position.get(chunk_id)
                if pos is not None:
                    mask[pos] = True
            scores = np.where(mask, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if candidates.size == 0:
            return []
        top = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
        return [(self.ids[i], float(scores[i])) for i in top]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        sparse.save_npz(directory / "weights.npz", self.weights)
        (directory / "terms.json").write_text(json.dumps({"ids": self.ids, "vocab": self.vocab}, ensure_ascii=False))

    @classmethod
    def load(cls, directory: Path) -> "BM25Index":
        meta = json.loads((directory / "terms.json").read_text())
        return cls(meta["ids"], meta["vocab"], sparse.load_npz(directory / "weights.npz").tocsr())

