"""Listings and counts over every record: computed, never estimated by a model.

A question becomes filters over the catalog's own values — status (with the words staff use:
"en prod", "mortes", "decommissioned", :mod:`ingestion.lexicon`), domain or sub-domain, scope
("départementales", "regional"), family, technology ("sous Java / Oracle": every component),
host, contact person, actor — each possibly negated ("pas de portée nationale"), and presence
filters on any field of the question-type registry ("sans site", "n'ont pas le moindre contact",
"without a website", "descriptif vide") or on a contact role ("How many apps list a Support
contact?"). An organisation is named by a part of its value ("hébergées au BRGM", "à Toulouse",
"chez ovh"), a service by its directorate ("gérées par la DGPR" for DGPR/SRT and DGPR/SRNH); a
domain by its head word after the field's name or a verb of topic ("le domaine risques", "qui
concernent l'eau"), and when named in another language ("the water domain", "about housing")
through a ``translate`` function (the assistant's multilingual embedding). All filters hold
together: "Parmi les applis nationales, combien sont en production ?" is two.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from assistant.entity_linking import STOPWORDS
from assistant.field_answers import FieldAnswer
from ingestion.aggregate_types import COUNT_CUES
from ingestion.facts import MAX_LISTED, hosts, join
from ingestion.lexicon import ROLE_PHRASES, STATUS_PHRASES, find_phrases, negated
from ingestion.question_types import QUESTION_TYPES
from ingestion.records import AppRecord
from ingestion.text_repair import fold

_COUNT = re.compile("|".join(COUNT_CUES))
_EVERYTHING = re.compile(r"\b(toutes|catalogue|catalog|total|au total|en tout|all|every|overall|altogether)\b")
_FILLER = {"en", "et", "de", "du", "la", "le", "des", "d", "l", "a", "au", "aux"}
# Stems every aggregate question contains: never evidence for a value.
_GENERIC = {"application", "domain", "catalogu", "appli", "outil", "public", "fich", "system", "logiciel"}
_NEGATION = r"(?:sans|pas de|pas d|pas le moindre|pas la moindre|aucune?|without|no|lacking|missing)"

# Field words for the presence filters ("sans site"), tried in order (longest phrases first).
_PRESENCE_WORDS: list[tuple[str, str]] = [
    (r"date de mise en (production|service)", "production_date"), (r"date de creation", "creation_date"),
    (r"(nom long|nom complet)", "full_name"), (r"(application|appli)s? liee?s?|autre application|aucune autre|reliee?s? a aucune", "related_apps"),
    (r"donnees? liee?s?|donnees?", "related_data"), (r"(site|url|lien|adresse web|website|web site|link)", "websites"),
    (r"(contact|courriel|mail|responsable|referent)", "contacts"), (r"(techno|technologie|stack|technology)", "technology"),
    (r"(description|descriptif)", "description"), (r"(hebergement|hebergeur|hosting|host)", "hosting"),
    (r"(acteur|moa|moe|actor)", "actors"), (r"(domaine|domain)", "domains"), (r"(utilisateur|user)", "users"),
]
_TYPES = {t.name: t for t in QUESTION_TYPES}


def _stem(token: str) -> str:
    # Plural and feminine endings: "arrêtées" and "Arrêtée" both become "arrete".
    if len(token) > 3 and token.endswith("s"):
        token = token[:-1]
    if len(token) > 3 and token.endswith("e"):
        token = token[:-1]
    return token


def _stems(text: str) -> list[str]:
    return [_stem(t) for t in fold(text).split() if len(t) > 1]


@dataclass(frozen=True)
class Facet:
    """One field aggregates filter on."""

    name: str
    label: str  # "au statut", "du domaine"…: how the answer names the criterion
    values: Callable[[AppRecord], list[str]]
    components: bool = False  # a value is several parts ("Java / Oracle"): a question may name some
    keywords: tuple[str, ...] = ()  # words that say which field a value belongs to ("famille Référentiels")
    # Values are organisations with a site ("BRGM – Orléans", "SG/SNUM – Centre serveur de Toulouse"):
    # naming either part, or the start of a one-word name ("chez ovh" for "OVHcloud"), names the value.
    organisation: bool = False


FACETS: list[Facet] = [
    Facet("status", "au statut", lambda r: [r.statut] if r.fact("statut") else [], keywords=("statut", "status")),
    Facet("domain", "du domaine", lambda r: [v for d in r.domaines for v in (d.domaine, d.sous_domaine) if v], keywords=("domaine", "domain", "secteur", "thematique")),
    Facet("scope", "de portée", lambda r: [r.portee_geographique] if r.fact("portee_geographique") else [], keywords=("portee", "echelle", "niveau", "scope")),
    Facet("family", "de la famille", lambda r: [r.famille] if r.fact("famille") else [], keywords=("famille", "family", "categorie")),
    Facet(
        "technology", "utilisant", lambda r: [p.strip() for p in (r.fact("technologie_principale") or "").split("/") if p.strip()],
        components=True, keywords=("techno", "technologie", "stack", "langage", "technology"),
    ),
    Facet(
        "hosting", "hébergées par", hosts,
        keywords=("heberg", "hosted", "hosting"), organisation=True,
    ),
    # People and organisations: "les applis où Laurent Blanc est chef de projet", "which apps have DGEC as MOA".
    Facet("contact", "dont un contact est", lambda r: [c.contact for c in r.contacts if c.contact], keywords=("contact", "chef", "responsable", "referent")),
    Facet(
        "actor", "dont un acteur est", lambda r: [a.acteur for a in r.acteurs if a.acteur],
        keywords=("moa", "moe", "acteur", "actor", "maitr", "gere", "pilot", "porte", "managed", "run by"), organisation=True,
    ),
]
_YES_NO_LISTING = re.compile(r"\b(y a t il|y en a t il|existe t il|il y a des|est ce qu il (y a|existe)|are there|is there)\b")


@dataclass
class Filter:
    facet: str
    values: list[str]
    negated: bool = False
    label: str = ""

    def keeps(self, record: AppRecord, facet: Facet) -> bool:
        present = set(facet.values(record))
        hit = all(v in present for v in self.values) if facet.components else any(v in present for v in self.values)
        return hit != self.negated

    def describe(self) -> str:
        shown = " / ".join(self.values) if self.facet == "technology" else " ou ".join(f"« {v} »" for v in self.values)
        if self.facet == "technology":
            shown = f"« {shown} »"
        return ("qui ne sont pas " if self.negated else "") + f"{self.label} {shown}"


@dataclass
class Presence:
    type_name: str
    present: bool
    role: str = ""  # a contact of this role ("Support"), for type "contacts"

    def keeps(self, record: AppRecord) -> bool:
        if self.role:
            holds = any(c.role and fold(c.role) == fold(self.role) for c in record.contacts)
        elif self.type_name == "websites":
            holds = bool(record.sites)  # a site the export mangled is still a site the record lists
        else:
            holds = _TYPES[self.type_name].extract(record) is not None
        return holds == self.present

    def describe(self) -> str:
        if self.role:
            return ("avec" if self.present else "sans") + f" contact « {self.role} »"
        return ("avec " if self.present else "sans ") + _TYPES[self.type_name].missing.removeprefix("de ").removeprefix("d'")


@dataclass
class AggregateQuery:
    filters: list[Filter] = field(default_factory=list)
    presence: list[Presence] = field(default_factory=list)
    count: bool = False

    @property
    def criteria(self) -> bool:
        return bool(self.filters or self.presence)


def _value_positions(folded: str, value: str) -> list[int]:
    """Where the value's words stand, together and in order, in the folded question (stemmed match)."""
    words = folded.split()
    stems = [_stem(w) for w in words]
    phrase = [s for s in _stems(value) if s not in _FILLER] or _stems(value)
    phrase = [s for s in phrase if s not in _GENERIC] or phrase
    positions = []
    for i in range(len(stems)):
        window = [s for s in stems[i : i + len(phrase) + 3] if s not in _FILLER]
        if window[: len(phrase)] == phrase:
            positions.append(len(" ".join(words[:i])) + (1 if i else 0))
    return positions


