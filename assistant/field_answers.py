"""Exact answers straight from the field store: no model, no paraphrase, no hallucination.

When the question's intent (status, contacts, URL…) and its application are identified with
confidence, the answer is built from the record — emails, URLs, dates and ids verbatim — with
the same answer sentences the fine-tuning data uses (``ingestion.question_types.QUESTION_TYPES``).
Aggregates ("combien…", "quelles applications… en construction") are computed over every
record, never estimated by a model.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field

from ingestion.question_types import QUESTION_TYPES, QuestionType
from ingestion.records import AppRecord
from ingestion.text_repair import fold

# Intent → regexes over the folded question (lowercase, no accents, punctuation as spaces).
INTENT_PATTERNS: dict[str, tuple[str, ...]] = {
    "contacts": (r"\bcontact", r"\bjoindre\b", r"\bcourriel", r"\be ?mail", r"\bresponsable", r"\bchef de projet", r"\breferent", r"\bqui (gere|s occupe)", r"\bsolliciter\b", r"\bm adresser\b", r"\binterlocut"),
    "websites": (r"\burl\b", r"\bsites?\b(?! de)", r"\blien\b", r"(?<!\bs )\badresse\b", r"\bacceder", r"\bweb\b"),
    "status": (r"\bstatut", r"\bstatu\b", r"\ben prod(uction)?\b", r"\ben construction\b", r"\betat\b", r"\barrete", r"\ben service\b", r"\bou en est\b", r"\bactive?\b"),
    "full_name": (r"\bnom (complet|long)", r"\bsignifi", r"\bveut dire\b", r"\bacronyme", r"\bsigle", r"\bintitule", r"\ben toutes lettres"),
    "identifier": (r"\bidentifiant", r"\bid\b", r"\bnumero\b"),
    "scope": (r"\bportee?\b", r"\bgeographi", r"\bterritoire", r"\bechelle\b", r"\bperimetre"),
    "family": (r"\bfamille", r"\bcategorie"),
    "domains": (r"\bdomaines?\b", r"\bthemati", r"\bsous domaine", r"\bsecteur"),
    "description": (r"\ba quoi sert", r"\bsert a\b", r"\bdescri", r"\bc est quoi\b", r"\bqu est ce que\b", r"\bobjectif", r"\bpermet\b", r"\bpresente", r"\brole\b", r"\busages?\b", r"\bfinalite"),
    "actors": (r"\bmoa\b", r"\bmoe\b", r"\bmaitrise d", r"\bacteurs?\b", r"\bediteur", r"\bpilot", r"\brealisent\b", r"\brealisee? par\b", r"\bentites?\b", r"\bintervien"),
    "production_date": (r"\bmise? en (production|service)", r"\bdepuis quand\b", r"\bdate de mise", r"\b(depuis )?quelle date\b.* en (production|service)\b", r"\bquand\b.*\bdeploy"),
    "creation_date": (r"\bcree[es]*\b", r"\bcreation\b", r"\bdemarr", r"\bete lancee?s?\b", r"\blancement\b"),
    "related_apps": (r"\bapplications? liees?", r"\bechange", r"\bflux\b", r"\binterconnect", r"\bliees? a\b", r"\bdepend", r"\bapplications? (connectees|reliees)", r"\bcommuniqu", r"\binterface"),
    "related_data": (r"\bdonnees?\b",),
    "technology": (r"\btechno", r"\blangage", r"\bdeveloppee? (en|avec)\b", r"\bstack\b", r"\boutils? techniques?\b"),
    "hosting": (r"\bheberge", r"\binfrastructure", r"\b(ou|sur quel\w*|chez qui)\b.*\bdeploy", r"\bdeploy\w* (sur|chez)\b", r"\bdatacenter", r"\bcentre serveur"),
}
# When both match, the more specific intent wins ("mise en production" is a date, not a status).
OVERRIDES = {
    "production_date": ("status",), "related_data": ("related_apps",), "creation_date": ("description",), "hosting": ("actors",),
    "user_count": ("users",),
}
AGGREGATE_CUES = (
    r"\bcombien\b", r"\bquel(le)?s (sont les )?(applications|applis|outils|logiciels)", r"\bliste", r"\blister\b", r"\benumer",
    r"\btoutes les applications", r"\bnombre (total )?d (applications|applis|outils|logiciels)",
)
COUNT_CUES = (r"\bcombien\b", r"\bnombre\b")
MAX_LISTED = 15

_TYPES: dict[str, QuestionType] = {t.name: t for t in QUESTION_TYPES}
_LABELS = {
    "status": "de statut", "full_name": "de nom complet", "identifier": "d'identifiant", "scope": "de portée géographique",
    "family": "de famille d'applications", "domains": "de domaine métier", "description": "de description",
    "contacts": "de contact", "websites": "d'adresse web", "actors": "d'acteurs (MOA/MOE)",
    "production_date": "de date de mise en production", "creation_date": "de date de création",
    "related_apps": "d'application liée", "related_data": "de donnée liée", "technology": "de technologie principale",
    "hosting": "d'hébergement",
}


@dataclass(frozen=True)
class DirectField:
    """An attribute answered straight from the record, with no training question type behind it.

    ``field`` is an inventory field of :class:`AppRecord`; ``extra_keys`` are words that, inside
    the folded key of an export field outside the inventory (``licence``, ``Nombre
    d'utilisateurs``), mean that field holds the attribute. A budget is never in the inventory but
    may be in a richer export: asked about a known application, such attributes get the exported
    value verbatim or a plain "not recorded", never a generated guess.
    """

    intent: str
    patterns: tuple[str, ...]
    label: str
    sentence: str
    field: str | None = None
    extra_keys: tuple[str, ...] = ()
    section: str = "other"


DIRECT_FIELDS: list[DirectField] = [
    DirectField("users", (r"\butilisateurs\b", r"\bqui utilise", r"\butilisee? par\b", r"\ba qui s adresse"), "d'utilisateurs",
                "Utilisateurs de {name} : {value}.", field="utilisateurs", section="description"),
    DirectField("functions", (r"\bfonctionnalites?\b", r"\bfonctions (de|d|principales|offertes|assurees)\b"), "de fonctions",
                "Fonctions de {name} : {value}.", field="fonctions", section="description"),
    DirectField("stakes", (r"\benjeux?\b",), "d'enjeux", "Enjeux de {name} : {value}", field="enjeux", section="description"),
    DirectField("user_count", (r"\bnombre d utilisateurs", r"\bcombien d utilisateurs"), "de nombre d'utilisateurs",
                "Nombre d'utilisateurs de {name} : {value}.", extra_keys=("nombre d utilisateurs",)),
    DirectField("licence", (r"\blicences?\b",), "de licence", "Licence de {name} : {value}.", extra_keys=("licence",)),
    DirectField("budget", (r"\bbudget", r"\bcout", r"\bprix\b", r"\btarif"), "de budget ni de coût",
                "Budget de {name} : {value}.", extra_keys=("budget", "cout")),
]
_DIRECT = {d.intent: d for d in DIRECT_FIELDS}
_LABELS.update({d.intent: d.label for d in DIRECT_FIELDS})
_ALL_PATTERNS = {**INTENT_PATTERNS, **{d.intent: d.patterns for d in DIRECT_FIELDS}}


@dataclass
class FieldAnswer:
    text: str
    app_ids: list[str]
    sections: list[str]
    intents: list[str]
    facts: list[str] = field(default_factory=list)
    abstained: bool = False


def detect_intents(question: str) -> list[str]:
    folded = fold(question)
    found = [intent for intent, patterns in _ALL_PATTERNS.items() if any(re.search(p, folded) for p in patterns)]
    for winner, losers in OVERRIDES.items():
        if winner in found:
            found = [i for i in found if i not in losers]
    return found


def is_aggregate(question: str) -> bool:
    folded = fold(question)
    return any(re.search(p, folded) for p in AGGREGATE_CUES)


def intent_sections(intents: list[str]) -> set[str]:
    """The record sections (chunking.SECTION_LABELS keys) that hold the answer to these intents."""
    sections: set[str] = set()
    for intent in intents:
        if intent in _TYPES:
            sections.update(_TYPES[intent].sections)
        elif intent in _DIRECT:
            sections.add(_DIRECT[intent].section)
    return sections


def intent_labels(intents: list[str]) -> set[str]:
    """The facts-line labels that answer these intents; empty when one of them needs whole sections."""
    labels: set[str] = set()
    for intent in intents:
        wanted = _TYPES[intent].labels if intent in _TYPES else ()
        if not wanted:
            return set()
        labels.update(wanted)
    return labels


def _direct_answer(record: AppRecord, spec: DirectField) -> tuple[str, list[str]] | None:
    """The record's value for a :class:`DirectField` (inventory field first, then export extras)."""
    if spec.field and spec.field not in record.placeholders:
        value = getattr(record, spec.field)
        items = [v for v in value if v] if isinstance(value, list) else [value] if value else []
        if items:
            return spec.sentence.format(name=record.nom, value=" ; ".join(items)), items
    for key, value in record.extra.items():
        if value in (None, "", [], {}) or key in record.placeholders or not any(k in fold(key) for k in spec.extra_keys):
            continue
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)
        return spec.sentence.format(name=record.nom, value=text), [text]
    return None


