"""Exact answers straight from the record: no model, no paraphrase, no hallucination.

When the question's intent (status, contacts, URL…) and its application are identified with
confidence, the answer is built from the record — emails, URLs, dates and ids verbatim — with
the answer sentences of the question-type registry (:data:`ingestion.question_types.QUESTION_TYPES`,
the ones the fine-tuning data uses). The answer fits the question:

* a contact or an actor asked by role ("le chef de projet", "le support", "la maîtrise d'œuvre")
  gets that one — unless the question excludes it ("pas le chef de projet");
* a yes/no question gets « Oui » or « Non » and the value: by the status or the scope it names
  ("est-elle encore utilisée ?"), by the name it names ("est-il hébergé au BRGM ?"), by whether
  two applications share the value ("ont-ils la même portée ?"), else by whether the record holds
  the value at all ("a-t-il un site ?");
* several intents, or several applications, get every answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Collection

from assistant.entity_linking import STOPWORDS
from ingestion.facts import join
from ingestion.lexicon import ACTOR_ROLE_PHRASES, ROLE_PHRASES, STATUS_PHRASES, claim_stem, find_phrases, negated
from ingestion.question_types import QUESTION_TYPES, QuestionType
from ingestion.records import AppRecord
from ingestion.text_repair import fold

_TYPES: dict[str, QuestionType] = {t.name: t for t in QUESTION_TYPES}
_SAME = re.compile(r"\b(meme|memes|identique|identiques|pareil|pareils|same|identical)\b")
_SENTENCES = re.compile(r"(?<=[.!?…])\s+")
# Cosine margins of the query/passage embeddings (multilingual-e5-small), measured on the example
# catalog: a sentence that answers a content question ("il remplace quoi ?" → "Remplace la Banque
# Hydro depuis 2021.") scores 0.015–0.04 above the first sentence and ≥ 0.82; unrelated ones ~0.79.
BETTER_SENTENCE = 0.015
RELEVANT_SENTENCE = 0.815
_YEARS = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b(?:19|20)\d\d\b")
_BEFORE = re.compile(r"\b(avant|before|prior to|anterieur)\b")
_AFTER = re.compile(r"\b(apres|after|posterieur|later than)\b")
# Values a yes/no question writes out to be checked as they are: an email, a web address, a version.
_LITERALS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:https?://)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:/[^\s?]*)?|\b\d+(?:\.\d+)+\b", re.IGNORECASE)
# Fields a description often states in words when the record leaves them empty — and the words
# that show a sentence does ("destiné aux notaires…", "utilisé par les DDT(M)…").
# A date in prose: "se clôture le 15 mai", "fermée en 2021".
_DATE_WORDS = re.compile(r"\b(\d{1,2} (janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre)|(19|20)\d\d)\b")
_IN_WORDS = {
    "users": re.compile(r"\b(destine|utilise|usagers|a destination|public|agents|pour les)\b"),
    "functions": re.compile(r"\b(permet|fonction|outil de|sert a)\b"),
    "shutdown_date": _DATE_WORDS,
    "production_date": _DATE_WORDS,
    "creation_date": _DATE_WORDS,
}
# (question, sentences) → one similarity per sentence.
Similarity = Callable[[str, list[str]], list[float]]


@dataclass
class FieldAnswer:
    text: str
    app_ids: list[str]
    sections: list[str]
    intents: list[str]
    facts: list[str] = field(default_factory=list)
    abstained: bool = False


def intent_sections(intents: list[str]) -> set[str]:
    """The record sections (chunking.SECTION_LABELS keys) that hold the answer to these intents."""
    return {s for i in intents if i in _TYPES for s in _TYPES[i].sections}


def intent_labels(intents: list[str]) -> set[str]:
    """The facts-line labels that answer these intents; empty when one of them needs whole sections."""
    labels: set[str] = set()
    for intent in intents:
        wanted = _TYPES[intent].labels if intent in _TYPES else ()
        if not wanted:
            return set()
        labels.update(wanted)
    return labels


def _wanted(folded: str, phrases: dict[str, str]) -> set[str]:
    """The roles (or statuses) the question names and does not exclude."""
    return {value for start, _, value in find_phrases(folded, phrases) if not negated(folded, start)}


def _of_roles(items: list, roles: set[str]) -> list:
    """The contacts (or actors) whose role is one of the folded ``roles``."""
    return [item for item in items if item.role and fold(item.role) in roles]


def named_in(folded: str, value: str | None, record: AppRecord) -> bool:
    """The question names this organisation or person: its first word ("IGN", "DGALN" of
    "DGALN/DEB") or, for a person, the surname — not a word of the application's own name
    ("Assistance Géorisques" is not named by "une question sur Géorisques")."""
    own = set(fold(f"{record.nom} {record.display_name}").split())
    words = [w for w in fold(value or "").replace("/", " ").split() if w not in STOPWORDS and len(w) >= 2 and w not in own]
    asked = set(folded.split())
    return bool(words) and (words[0] in asked or (len(words) >= 2 and words[-1] in asked and len(words[-1]) >= 4))


def _narrowed(record: AppRecord, intent: str, folded: str, only: bool) -> AppRecord:
    """The record with only the contacts/actors of the role the question asks for, when it asks one,
    else — when that is all it asks (``only``) — of the organisation or person it names ("quel rôle
    joue l'IGN pour ISIDOR ?"; in "hébergé au BRGM ? et la MOA ?" the BRGM is the host's)."""
    if intent == "contacts":
        roles = _wanted(folded, ROLE_PHRASES)
        chosen = _of_roles(record.contacts, roles) or [c for c in record.contacts if only and named_in(folded, c.contact, record)]
        if chosen:
            return record.model_copy(update={"contacts": chosen})
    if intent == "actors":
        roles = _wanted(folded, ACTOR_ROLE_PHRASES)
        chosen = _of_roles(record.acteurs, roles) or [a for a in record.acteurs if only and named_in(folded, a.acteur, record)]
        if chosen:
            return record.model_copy(update={"acteurs": chosen})
    return record


def _sentence(record: AppRecord, intent: str) -> tuple[str | None, list[str]]:
    """The registry's answer sentence and its facts, or (None, []) when the record holds no value."""
    answered = _TYPES[intent].answer_for(record, variant=0)
    return (answered[0], answered[1]) if answered else (None, [])