_ORGANISATION_PARTS = re.compile(r"\s+[–-]\s+")
# Question words that start organisation names by chance ("cloud" of "Cloud π Native" is a whole word).
_NOT_A_PREFIX = {"les", "des", "une", "sur", "par", "pour", "qui", "app", "application", "applis", "chez"}


def _part_positions(folded: str, value: str) -> list[int]:
    """Where a part of an organisation value stands in the question: "BRGM" or "Orléans" of
    "BRGM – Orléans", the place of a site ("Toulouse"), or a word of three letters or more that
    starts a one-word name ("ovh" of "OVHcloud")."""
    parts = [p for p in _ORGANISATION_PARTS.split(value) if len(fold(p)) >= 3]
    if parts and "/" in parts[0]:
        # "DGPR/SRT" is a service of the DGPR: naming the directorate names its services.
        head = parts[0].split("/")[0]
        if len(head) >= 3 and (positions := _value_positions(folded, head)):
            return positions
    if len(parts) > 1:
        # A site is named by its place, its last word: "à Toulouse" for "Centre serveur de Toulouse".
        for part in [*parts, *(p.split()[-1] for p in parts[1:] if len(p.split()[-1]) >= 4)]:
            if positions := _value_positions(folded, part):
                return positions
    head = fold(parts[0]) if parts else ""
    if " " not in head and len(head) >= 5:
        offset = 0
        for word in folded.split():
            if len(word) >= 3 and word not in _NOT_A_PREFIX and head.startswith(word) and word != head:
                return [offset]
            offset += len(word) + 1
    return []


