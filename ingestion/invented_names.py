"""Plausible application names that the catalog does not hold: the out-of-catalog questions.

A model that answers "Le statut de GéoVeille est « En production »" about an application that
does not exist is the worst failure for staff; the training data teaches the refusal on such
names, and the evaluation checks it.
"""

from __future__ import annotations

import logging
import random
from typing import Sequence

from rapidfuzz import fuzz, process

from ingestion.records import AppRecord
from ingestion.text_repair import fold

log = logging.getLogger(__name__)


_FAKE_HEADS = ("Géo", "Hydro", "Eco", "Télé", "Agri", "Urba", "Terra", "Clima", "Néo", "Aqua", "Litto", "Sylva", "Fauna", "Ponto", "Orbi")
_FAKE_TAILS = ("Suivi", "Plan", "Stat", "Veille", "Flux", "Carto", "Base", "Gest", "Dépôt", "Déclar", "Net", "Trace", "Pilote", "Bilan")
MAX_NAME_SIMILARITY = 70.0


def _fake_candidate(rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return rng.choice(_FAKE_HEADS) + rng.choice(_FAKE_TAILS)
    if style == 1:
        return f"{rng.choice(_FAKE_HEADS)}-{rng.choice(_FAKE_TAILS)}"
    acronym = "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVZ") for _ in range(rng.randint(4, 6)))
    return acronym if style == 2 else f"SI-{acronym}"


def invent_app_names(records: Sequence[AppRecord], n: int, seed: int = 0) -> list[str]:
    """``n`` plausible application names that do not fuzzy-match any name or long name of the catalog."""
    rng = random.Random(seed)
    known = [fold(v) for r in records for v in (r.nom, r.fact("nom_long")) if v]
    names: list[str] = []
    for _ in range(n * 200):
        if len(names) == n:
            break
        name = _fake_candidate(rng)
        key = fold(name)
        if name in names or not key:
            continue
        match = process.extractOne(key, known, scorer=fuzz.ratio) if known else None
        if match is None or match[1] < MAX_NAME_SIMILARITY:
            names.append(name)
    if len(names) < n:
        log.warning("Only %d out-of-catalog names could be invented (asked for %d)", len(names), n)
    return names