def description_sentences(record: AppRecord) -> list[str]:
    text = record.fact("descriptif") or ""
    return [s.strip() for s in _SENTENCES.split(" ".join(text.split())) if s.strip()]


def _best_sentence(record: AppRecord, question: str, similar: Similarity | None) -> tuple[str, float, float] | None:
    """The description sentence closest to the question: (sentence, margin over the first one, similarity)."""
    sentences = description_sentences(record)
    if not similar or not sentences:
        return None
    scores = similar(question, sentences)
    best = max(range(len(sentences)), key=lambda i: scores[i])
    return sentences[best], scores[best] - scores[0], scores[best]


# Words every description question uses: no evidence of what it asks about.
_GENERIC_DESCRIPTION = frozenset(
    """quoi role usage usages sert servait fait faire objectif objectifs finalite presente presenter description descriptif
    concue concu exactement application appli outil logiciel truc quel quelle quels quelles what does used purpose about
    describe tool""".split()
)


def _content_overlap(question: str, sentence: str, name: str) -> bool:
    """The question names something the sentence speaks of, beyond "à quoi sert" ("remplace", "campagne")."""
    stem = lambda w: w[:6]  # noqa: E731  a crude stem: "remplace"/"remplacer", "campagne"/"campagnes"
    skip = STOPWORDS | _GENERIC_DESCRIPTION | set(fold(name).split())
    words = {stem(w) for w in fold(question).split() if len(w) >= 4 and w not in skip}
    return bool(words & {stem(w) for w in fold(sentence).split()})