def answer_fields(records: list[AppRecord], intents: list[str]) -> FieldAnswer | None:
    """The exact answer for each (application, intent) pair; None when no intent is known."""
    intents = [i for i in intents if i in _TYPES or i in _DIRECT]
    if not records or not intents:
        return None
    sentences, facts, sections, missing = [], [], [], 0
    for record in records:
        for intent in intents:
            if intent in _DIRECT:
                answered, intent_sections = _direct_answer(record, _DIRECT[intent]), (_DIRECT[intent].section,)
            else:
                answered, intent_sections = _TYPES[intent].answer_for(record, variant=0), _TYPES[intent].sections
            broken_urls = [site.url for site in record.sites if site.url and " " in site.url.strip()]
            if answered is None and intent == "websites" and broken_urls:
                # The export mangled the URL and it could not be repaired safely: show it as it is.
                sentences.append(
                    f"L'adresse de {record.nom} est enregistrée sous une forme altérée dans le catalogue : « {broken_urls[0]} »."
                )
                facts.append(broken_urls[0])
                sections.append("sites")
                continue
            if answered is None:
                sentences.append(f"La fiche de {record.nom} ne renseigne pas {_LABELS[intent]}.")
                missing += 1
                continue
            text, fact_values = answered
            sentences.append(text)
            facts.extend(fact_values)
            sections.extend(s for s in intent_sections if s not in sections)
    names = " ".join(f"[{r.nom}]" for r in records)
    return FieldAnswer(
        text=" ".join(sentences) + f" {names}",
        app_ids=[r.id for r in records],
        sections=sections or ["overview"],
        intents=intents,
        facts=facts,
        abstained=missing == len(records) * len(intents),
    )