def _status_filters(folded: str, catalog: set[str]) -> list[Filter]:
    wanted: dict[str, bool] = {}
    for start, _, value in find_phrases(folded, STATUS_PHRASES):
        if value in catalog:
            wanted.setdefault(value, negated(folded, start))
    return [Filter("status", [v], neg, "au statut") for v, neg in wanted.items()]


# (word, the catalog's values) → the value that word names in another language, or None.
Translate = Callable[[str, list[str]], "str | None"]
# "the water domain", "domain of housing": the word beside the field's name is its value.
# "the water domain", "domain of housing", "le domaine risques", "qui concernent l'eau", "about housing":
# the word beside the field's name, or after a verb of topic, is its value.
_BESIDE_DOMAIN = re.compile(
    r"\b([a-z]{4,}) (?:domain|sector|area)s?\b|\b(?:domain|sector|area)s? (?:of )?([a-z]{4,})\b"
    r"|\b(?:domaines?|secteurs?|thematiques?) (?:de |du |des |d )?(?:la |l )?([a-z]{3,})\b"
    r"|\b(?:concern\w*|trait\w* (?:de|du|des|d)|portent sur|autour (?:de|du|des|d)|about|related to|deal(?:s|ing)? with) (?:la |le |les |l |the )?([a-z]{3,})\b"
)


def parse(question: str, records: list[AppRecord], translate: Translate | None = None) -> AggregateQuery:
    """The filters a listing/count question asks for (see the module docstring).

    With ``translate``, a domain named in another language ("the water domain") is matched to the
    catalog's value ("Eau, milieux aquatiques") when no value is named as written.
    """
    folded = fold(question)
    query = AggregateQuery(count=_COUNT.search(folded) is not None)
    by_folded: dict[str, dict[str, str]] = {f.name: {} for f in FACETS}
    for facet in FACETS:
        for record in records:
            for value in facet.values(record):
                by_folded[facet.name].setdefault(fold(value), value)
    # Status: the lexicon's phrases (which include the catalog's own values), mapped to real values.
    for f in _status_filters(folded, set(by_folded["status"])):
        query.filters.append(Filter("status", [by_folded["status"][f.values[0]]], f.negated, "au statut"))
    used = " ".join(STATUS_PHRASES[p] for p in STATUS_PHRASES if f" {p} " in f" {folded} ")
    for facet in FACETS[1:]:
        matched: dict[str, int] = {}
        by_part: set[str] = set()
        # A part alone is ambiguous ("à Orléans" may be the weather's): only beside the field's word.
        named_field = any(k in folded for k in facet.keywords)
        for key, value in by_folded[facet.name].items():
            if facet.name == "domain" and key in used:
                continue  # "en construction" is the status, not the sub-domain "Construction"
            positions = _value_positions(folded, value)
            if not positions and facet.name == "domain" and re.search(r"\bdomaines?\b|\bdomains?\b", folded):
                # "le domaine logement" names "Logement, construction": after the word, its head word suffices.
                positions = _value_positions(folded, value.split(",")[0])
            if not positions and facet.organisation and named_field and (positions := _part_positions(folded, value)):
                by_part.add(value)
            if positions:
                matched[value] = positions[0]
        # "Eau" inside "Eau, milieux aquatiques": keep the most specific values only — of those named
        # whole ("BRGM" stays beside "BRGM – Orléans" named by its part).
        specific = [v for v in matched if not any(o != v and o not in by_part and set(_stems(v)) < set(_stems(o)) for o in matched)]
        if not specific:
            continue
        negatives = [v for v in specific if negated(folded, matched[v] + 1)]
        positives = [v for v in specific if v not in negatives]
        if positives:
            query.filters.append(Filter(facet.name, positives, False, facet.label))
        if negatives:
            query.filters.append(Filter(facet.name, negatives, True, facet.label))
    if not any(f.facet == "domain" for f in query.filters) and (beside := _BESIDE_DOMAIN.search(folded)):
        word = next(g for g in beside.groups() if g)
        domains = sorted({d.domaine for r in records for d in r.domaines if d.domaine})
        # The head word as the catalog writes it first ("transport domain": Transports routiers), else a translation.
        heads = [v for v in domains if _stems(v)[:1] == [_stem(word)]]
        value = heads[0] if len(heads) == 1 else None
        # A small word is no domain ("les domaines les plus représentés"): the embedding would still place it.
        if word not in _GENERIC and word not in STOPWORDS and (value or (translate and (value := translate(word, domains)))):
            query.filters.append(Filter("domain", [value], negated(folded, beside.start() + 1), "du domaine"))
    _prefer_named_facets(query, folded)
    for pattern, type_name in _PRESENCE_WORDS:
        # (?:…): a field's words may be alternatives ("donnees? liee?s?|donnees?"), each after the negation.
        missing = rf"\b{_NEGATION}\b(\W+\w+){{0,3}}?\W+(?:{pattern})|\b(?:{pattern})\w*\W+(\w+\W+)?(non renseigne|vide|manquant|absent)"
        if re.search(missing, folded) or (type_name == "related_apps" and re.search(r"\b(reliee?s?|liee?s?|connectee?s?) a aucune\b", folded)):
            query.presence.append(Presence(type_name, False))
            break
    if not any(f.facet == "contact" for f in query.filters) and not any(p.type_name == "contacts" for p in query.presence):
        # A contact role: "combien d'applis ont un chef de projet ?", "lesquelles n'ont pas de support ?"
        roles = {fold(c.role): c.role for r in records for c in r.contacts if c.role}
        taken = {w for f in query.filters for v in f.values for w in fold(v).split()}  # "support" of "Fonctions support"
        for start, end, role in find_phrases(folded, ROLE_PHRASES):
            if role in roles and not set(folded[start:end].split()) <= taken:
                query.presence.append(Presence("contacts", not negated(folded, start), roles[role]))
                break
    return query


