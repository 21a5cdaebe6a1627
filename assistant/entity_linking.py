"""Find which catalog applications a question names — against the whole catalog, no hard-coded list.

Aliases come from each record: short name, long name, id, and the name without hyphens/spaces.
Matching works on folded text (no case, no accents, punctuation as spaces):

1. exact alias occurrences as whole-token sequences; a match inside a longer match is dropped,
   so "8 SINP" links to "8 SINP" and not also to "SINP";
2. only when nothing matched exactly, fuzzy matching of question n-grams against aliases of at
   least 4 characters (typos: "Georisque", "ADSE"), with a high threshold so common words do not
   turn into applications.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from ingestion.records import AppRecord
from ingestion.text_repair import fold

FUZZY_THRESHOLD = 88.0
# Folded words that are never an application on their own, even if an app is called so.
_GENERIC = frozenset({"application", "applications", "app", "logiciel", "outil", "site", "le", "la", "les"})


@dataclass(frozen=True)
class EntityMatch:
    app_id: str
    name: str
    alias: str
    score: float
    start: int
    end: int
    exact: bool


@dataclass(frozen=True)
class _Alias:
    app_id: str
    name: str
    tokens: tuple[str, ...]
    kind: str


class EntityLinker:
    def __init__(self, records: list[AppRecord]) -> None:
        self._aliases: list[_Alias] = []
        self._by_first: dict[str, list[_Alias]] = {}
        self._compact: dict[str, list[_Alias]] = {}
        for record in records:
            candidates = [(record.nom, "nom"), (record.id, "id")]
            long_name = record.fact("nom_long")
            if long_name:
                candidates.append((long_name, "nom_long"))
            for text, kind in candidates:
                tokens = tuple(fold(text).split())
                if not tokens or (len(tokens) == 1 and tokens[0] in _GENERIC):
                    continue
                if kind == "id" and not re.fullmatch(r"[a-z]*\d[\w]*", tokens[0]):
                    continue
                alias = _Alias(record.id, record.nom, tokens, kind)
                self._aliases.append(alias)
                self._by_first.setdefault(tokens[0], []).append(alias)
                compact = "".join(tokens)
                if len(tokens) > 1 and len(compact) >= 4 and kind == "nom":
                    self._compact.setdefault(compact, []).append(alias)

    def link(self, question: str) -> list[EntityMatch]:
        """Applications named in ``question``, best first; at most one match per application."""
        tokens = fold(question).split()
        matches = self._exact(tokens)
        if not matches:
            matches = self._fuzzy(tokens)
        best: dict[str, EntityMatch] = {}
        for m in sorted(matches, key=lambda m: (-m.score, -(m.end - m.start))):
            best.setdefault(m.app_id, m)
        return sorted(best.values(), key=lambda m: (-m.score, m.start))

    def _exact(self, tokens: list[str]) -> list[EntityMatch]:
        found: list[EntityMatch] = []
        for i, tok in enumerate(tokens):
            for alias in self._by_first.get(tok, []):
                n = len(alias.tokens)
                if tuple(tokens[i : i + n]) == alias.tokens:
                    # ids are numbers: only trust them with a cue ("id 1024", "identifiant") or when long.
                    if alias.kind == "id" and len(alias.tokens[0]) < 4 and not (i > 0 and tokens[i - 1] in {"id", "identifiant"}):
                        continue
                    found.append(EntityMatch(alias.app_id, alias.name, " ".join(alias.tokens), 100.0, i, i + n, True))
            for n in (2, 3):
                compact = "".join(tokens[i : i + n])
                if len(tokens[i : i + n]) == n:
                    for alias in self._compact.get(compact, []):
                        found.append(EntityMatch(alias.app_id, alias.name, compact, 99.0, i, i + n, True))
            for alias in self._compact.get(tok, []):
                found.append(EntityMatch(alias.app_id, alias.name, tok, 99.0, i, i + 1, True))
        # Drop matches strictly inside a longer one (maximal munch).
        return [
            m for m in found
            if not any(o is not m and o.start <= m.start and m.end <= o.end and (o.end - o.start) > (m.end - m.start) for o in found)
        ]

    def _fuzzy(self, tokens: list[str]) -> list[EntityMatch]:
        found: list[EntityMatch] = []
        for alias in self._aliases:
            if alias.kind == "id":
                continue
            target = " ".join(alias.tokens)
            if len(target) < 4:
                continue
            n = len(alias.tokens)
            for size in {max(1, n - 1), n, n + 1}:
                for i in range(0, max(len(tokens) - size + 1, 0)):
                    window = " ".join(tokens[i : i + size])
                    # Typos rarely hit the first letter; without this, "monde" would be "ONDE".
                    if window[:1] != target[:1] or abs(len(window) - len(target)) > max(2, len(target) // 4):
                        continue
                    score = fuzz.ratio(window, target)
                    if score >= FUZZY_THRESHOLD:
                        found.append(EntityMatch(alias.app_id, alias.name, target, score, i, i + size, False))
        return found