def _missing(record: AppRecord, intent: str) -> str:
    """What the record says when it holds no value — and the closest fact it does hold."""
    text = f"La fiche de {record.nom} ne renseigne pas {_TYPES[intent].missing}."
    if intent in ("production_date", "shutdown_date") and record.fact("statut"):
        text += f" Son statut est « {record.fact('statut')} »."  # "mise en prod quand ?" → not yet: in construction
    if intent == "description" and record.display_name != record.nom:
        text = f"{record.display_name} : la fiche ne renseigne pas de description."
    return text


def _yes(
    record: AppRecord, intent: str, folded: str, mentions: list[str], sentence: str | None, claims: list[str] = (), question: str = ""
) -> bool:
    """Whether the answer to a yes/no question is yes (see the module docstring)."""
    literals = [m.group().lower() for m in _LITERALS.finditer(question)]
    if literals and sentence:
        # "la version est-elle la 3.2 ?", "c'est bien gaspar.fr ?": the value written must be the record's.
        return all(v in sentence.lower() for v in literals)
    if intent == "status":
        asked = {fold(v) for v in _wanted(folded, STATUS_PHRASES)}
        if asked and record.statut:
            return fold(record.statut) in asked
    if intent == "scope" and record.portee_geographique:
        value = fold(record.portee_geographique)
        if value[:6] in folded:  # "nationale" / "national", "régionale" / "regional"…
            return True
        if any(other in folded for other in ("national", "regional", "departemental", "local") if other != value[:len(other)]):
            return False
    # "BNPE a-t-elle un contact support ?": whether a contact (or actor) of that role exists; with a
    # person or organisation named, whether it is the one of that role.
    if intent == "contacts" and (roles := _wanted(folded, ROLE_PHRASES)) and not mentions:
        return bool(_of_roles(record.contacts, roles))
    if intent == "actors" and (roles := _wanted(folded, ACTOR_ROLE_PHRASES)) and not mentions:
        return bool(_of_roles(record.acteurs, roles))
    if intent.endswith("_date") and sentence:
        # "arrêté en 2019 ?": the year (or date) named, not the application's own number ("ADS 2007").
        named = _YEARS.findall(folded.replace(fold(record.nom), " "))
        actual = _YEARS.findall(sentence)
        if named and actual:
            # "mis en prod avant 2015 ?" compares; "arrêté en 2019 ?" must be that year (or date).
            year, asked = int(actual[0][-4:]), int(named[0][-4:])
            if _BEFORE.search(folded):
                return year < asked
            if _AFTER.search(folded):
                return year > asked
            return all(y in sentence for y in named)
    if mentions and sentence:
        return all(fold(m) in fold(sentence) for m in mentions)
    if claims and sentence:
        held = {claim_stem(w) for w in fold(sentence).split()}
        return all(claim_stem(w) in held for w in claims)
    return sentence is not None


