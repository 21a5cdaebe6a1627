"""How staff ask: varied phrasings per question type, for the intent classifier only.

The registry's templates (:data:`ingestion.question_types.QUESTION_TYPES`) are few and tidy — they
are also the questions of the synthetic datasets, so they stay short and unambiguous. The
classifier needs the shapes real questions take: phone-style French ("c koi le statut de X"),
missing accents, typos, long polite sentences, English, yes/no forms, one contact asked by role,
and phrasings whose words evoke another field ("ouverte en production à quelle date ?" is a
date). ``paraphrases.json`` holds them: per question type, then for listings/counts
(``aggregate``) and for what is not about the catalog (``out_of_scope``), French and English.

They were written by two helpers (session 5: ~1,050; session 7: ~1,080 more, a third of each type's as
yes/no forms and words that evoke another field) that saw only the example catalog — never the
router's code, the cues, nor any evaluation set — so that training on them does not teach the
evaluation's phrasings.
:func:`load_paraphrases` checks the file's shape: every registry type present, ``{app}`` exactly
once in each type phrasing and nowhere else.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import DyagError
from ingestion.question_types import QUESTION_TYPES

PARAPHRASES_FILE = Path(__file__).with_name("paraphrases.json")
SLOT = "{app}"


class Phrasings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fr: list[str]
    en: list[str]

    def all(self) -> list[str]:
        return [*self.fr, *self.en]


class Paraphrases(BaseModel):
    model_config = ConfigDict(extra="forbid")

    types: dict[str, Phrasings]
    aggregate: Phrasings
    out_of_scope: Phrasings


class ParaphrasesError(DyagError):
    """The paraphrases file is not what the classifier can train on."""


@lru_cache(maxsize=4)
def load_paraphrases(path: Path = PARAPHRASES_FILE) -> Paraphrases:
    """The validated phrasings of ``path`` (the packaged file by default)."""
    try:
        data = Paraphrases.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise ParaphrasesError(f"{path} is not a valid paraphrases file: {exc}") from None
    names = {t.name for t in QUESTION_TYPES}
    if set(data.types) != names:
        missing, unknown = sorted(names - set(data.types)), sorted(set(data.types) - names)
        raise ParaphrasesError(f"{path}: question types missing {missing}, unknown {unknown}.")
    for name, phrasings in data.types.items():
        for text in phrasings.all():
            if text.count(SLOT) != 1 or text.replace(SLOT, "").count("{"):
                raise ParaphrasesError(f"{path}: the {name} phrasing {text!r} must hold {SLOT} exactly once and no other brace.")
    for text in [*data.aggregate.all(), *data.out_of_scope.all()]:
        if "{" in text:
            raise ParaphrasesError(f"{path}: {text!r} is not about one application and must hold no {SLOT}.")
    return data