def _stem(token: str) -> str:
    # Plural and feminine endings: "arrêtées" and "Arrêtée" both become "arrete".
    if len(token) > 3 and token.endswith("s"):
        token = token[:-1]
    if len(token) > 3 and token.endswith("e"):
        token = token[:-1]
    return token


def _stem_tokens(text: str) -> set[str]:
    return {_stem(t) for t in fold(text).split() if len(t) > 1}


_FILLER = {"en", "et", "de", "du", "la", "le", "des", "d", "l"}
# Stems every aggregate question contains: never evidence for a status or a domain.
_GENERIC = {"application", "domain", "catalogu", "appli", "outil", "public"}


def _contains_phrase(text: str, value: str) -> bool:
    """The value's words, stemmed, appear in ``text`` together and in order."""
    words = [_stem(t) for t in fold(text).split()]
    phrase = [_stem(t) for t in fold(value).split()]
    return any(words[i:i + len(phrase)] == phrase for i in range(len(words) - len(phrase) + 1))


def _matching_values(question: set[str], values: list[str], head_word_enough: bool = False) -> list[str]:
    """Catalog values (a status, a domain) all of whose significant words appear in the question.

    With ``head_word_enough``, the value's first word suffices ("domaine logement" names
    "Logement, construction").
    """
    full, by_head = [], []
    for value in values:
        ordered = [_stem(w) for w in fold(value).split() if w not in _FILLER and len(w) > 1]
        ordered = [w for w in ordered if w not in _GENERIC] or ordered
        words = set(ordered)
        if words and words <= question:
            full.append(value)
        elif words and head_word_enough and ordered[0] in question:
            by_head.append(value)
    # "domaine logement, construction" names "Logement, construction", not also "Logement social".
    matched = full or by_head
    # "Eau" inside "Eau, milieux aquatiques": keep the most specific value only.
    return [v for v in matched if not any(o != v and _stem_tokens(v) < _stem_tokens(o) for o in matched)]


