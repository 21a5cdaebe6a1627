"""Retrieved-like contexts for training examples (RAFT): the right chunks plus distractors.

Distractors come from the applications most easily confused with the target — look-alike names
and the same domain — so the model learns to read the context instead of picking any chunk.
"""

from __future__ import annotations

import random
from collections import defaultdict

from rapidfuzz import fuzz, process

from ingestion.chunking import Chunk, chunk_record
from ingestion.records import AppRecord
from ingestion.text_repair import fold


class ContextBuilder:
    """Builds retrieved-like contexts: the right chunks plus distractors from look-alike applications."""

    NEIGHBOURS = 6  # candidate distractor applications per target
    SAME_DOMAIN_BONUS = 30.0

    def __init__(self, records: list[AppRecord], rng: random.Random) -> None:
        self.records, self.rng = records, rng
        self.by_id = {r.id: r for r in records}
        self.chunks = {r.id: chunk_record(r) for r in records}
        self.folded = [fold(r.nom) for r in records]
        self.domain = {r.id: (r.domaines[0].domaine if r.domaines else None) for r in records}
        self.by_domain: dict[str | None, list[int]] = defaultdict(list)
        for i, r in enumerate(records):
            self.by_domain[self.domain[r.id]].append(i)
        self._neighbours: dict[tuple[tuple[str, ...], str | None], list[str]] = {}

    def gold(self, records: list[AppRecord], sections: tuple[str, ...], facts: list[str]) -> list[Chunk]:
        chunks = [c for r in records for c in self.chunks[r.id] if c.section in sections]
        # A section split in parts: keep the parts that hold the facts.
        with_facts = [c for c in chunks if any(f in c.text for f in facts)]
        return with_facts or chunks

    def neighbours(self, target_names: tuple[str, ...], domain: str | None) -> list[str]:
        """Ids of the applications most easily confused with the target: look-alike name, same domain."""
        key = (target_names, domain)
        if key not in self._neighbours:
            targets = [fold(t) for t in target_names]
            candidates = set(self.by_domain.get(domain, [])) if domain else set()
            for t in targets:
                candidates.update(i for _, _, i in process.extract(t, self.folded, scorer=fuzz.ratio, limit=self.NEIGHBOURS + len(targets)))
            scored = []
            for i in candidates:
                if self.folded[i] in targets:
                    continue
                score = max(fuzz.ratio(t, self.folded[i]) for t in targets)
                score += self.SAME_DOMAIN_BONUS if domain and self.domain[self.records[i].id] == domain else 0.0
                scored.append((-score, self.records[i].id))
            self._neighbours[key] = [app_id for _, app_id in sorted(scored)[: self.NEIGHBOURS]]
        return self._neighbours[key]

    def distractors(self, target_names: list[str], exclude: set[str], sections: tuple[str, ...], facts: list[str], domain: str | None) -> list[Chunk]:
        candidates = [i for i in self.neighbours(tuple(target_names), domain) if i not in exclude]
        self.rng.shuffle(candidates)
        wanted = self.rng.choice((2, 3))
        picked: list[Chunk] = []
        for app_id in candidates[:wanted * 2]:
            options = [c for c in self.chunks[app_id] if c.section in sections] or self.chunks[app_id]
            # A distractor that names the target and states its facts would make the refusal wrong.
            options = [c for c in options if not (any(t in c.text for t in target_names) and any(f in c.text for f in facts))]
            if options:
                picked.append(self.rng.choice(options))
            if len(picked) == wanted:
                break
        return picked