def answer_fields(
    records: list[AppRecord],
    intents: list[str],
    question: str = "",
    yes_no: bool = False,
    mentions: list[str] | None = None,
    similar: Similarity | None = None,
    claims: dict[str, list[str]] | None = None,
    open_intents: Collection[str] = (),
    linked_from: dict[str, list[str]] | None = None,
) -> FieldAnswer | None:
    """The exact answer for each (application, intent) pair; None when no intent is known.

    ``mentions`` are the names a yes/no question checks against the value ("BRGM", "ADEME").
    With ``similar``, a description answer quotes the sentence that answers the question ("il
    remplace quoi ?") rather than the first, and a missing field points to the description
    sentence that speaks of it ("destiné aux notaires…" when the record lists no users). ``claims``
    are, per list intent, the values a yes/no question tests ("notaires" among the users);
    ``open_intents`` were asked in an open clause of a yes/no message and get no verdict;
    ``linked_from`` names, per application id, the applications whose records list it as related
    (a link is often declared on one side only: PLAT'AU lists Sitadel, Sitadel lists nothing).
    """
    intents = [i for i in intents if i in _TYPES]
    if not records or not intents:
        return None
    folded = fold(question)
    mentions = mentions or []
    sentences, facts, sections = [], [], []
    found_any = False  # a value for some (application, intent) pair
    # "ADES et NAÏADES, même MOA ?" asks for a verdict without a yes/no form.
    same = (yes_no or question.rstrip().endswith("?")) and len(records) == 2 and _SAME.search(folded) is not None
    for intent in intents:
        answers = []
        for record in records:
            narrowed = _narrowed(record, intent, folded, only=len(intents) == 1)
            sentence, fact_values = _sentence(narrowed, intent)
            broken_urls = [site.url for site in record.sites if site.url and " " in site.url.strip()]
            if sentence is None and intent == "websites" and broken_urls:
                # The export mangled the URL and it could not be repaired safely: show it as it is.
                sentence = f"L'adresse de {record.nom} est enregistrée sous une forme altérée dans le catalogue : « {broken_urls[0]} »."
                fact_values = [broken_urls[0]]
            best = _best_sentence(record, question, similar) if intent == "description" or (sentence is None and intent in _IN_WORDS) else None
            if sentence and intent == "description" and best and best[1] >= BETTER_SENTENCE and _content_overlap(question, best[0], record.nom):
                sentence, fact_values = f"{record.nom} : {best[0]}", [best[0].rstrip(".")]
            if sentence is None and intent in _IN_WORDS and best and best[2] >= RELEVANT_SENTENCE and _IN_WORDS[intent].search(fold(best[0])):
                sentence = f"{_missing(record, intent)} Sa description indique : « {best[0]} »"
                fact_values = [best[0].rstrip(".")]
            if intent == "related_apps" and linked_from:
                citing = [n for n in linked_from.get(record.id, []) if not (sentence and n in sentence)]
                if citing:
                    cited = f"{join(citing)} {'la citent' if len(citing) > 1 else 'la cite'} comme application liée."
                    sentence = f"{sentence} {cited}" if sentence else f"{_missing(record, intent)} {cited}"
                    fact_values = [*fact_values, *citing]
            answers.append((record, sentence, fact_values))
            found_any = found_any or sentence is not None
            facts.extend(fact_values)
            sections.extend(s for s in _TYPES[intent].sections if s not in sections and sentence)
        if same:
            values = [fv for _, _, fv in answers]
            verdict = "Oui" if values[0] and values[0] == values[1] else "Non"
            sentences.append(f"{verdict}. " + " ".join(s or _missing(r, intent) for r, s, _ in answers))
            continue
        if yes_no and len(records) == 2 and intent == "related_apps":
            # "PLAT'AU est-il lié à Sitadel ?": one verdict, whichever of the two lists the other.
            linked = any(s and fold(other.nom) in fold(s) for (_, s, _), other in zip(answers, reversed(records)))
            if linked:
                sentences.append("Oui. " + " ".join(s for _, s, _ in answers if s))
            else:
                sentences.append("Non. " + " ".join(s or _missing(r, intent) for r, s, _ in answers))
            continue
        for record, sentence, _ in answers:
            text = sentence or _missing(record, intent)
            if yes_no and intent not in open_intents:
                verdict = _yes(record, intent, folded, mentions, sentence, (claims or {}).get(intent, []), question)
                text = f"{'Oui' if verdict else 'Non'}. {text}"
            sentences.append(text)
    names = " ".join(f"[{r.nom}]" for r in records)
    return FieldAnswer(
        text=" ".join(sentences) + f" {names}",
        app_ids=[r.id for r in records],
        sections=sections or ["overview"],
        intents=intents,
        facts=facts,
        # "La fiche ne renseigne pas …" for every value asked is an abstention: the catalog does not
        # hold the answer, which is what a refusal says (staff reading either ask someone else). A
        # yes/no question still gets its verdict, and one value found is an answer.
        abstained=not yes_no and not found_any,
    )