def _prefer_named_facets(query: AggregateQuery, folded: str) -> None:
    """A value several fields hold ("Référentiels": a family and a sub-domain) belongs to the field the
    question names ("la famille Référentiels"); without such a word, to every field that holds it. An
    organisation is one value whatever its site: "hébergées au BRGM" is the host "BRGM – Orléans", not
    the actor "BRGM"."""
    keywords = {f.name: f.keywords for f in FACETS}
    owners: dict[str, list[Filter]] = {}
    for f in query.filters:
        for value in f.values:
            owners.setdefault(fold(_ORGANISATION_PARTS.split(value)[0]), []).append(f)
    for claims in owners.values():
        if len(claims) > 1:
            named = [f for f in claims if any(k in folded for k in keywords[f.facet])]
            for f in claims:
                if named and f not in named and f in query.filters:
                    query.filters.remove(f)


def answer_aggregate(question: str, records: list[AppRecord], query: AggregateQuery | None = None) -> FieldAnswer | None:
    """The listing or count for ``question``, or ``None`` when it names no criterion (a search, then)."""
    query = query or parse(question, records)
    if not query.criteria and not _EVERYTHING.search(fold(question)):
        # "Quelles applications gèrent les inondations ?" is a search, not an aggregate.
        return None
    facets = {f.name: f for f in FACETS}
    selected = [
        r for r in records
        if all(f.keeps(r, facets[f.facet]) for f in query.filters) and all(p.keeps(r) for p in query.presence)
    ]
    where = " ".join([*(f.describe() for f in query.filters), *(p.describe() for p in query.presence)])
    count = len(selected)
    noun = "application" if count == 1 else "applications"
    names = [r.nom for r in selected[:MAX_LISTED]]
    listed = "" if not names else join(names) if count <= len(names) else ", ".join(names) + f" et {count - len(names)} autres"
    if count == 0:
        text = f"Aucune application {where} dans le catalogue."
    elif query.count:
        text = f"Le catalogue compte {count} {noun} {where}".rstrip() + (f" : {listed}." if count <= MAX_LISTED else ".")
    else:
        text = f"{count} {noun} {where}".rstrip() + f" : {listed}."
    if _YES_NO_LISTING.search(fold(question)):
        text = f"{'Oui' if count else 'Non'}. {text}"  # "Y a-t-il des applications arrêtées ?"
    return FieldAnswer(
        text=text,
        app_ids=[r.id for r in selected],
        sections=["overview"],
        intents=["count" if query.count else "listing"],
        facts=[str(count), *names],
    )


def catalog_statistics(records: list[AppRecord]) -> dict[str, Counter]:
    """Counts by status and domain, for the UI and the report."""
    return {
        "status": Counter(r.statut or "(vide)" for r in records),
        "domain": Counter(d.domaine for r in records for d in r.domaines if d.domaine),
    }