def answer_aggregate(question: str, records: list[AppRecord]) -> FieldAnswer | None:
    """Listings and counts over all records, filtered by the statuses/domains/scopes the question names."""
    if not is_aggregate(question):
        return None
    statuses = sorted({r.statut for r in records if r.statut})
    domains = sorted({d.domaine for r in records for d in r.domaines if d.domaine} | {d.sous_domaine for r in records for d in r.domaines if d.sous_domaine})
    scopes = sorted({r.portee_geographique for r in records if r.portee_geographique})
    words = _stem_tokens(question) - _GENERIC
    # A status is named as a phrase ("en construction"), not by a word of a domain ("Logement, construction").
    wanted_status = [v for v in _matching_values(words, statuses) if _contains_phrase(question, v)]
    # Words used by the status ("en construction") are not also a domain ("Construction").
    words -= {w for s in wanted_status for w in _stem_tokens(s)}
    wanted_domain = _matching_values(words, domains, head_word_enough=True)
    wanted_scope = _matching_values(words, scopes)
    selected = [
        r for r in records
        if (not wanted_status or r.statut in wanted_status)
        and (not wanted_domain or any(d.domaine in wanted_domain or d.sous_domaine in wanted_domain for d in r.domaines))
        and (not wanted_scope or r.portee_geographique in wanted_scope)
    ]
    criteria = []
    if wanted_status:
        criteria.append("au statut " + " ou ".join(f"« {s} »" for s in wanted_status))
    if wanted_domain:
        criteria.append("du domaine " + " ou ".join(f"« {d} »" for d in wanted_domain))
    if wanted_scope:
        criteria.append("de portée " + " ou ".join(f"« {s} »" for s in wanted_scope))
    if not criteria and not re.search(r"\b(toutes|catalogue|total|au total)\b", fold(question)):
        # "Quelles applications gèrent les inondations ?" is a search, not an aggregate.
        return None
    where = " ".join(criteria)
    count = len(selected)
    wants_count = any(re.search(p, fold(question)) for p in COUNT_CUES)
    noun = "application" if count == 1 else "applications"
    if count == 0:
        text = f"Aucune application {where} dans le catalogue."
    elif wants_count:
        text = f"Le catalogue compte {count} {noun} {where}".rstrip() + "."
        if count <= MAX_LISTED:
            text += " : " + ", ".join(r.nom for r in selected) + "."
            text = text.replace(". :", " :")
    else:
        shown = ", ".join(r.nom for r in selected[:MAX_LISTED])
        more = f" et {count - MAX_LISTED} autres" if count > MAX_LISTED else ""
        text = f"{count} {noun} {where}".rstrip() + f" : {shown}{more}."
    return FieldAnswer(
        text=text,
        app_ids=[r.id for r in selected],
        sections=["overview"],
        intents=["count" if wants_count else "listing"],
        facts=[str(count)],
    )


def catalog_statistics(records: list[AppRecord]) -> dict[str, Counter]:
    """Counts by status and domain, for the UI and the report."""
    return {
        "status": Counter(r.statut or "(vide)" for r in records),
        "domain": Counter(d.domaine for r in records for d in r.domaines if d.domaine),
    }
