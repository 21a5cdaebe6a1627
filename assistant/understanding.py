"""Read a question once: what it names, what it asks, how sure we are — one value for the router,
the exact answers, the retriever and the generator.

:class:`QuestionReader` folds the question, links its applications (:mod:`assistant.entity_linking`),
finds the registry's cues (:data:`ingestion.question_types.QUESTION_TYPES`, French and English),
asks the intent classifier (:mod:`ingestion.intent_model`) with the names masked, and decides:

* **intents**: the cue intents when there are some (high precision; a loser of an override
  only loses where its cue overlaps the winner's: "statut et date de mise en production" keeps
  both) — less a cue the classifier rules out beside a sure one in the same clause
  (:func:`_pruned`), plus the classifier's sure first intent when a conjunction joins a second
  question no cue knows ("le site de GASPAR et qui contacter ?") — else the classifier's best type
  when its probability reaches :data:`CONFIDENT`; ``confident`` says the exact answer may be
  given; when it is not, the classifier's likely intents still choose which fields the generator
  gets;
* **aggregate**: a listing/count cue or the classifier's aggregate class, unless a named
  application's own field is asked ("quelles applications sont liées à GASPAR ?");
* **applications named by what they are**: with no name written but a field asked by a cue, the
  full name clearly closest (multilingual embedding) to the rest of the question — "the marine
  pollution watch" is VIGIMER (:meth:`QuestionReader._described`);
* **who is who**: "quel rôle joue l'IGN pour ISIDOR ?" names an actor of the record, so it asks
  the actors, not what ISIDOR does;
* **unknown**: names the catalog does not hold — an extension of a known name ("GASPAR Mobile",
  "RPLS 2"), a compound name the catalog never wrote ("Hydro-Veille") or an unseen word where a
  name stands ("le statut de zorglub");
* **out of scope** (the classifier), **injection**, **secrets** and requests to **write** into the
  catalog (cues, :mod:`ingestion.out_of_scope`);
* **yes/no** form, the **mentions** a yes/no question checks ("… hébergé au BRGM ?", "Julien
  Mercier c'est bien le chef de projet ?") and its
  **claims**: the values of a list field it tests ("les notaires font-ils partie des
  utilisateurs ?", "utilisé par les agriculteurs ?"); a claim that only another field's values
  hold, with the classifier's agreement, moves the question to that field ("utilise-t-il Java ?").

A follow-up without a name ("et son contact ?") takes the applications of the conversation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np
from rapidfuzz.distance import OSA
from wordfreq import zipf_frequency

from assistant.entity_linking import STOPWORDS, EntityLinker, EntityMatch, Token, UnknownMention
from assistant.field_answers import named_in
from ingestion.aggregate_types import AGGREGATE, AGGREGATE_CUES, AGGREGATE_EXAMPLES, AGGREGATE_TYPES
from ingestion.bm25 import tokenize as bm25_tokens
from ingestion.facts import lead
from ingestion.intent_model import MASK, IntentModel
from ingestion.lexicon import ROLE_PHRASES, SHORT_FORMS, STATUS_PHRASES, claim_stem, is_yes_no
from ingestion.out_of_scope import OUT_OF_SCOPE, asks_for_secrets, asks_to_write, is_injection
from ingestion.out_of_scope import examples as out_of_scope_examples
from ingestion.paraphrases import load_paraphrases
from ingestion.question_types import QUESTION_TYPES
from ingestion.records import AppRecord
from ingestion.text_repair import fold

if TYPE_CHECKING:
    from ingestion.embeddings import Embedder

# Intents whose values a yes/no question tests by the words it names: a member of a list ("les
# notaires font-ils partie des utilisateurs ?", "a-t-elle une documentation en ligne ?") or the one
# value ("fait-elle partie de la famille des téléservices ?").
LIST_INTENTS = frozenset({"users", "functions", "technology", "hosting", "domains", "related_apps", "related_data", "actors", "websites", "contacts", "family"})
DATE_INTENTS = ("production_date", "creation_date", "shutdown_date")
# A year or a date: with it, a status word asks when ("arrêté en 2019 ?" is the shutdown date).
_WHEN = re.compile(r"\b(19|20)\d\d\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")
CONFIDENT = 0.5  # classifier probability at which its intent alone earns the exact answer
SECOND_QUESTION = 0.25  # classifier probability of a second intent joined by a conjunction to a cue's (see _decide)
LIKELY = 0.15  # probability at which an intent's fields go to the generator when unsure
SURE = 0.8  # classifier probability of one cue intent at which it may rule out another …
RULED_OUT = 0.01  # … that it gives less than this, in the same clause (see _pruned; measured: "utilisée par" 0.0003, "GASPAR statut url" 0.017)
OUT_OF_SCOPE_REFUSAL = 0.6
DESCRIBED_MARGIN = 0.015  # cosine lead of the closest full name (measured: named 0.016–0.084, no name ≤ 0.011)
# Cosine lead of the closest full name + description lead (passage side). Measured on 36 name parts
# by an eleventh author (session 7): right ones lead by 0.002–0.082 (21 of them ≥ 0.025), wrong ones
# by ≤ 0.008; 18 questions naming no application or an unknown one: ≤ 0.023.
DESCRIBED_BY_TEXT_MARGIN = 0.025
AGGREGATE_PROBABILITY = 0.5
MAX_APPS = 3

_CUES = {t.name: [re.compile(c) for c in t.cues] for t in QUESTION_TYPES}
# The words the cues are made of ("contacts", "support", "statut"…): a typo of one ("contcats",
# "suport") is read as the word, so that the cue still fires.
def _literal_words(pattern: str) -> list[str]:
    return re.findall(r"[a-z]{5,}", re.sub(r"\\[a-zA-Z]", " ", pattern))  # \b, \w… are no letters


CUE_WORDS = frozenset(w for t in QUESTION_TYPES for c in t.cues for w in _literal_words(c)) | frozenset(
    w for c in AGGREGATE_CUES for w in _literal_words(c)
)


def _registry_words() -> frozenset[str]:
    """Every word of the registry's phrasings, answers, lexicons and paraphrases: the language of
    questions about the catalog, which the catalog's own text may lack ("tourne", "écrire", "comme")."""
    paraphrases = load_paraphrases()
    texts: list[str] = [*out_of_scope_examples(), *AGGREGATE_EXAMPLES, *STATUS_PHRASES, *ROLE_PHRASES]
    texts += [*paraphrases.aggregate.all(), *paraphrases.out_of_scope.all()]
    for t in QUESTION_TYPES:
        texts += paraphrases.types[t.name].all()
    for t in AGGREGATE_TYPES:
        texts += [*t.templates, *t.test_templates, *t.answers]
    words = {w for text in texts for w in fold(text.replace("{", " ").replace("}", " ")).split()}
    return frozenset(words.union(*(t.phrasing_words() for t in QUESTION_TYPES)))


REGISTRY_WORDS = _registry_words()
_OVERRIDES = {t.name: t.overrides for t in QUESTION_TYPES}
_SINGLE = frozenset(t.name for t in QUESTION_TYPES)  # the classifier's classes about one application
_AGGREGATE = re.compile("|".join(AGGREGATE_CUES))
_CLAUSE = re.compile(r"\b(et|and|ou|or|puis|plus|aussi|ensuite|qui|quel|quelle|quels|quelles|quand|comment|combien|what|who|when|where|which|how)\b")
# "Quel rôle joue l'IGN pour ISIDOR ?": with an organisation (or person) of the record named, a
# role asks who is who, not what the application does.
_ROLE_OF = re.compile(r"\broles?\b")
_APPLICATIONS = re.compile(r"\b(applications|applis|apps|outils|logiciels|systemes|tools|systems)\b")
_AND = re.compile(r"\b(et|and|plus|ainsi que|puis)\b")
_BY_WHOM = re.compile(r"\b(?:par|by|aux|to) (?:les |des |la |le |l |the )?([a-z]{4,})\b")
_FOLLOW_UP = re.compile(r"^(et|puis|aussi|ok|d accord|and|also)\b|\b(son|sa|ses|leur|elle|il|cette application|celle ci|celui ci|l application|its|it)\b")
# Where a name stands: after these words ("le statut de zorglub", "l'appli zorglub").
_NAME_SLOT = re.compile(r"\b(?:de|d|du|pour|sur|avec|application|appli|app|logiciel|outil|of|for|about)\s+([a-z][a-z0-9]{3,})\b")
# In a listing, where an application's name stands: "liées à planideau", "qui échangent avec zorglub".
_LISTING_SLOT = re.compile(r"\b(?:liees?|lies?|reliees?|connectees?|echangent|linked|connected|exchange|exchanging) (?:a|au|aux|avec|to|with) ([a-z][a-z0-9]{3,})\b")
# Words of questions about the catalog that its text may not contain: never taken for a name.
_WORD_ENDINGS = (
    "er", "ez", "ent", "ant", "tion", "tions", "sion", "ment", "ments", "eur", "eurs", "euse", "ique", "iques", "able", "ables",
    "ible", "aire", "aires", "oire", "isme", "iste", "ions", "ais", "ait", "aient", "ees", "ing", "ed", "ly", "ness", "ity",
)
_QUESTION_WORDS = frozenset(
    """applications applis appli application outils outil logiciels logiciel catalogue fiche fiches truc trucs machin projet
    projets service services outil renseigne renseignee renseignes lesquelles lesquels laquelle lequel combien quelles quels
    etre avoir faire donne donner dis dire indiquer merci bonjour please thanks apps tool tools software""".split()
)
# An English question (two of these words): there, a word of English (Zipf frequency ≥ 1.5, i.e. at
# least ~30 per billion words: "hauliers" 1.8, "withdrawals" 3.4; "marinex", "planideau" 0) is no
# unknown application's name. French questions keep the catalog's vocabulary alone: "sigma" is 3.5
# in English and an application name in "sigma qui s'en occupe ?".
_ENGLISH = re.compile(r"\b(the|of|is|are|what|which|who|does|do|for|with|how|where|when|its|this|that|an)\b")
ENGLISH_WORD = 1.5
# Shaped like a name: capitalised words joined by hyphens ("Hydro-Veille"), or CamelCase ("GeoSuivi").
_COMPOUND = re.compile(r"\b[A-ZÀ-Ý][\w']*(?:-[A-ZÀ-Ý][\w']*)+|\b[A-Z][a-zà-ÿ]+[A-Z]\w*")
_PERSON_WORD = re.compile(r"^[A-ZÀ-Ý][a-zà-ÿ]{2,}$")
_CIVILITIES = frozenset("madame monsieur mesdames messieurs mademoiselle bonjour bonsoir cher chere chers cheres docteur".split())
_ACRONYMS_OF_PROSE = frozenset({"MOA", "MOE", "URL", "API", "SI", "DSI", "PDF", "SIG", "FAQ", "OK", "IA", "UE", "RGPD", "ID", "MEP", "CP"})


@dataclass
class ParsedQuestion:
    question: str  # as asked
    resolved: str  # the question, with the application of a follow-up named
    folded: str
    entities: list[EntityMatch] = field(default_factory=list)
    app_ids: list[str] = field(default_factory=list)
    unknown: list[UnknownMention] = field(default_factory=list)
    cue_intents: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    intents: list[str] = field(default_factory=list)
    likely_intents: list[str] = field(default_factory=list)
    confident: bool = False
    aggregate: bool = False
    yes_no: bool = False
    # Intents asked only in a clause that is no yes/no question ("GIDAF est en prod ? et son url ?"):
    # they get their value without a verdict.
    open_intents: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    secrets: bool = False
    injection: bool = False
    write: bool = False  # a request to change the catalog ("passe le statut de X à …")
    follow_up: bool = False
    claims: dict[str, list[str]] = field(default_factory=dict)  # per list intent, the values a yes/no question tests

    @property
    def out_of_scope(self) -> float:
        return self.scores.get(OUT_OF_SCOPE, 0.0)

    @property
    def may_list(self) -> bool:
        """The classifier sees some chance of a listing or count (or there is no classifier)."""
        return self.scores.get(AGGREGATE, 1.0) >= LIKELY


def cue_intents(text: str) -> list[str]:
    """Intents whose cues match the folded ``text``, with overrides applied span by span."""
    return list(cue_spans(text))


def cue_spans(text: str) -> dict[str, list[tuple[int, int]]]:
    """Per intent whose cues match the folded ``text`` (registry order), where they match."""
    spans = {name: [m.span() for c in cues for m in c.finditer(text)] for name, cues in _CUES.items()}
    spans = {name: found for name, found in spans.items() if found}
    for winner, losers in _OVERRIDES.items():
        for loser in losers:
            if winner in spans and loser in spans:
                # A loser's match inside (or across) the winner's goes; one that contains the winner's
                # is the more specific reading ("envoyer ses données" is an exchange, not data).
                contains = lambda s, w: s[0] <= w[0] and w[1] <= s[1] and s != w  # noqa: E731
                spans[winner] = [w for w in spans[winner] if not any(contains(s, w) for s in spans[loser])]
                spans[loser] = [s for s in spans[loser] if not any(s[0] < w[1] and w[0] < s[1] for w in spans[winner])]
    return {name: spans[name] for name in _CUES if spans.get(name)}


def _between(question: str, blank: str, kept: list[Token], a: tuple[int, int], b: tuple[int, int]) -> str:
    """The question's own text between two spans of ``blank`` (whose words are ``kept``, in order):
    the punctuation folding removed is back ("statut, url" is two questions)."""
    first, second = sorted([a, b])
    starts = [m.start() for m in re.finditer(r"\S+", blank)]
    last_word = max(i for i, start in enumerate(starts) if start < first[1])
    next_word = min((i for i, start in enumerate(starts) if start >= second[0]), default=len(kept) - 1)
    return question[kept[last_word].end : kept[next_word].start] if next_word > last_word else ""


def _one_clause(between: str) -> bool:
    """No conjunction, question word or punctuation between two cues: they belong to one question."""
    return _CLAUSE.search(fold(between)) is None and not re.search(r"[,;:+/&?!.]", between)


def _pruned(
    spans: dict[str, list[tuple[int, int]]], scores: dict[str, float], between: Callable[[tuple[int, int], tuple[int, int]], str]
) -> list[str]:
    """The cue intents, less those the classifier rules out beside a sure one in the same clause.

    "la technologie utilisée par TAXREF" fires the users cue ("utilisée par") and the technology
    cue; the classifier gives technology 0.98 and users 0.0003, and no "et" or question word stands
    between them: one question, about technology. "statut actuel + qui est MOA" keeps both (a
    question word starts the second), and so does "statut, url ?" (punctuation between).
    """
    names = list(spans)
    if len(names) < 2 or not scores:
        return names
    best = max(names, key=lambda n: scores.get(n, 0.0))
    if scores.get(best, 0.0) < SURE:
        return names
    return [
        n for n in names
        if n == best or scores.get(n, 0.0) >= RULED_OUT or not all(any(_one_clause(between(s, b)) for b in spans[best]) for s in spans[n])
    ]


def _inside(entities: list[EntityMatch]) -> set[int]:
    """Positions of the tokens that belong to a linked name."""
    return {i for e in entities for i in range(e.start, e.end)}


def _blank(folded_tokens: list[Token], inside: set[int]) -> str:
    """The folded question without the linked names: "sites" in "Géo-observatoire … et des sites"
    belongs to the name and is no question about websites."""
    return " ".join(t.folded for i, t in enumerate(folded_tokens) if i not in inside)


def _masked(question: str, tokens: list[Token], entities: list[EntityMatch]) -> str:
    """The question with each linked name replaced by the classifier's mask."""
    spans = sorted((tokens[e.start].start, tokens[e.end - 1].end) for e in entities)
    out, last = [], 0
    for start, end in spans:
        if start >= last:
            out += [question[last:start], MASK]
            last = end
    return "".join([*out, question[last:]])


def _asking_words() -> dict[str, set[str]]:
    """Per type, the stems of the words that ask about its field ("public", "utilisateurs", "site")
    or frame its answer (:meth:`~ingestion.question_types.QuestionType.phrasing_words`)."""
    return {qt.name: {claim_stem(w) for w in qt.phrasing_words()} for qt in QUESTION_TYPES}


def _value_words(records: list[AppRecord], asking: dict[str, set[str]]) -> dict[str, set[str]]:
    """Per list intent, the stems of the words its answers hold across the catalog, less the type's
    ``asking`` words ("accessible", "adresse") and every application name's."""
    names = {claim_stem(w) for w in fold(" ".join(r.nom for r in records)).split()}
    out: dict[str, set[str]] = {}
    for qt in QUESTION_TYPES:
        if qt.name in LIST_INTENTS:
            words = {claim_stem(w) for r in records if (ans := qt.answer_for(r)) for w in fold(ans[0]).split() if len(w) >= 3 and w not in STOPWORDS}
            out[qt.name] = words - asking[qt.name] - names
    return out


def _clearly_first(scores: np.ndarray, margin: float) -> int | None:
    """The index of the highest score when it leads the next by ``margin``."""
    first, second = np.argsort(scores)[::-1][:2]
    return int(first) if scores[first] - scores[second] >= margin else None


def _name_and_lead(record: AppRecord) -> str:
    return f"{record.fact('nom_long') or record.nom}. {lead(record.fact('descriptif') or '')}"


class QuestionReader:
    """Turns a question into a :class:`ParsedQuestion` (see the module docstring)."""

    def __init__(
        self,
        records: list[AppRecord],
        linker: EntityLinker,
        vocabulary: set[str] | frozenset[str],
        model: IntentModel | None = None,
        embedder: "Embedder | None" = None,
    ) -> None:
        self.by_id = {r.id: r for r in records}
        self.linker = linker
        self.vocabulary = set(vocabulary) | STOPWORDS | _QUESTION_WORDS | REGISTRY_WORDS
        self.model = model
        self.embedder = embedder
        self.asking_words = _asking_words()
        self.value_words = _value_words(records, self.asking_words)
        self._asking_or_small = STOPWORDS | _QUESTION_WORDS | {w for words in self.asking_words.values() for w in words}
        # Such names the catalog writes somewhere ("Auvergne-Rhône-Alpes", "PostgreSQL"): not unknown.
        self._name_ids = [r.id for r in records]
        self._name_vectors: np.ndarray | None = None  # the full names' embeddings, computed on first need
        self._text_vectors: np.ndarray | None = None  # full name + description lead, passage side, likewise
        self.known_compounds = {fold(m) for r in records for m in _COMPOUND.findall(json.dumps(r.model_dump(mode="json"), ensure_ascii=False))}

    def read(self, question: str, last_app_ids: list[str] | None = None) -> ParsedQuestion:
        linking = self.linker.read(question)
        folded = fold(question)
        aggregate_cue = _AGGREGATE.search(folded) is not None
        # Words of a full name ("habitat indigne") in a listing question are its criterion, not the application.
        # Nor beside a name the question uses: "les bailleurs sociaux utilisent-ils Géorisques ?" is
        # about Géorisques, not RPLS (whose full name holds "bailleurs sociaux").
        named = any(e.kind not in ("fragment", "acronym") for e in linking.entities)
        entities = [e for e in linking.entities if not ((aggregate_cue or named) and e.kind in ("fragment", "acronym"))][:MAX_APPS]
        parsed = ParsedQuestion(question, question, folded, entities, [e.app_id for e in entities], linking.unknown)
        parsed.secrets = asks_for_secrets(folded)
        parsed.injection = is_injection(folded)
        parsed.write = asks_to_write(folded)
        # "statut de EMMY ? c'est toujours actif ?": each question of a message has its own form.
        # Only a clause the asker closed with "?" is asked as one ("…relative à CONCHYL." is not).
        pieces = question.split("?")
        clauses = [c.strip() + ("?" if i < len(pieces) - 1 else "") for i, c in enumerate(pieces) if c.strip()] or [question]
        forms = [is_yes_no(fold(c), c) for c in clauses]
        parsed.yes_no = any(forms)
        inside = _inside(entities)
        blank = self._corrected(_blank(linking.tokens, inside))
        spans = cue_spans(blank)
        parsed.cue_intents = list(spans)
        if not entities and last_app_ids and not aggregate_cue and not parsed.unknown:
            if _FOLLOW_UP.search(folded) or len(folded.split()) <= 5:
                parsed.follow_up = True
                parsed.app_ids = list(last_app_ids)
                names = " et ".join(self.by_id[a].nom for a in parsed.app_ids if a in self.by_id)
                parsed.resolved = f"{question} (application : {names})"
        if self.model is not None and self.embedder is not None:
            masked = _masked(question, linking.tokens, entities)
            parsed.scores = self.model.predict(self.embedder.embed_question(masked), masked)
            kept = [t for i, t in enumerate(linking.tokens) if i not in inside]
            parsed.cue_intents = _pruned(spans, parsed.scores, lambda a, b: _between(question, blank, kept, a, b))
        self._decide(parsed, aggregate_cue)
        if "status" in parsed.intents and _WHEN.search(blank):
            # "DEPOBIO a bien été arrêté en 2019 ?": the status cue, a year, and the classifier's date.
            when = max(DATE_INTENTS, key=lambda i: parsed.scores.get(i, 0.0))
            if parsed.scores.get(when, 0.0) >= LIKELY and when not in parsed.intents:
                parsed.intents = [when if i == "status" else i for i in parsed.intents]
        # Names the catalog has never seen, where a name stands — sought only in a question asking a
        # field (a cue or the sure classifier: ``confident``), once for both uses below.
        asks_a_field = parsed.confident and not parsed.app_ids and not parsed.unknown and not aggregate_cue
        unseen = self._unknown_names(question, folded) if asks_a_field else []
        if not parsed.app_ids and not parsed.unknown and not aggregate_cue and parsed.cue_intents:
            # "Who is the MOA of the marine pollution watch?": a full name in other words, or in English.
            # (Without a name the classifier leans to a listing: a cue asking a field outweighs it.)
            described = self._described(blank, spans, parsed.scores.get(AGGREGATE, 0.0), bool(unseen))
            proper = described and self._proper_name(question, described)
            if proper:
                # "la date de création du Géoportail des risques": a name, like "Géoportail de
                # l'urbanisme" but not it — the catalog holds no such application.
                parsed.unknown = [UnknownMention(proper, described.name)]
            elif described:
                parsed.entities, parsed.app_ids, parsed.aggregate = [described], [described.app_id], False
        if not parsed.app_ids and not parsed.unknown and not aggregate_cue:
            parsed.unknown = unseen
        elif not parsed.app_ids and not parsed.unknown:
            # "Quelles applications sont liées à planideau ?": a listing about an application the
            # catalog does not hold: refused, whatever else the listing asks.
            linked_to = self._first_unseen(question, folded, [m.group(1) for m in _LISTING_SLOT.finditer(folded)])
            parsed.unknown = [linked_to] if linked_to else []
        parsed.mentions = self._mentions(linking.tokens, inside)
        if parsed.app_ids and set(parsed.intents) <= {"description"} and _ROLE_OF.search(folded):
            holder = self._holder_named(folded, parsed.app_ids)
            if holder:
                parsed.intents, parsed.confident = [holder], True
        if parsed.yes_no and not all(forms):
            asked = [(set(cue_intents(self._corrected(fold(c)))), f) for c, f in zip(clauses, forms)]
            # Each yes/no clause must show what it asks ("c'est toujours actif ?" is the status's).
            if all(found for found, f in asked if f):
                closed = {i for found, f in asked if f for i in found}
                parsed.open_intents = [i for i in parsed.intents if i not in closed and any(i in found for found, f in asked if not f)]
        if parsed.yes_no:
            parsed.claims = self._claims(linking.tokens, inside, parsed.intents)
            if parsed.app_ids and not parsed.claims:
                # "Le SNE utilise-t-il Java ?": the value named is a technology, so the question is one …
                elsewhere = self._claims(linking.tokens, inside, sorted(LIST_INTENTS - set(parsed.intents)))
                asked = {w for i in parsed.intents for w in self.asking_words.get(i, ())}  # "support" asks for a contact
                elsewhere = {i: left for i, found in elsewhere.items() if (left := [w for w in found if claim_stem(w) not in asked])}
                # … when the classifier agrees that it may be ("Java": technology 0.997, not users), or
                # when the field asked is only the classifier's guess ("GéoADS relève-t-il de
                # l'urbanisme ?": scope 0.5, but only domains hold "Urbanisme").
                # Several fields may hold the value ("Documents d'urbanisme" are data): the likelier.
                if elsewhere and not parsed.cue_intents:
                    elsewhere = dict([max(elsewhere.items(), key=lambda item: parsed.scores.get(item[0], 0.0))])
                if len(elsewhere) == 1 and (not parsed.cue_intents or parsed.scores.get(next(iter(elsewhere)), 0.0) >= LIKELY):
                    parsed.intents, parsed.claims, parsed.confident = list(elsewhere), elsewhere, True
            if not parsed.claims:
                parsed.claims = self._named_after_by(folded, parsed.intents)
        return parsed

    def _described(self, blank: str, spans: dict[str, list[tuple[int, int]]], aggregate: float, unknown_word: bool) -> EntityMatch | None:
        """The application whose full name is clearly the closest, by the multilingual embedding, to
        what the question says besides what it asks (its cue words, small words and asking words):
        "marine pollution watch" → VIGIMER ("Veille des pollutions marines"). Clearly: ahead of the
        next name by :data:`DESCRIBED_MARGIN` — the absolute cosine does not separate ("biodiversité"
        is 0.89 from GEOBS) — and in at least two words, a single one being a notion, not a name.

        And only when the question is no listing of applications (``aggregate``, the classifier's
        probability of one, with "applications" or the like written: in "Which housing-domain
        applications are in production?" the words "housing domain" are a criterion, not SYPLO), nor
        off-topic once read with those words as the application's name (the classifier, given "X, qui
        est le chef de projet ?", sees a question about a contact).

        Failing a full name, the record whose full name and description's lead are clearly the
        closest (:data:`DESCRIBED_BY_TEXT_MARGIN`), unless the question writes a word shaped like an
        unknown name (``unknown_word``: "agrivision" is no description of CALAM) or may be a listing
        whatever its words (this weaker evidence took an English listing for a description)."""
        if self.embedder is None or (aggregate >= AGGREGATE_PROBABILITY and _APPLICATIONS.search(blank)):
            return None
        cut = [(a, b) for found in spans.values() for a, b in found]
        words = [
            m.group() for m in re.finditer(r"\S+", blank)
            if not any(a < m.end() and m.start() < b for a, b in cut) and len(m.group()) > 2 and m.group() not in self._asking_or_small
        ]
        if len(words) < 2:
            return None
        if self._name_vectors is None:
            self._name_vectors = self.embedder.embed_questions([self.by_id[i].fact("nom_long") or self.by_id[i].nom for i in self._name_ids])
        query = self.embedder.embed_question(" ".join(words))
        first = _clearly_first(self._name_vectors @ query, DESCRIBED_MARGIN)
        if first is None and not unknown_word and aggregate < AGGREGATE_PROBABILITY:
            # What it does rather than what it is called ("l'outil où les agents de l'OFB saisissent
            # leurs observations d'écoulement", "the service that lets local authorities publish their
            # traffic orders"): the full name and the description's lead, farther ahead.
            if self._text_vectors is None:
                self._text_vectors = self.embedder.embed_passages([_name_and_lead(self.by_id[i]) for i in self._name_ids])
            first = _clearly_first(self._text_vectors @ query, DESCRIBED_BY_TEXT_MARGIN)
        if first is None:
            return None
        if self.model is not None:
            named = set(words)
            masked = re.sub(r"(?:X )*X", MASK, " ".join(MASK if w in named else w for w in blank.split()))
            scores = self.model.predict(self.embedder.embed_question(masked), masked)
            if scores.get(OUT_OF_SCOPE, 0.0) >= OUT_OF_SCOPE_REFUSAL:
                return None
        record = self.by_id[self._name_ids[first]]
        return EntityMatch(record.id, record.nom, " ".join(words), 80.0, 0, 0, False, "described")

    @staticmethod
    def _proper_name(question: str, described: EntityMatch) -> str | None:
        """The words of a description written as a proper name — capitalised past the question's
        first word ("du Géoportail des risques") — from that word to the last described one."""
        words = question.split()
        said = set(described.alias.split())
        described_at = [i for i, word in enumerate(words) if fold(word.strip("?!.,;:'’\"«»()")) in said]
        first = next((i for i in described_at if i > 0 and words[i][:1].isupper()), None)
        return " ".join(words[first : described_at[-1] + 1]).strip("?!.,;:\"«»() ") if first is not None else None

    def _holder_named(self, folded: str, app_ids: list[str]) -> str | None:
        """ "actors" or "contacts" when the question names one of the applications' actors or contacts
        (:func:`~assistant.field_answers.named_in`: the one the answer will then narrow to)."""
        for app_id in app_ids:
            record = self.by_id[app_id]
            if any(named_in(folded, a.acteur, record) for a in record.acteurs):
                return "actors"
            if any(named_in(folded, c.contact, record) for c in record.contacts):
                return "contacts"
        return None

    def _claims(self, tokens: list[Token], inside: set[int], intents: list[str]) -> dict[str, list[str]]:
        """The words of a yes/no question that are values of the list field it asks about: what it
        checks is in the list. A word counts when some record's answer for that field holds it."""
        spelled = [SHORT_FORMS.get(t.folded, t.folded) for i, t in enumerate(tokens) if i not in inside]
        words = [w for w in spelled if len(w) >= 3 and w not in STOPWORDS]  # "API" is a value too
        claims = {}
        for intent in intents:
            values = self.value_words.get(intent)
            found = [w for w in words if values and claim_stem(w) in values]
            if found:
                claims[intent] = found
        return claims

    def _named_after_by(self, folded: str, intents: list[str]) -> dict[str, list[str]]:
        """A value no record holds, named where a list's value stands ("utilisé par les agriculteurs"):
        still a claim to test — so that the answer is « Non », not « Oui » because the list exists."""
        match = _BY_WHOM.search(folded)
        listed = [i for i in intents if i in LIST_INTENTS]
        if not match or not listed or match.group(1) in self.vocabulary:
            return {}
        return {listed[0]: [match.group(1)]}

    def _corrected(self, text: str) -> str:
        """``text`` with the words that are one typo away from a cue word spelled as that word.

        A word that a cue already matches is left alone ("maitre" of "maître d'ouvrage" is no typo
        of the cue fragment "maitr").
        """
        cued = {w for cues in _CUES.values() for c in cues for m in c.finditer(text) for w in m.group(0).split()}
        words = text.split()
        for i, word in enumerate(words):
            if len(word) < 5 or word in self.vocabulary or word in CUE_WORDS or word in cued:
                continue
            allowed = 1 if len(word) < 8 else 2
            near = [c for c in CUE_WORDS if abs(len(c) - len(word)) <= allowed and OSA.distance(word, c, score_cutoff=allowed) <= allowed]
            if near:
                words[i] = min(near, key=lambda c: OSA.distance(word, c))
        return " ".join(words)

    def _decide(self, parsed: ParsedQuestion, aggregate_cue: bool) -> None:
        scores = parsed.scores
        ranked = sorted((p, name) for name, p in scores.items() if name in _SINGLE)[::-1]
        parsed.likely_intents = [name for p, name in ranked[:2] if p >= LIKELY]
        asks_own_field = bool(parsed.app_ids and parsed.cue_intents)
        parsed.aggregate = not asks_own_field and (aggregate_cue or scores.get(AGGREGATE, 0.0) >= AGGREGATE_PROBABILITY)
        if parsed.cue_intents:
            parsed.intents, parsed.confident = list(parsed.cue_intents), True
            # "Quel est le site de GASPAR et qui contacter ?": a second question no cue knows, joined by
            # a conjunction, that the classifier ranks first — or second, after a cue's intent, with a
            # fair share (contacts 0.72, websites 0.28 there).
            if _AND.search(parsed.folded):
                others = [(p, name) for p, name in ranked[:2] if name not in parsed.intents]
                if others and (others[0][0] >= CONFIDENT or (ranked[0][1] in parsed.intents and others[0][0] >= SECOND_QUESTION)):
                    parsed.intents.append(others[0][1])
        elif ranked and ranked[0][0] >= CONFIDENT:
            parsed.intents, parsed.confident = [ranked[0][1]], True
        else:
            parsed.intents = list(parsed.likely_intents)

    def _unknown_names(self, question: str, folded: str) -> list[UnknownMention]:
        """Names the catalog has never seen, where a name stands."""
        # A compound name the catalog never wrote, even of known words ("Hydro-Veille").
        for match in _COMPOUND.finditer(question):
            if fold(match.group()) not in self.known_compounds:
                return [UnknownMention(match.group())]
        # Where a name stands first, then any long word the catalog has never used that is shaped like
        # a name rather than a French or English word ("qui gère vigiforet ?", not "contacter").
        candidates = [m.group(1) for m in _NAME_SLOT.finditer(folded)]
        candidates += [w for w in folded.split() if len(w) >= 5 and w.isalpha() and not w.endswith(_WORD_ENDINGS)]
        found = self._first_unseen(question, folded, candidates)
        return [found] if found else []

    def _first_unseen(self, question: str, folded: str, candidates: list[str]) -> UnknownMention | None:
        """The first of ``candidates`` (folded words where a name may stand) that neither the catalog
        nor the language of questions knows, as the question writes it. The index's vocabulary is
        stemmed ("espece" for "espèces"): a plural of it is known too. In an English question an
        English word is no name ("the national platform that pools …")."""
        english = len(_ENGLISH.findall(folded)) >= 2
        for word in candidates:
            if english and zipf_frequency(word, "en") >= ENGLISH_WORD:
                continue
            if word not in self.vocabulary and not set(bm25_tokens(word)) & self.vocabulary and not word.isdigit():
                return UnknownMention(next((w.strip(",:;?!.") for w in question.split() if fold(w) == word), word))
        return None

    def _mentions(self, tokens: list[Token], inside: set[int]) -> list[str]:
        """Capitalised names of the question that are not its applications ("BRGM", "ADEME"), and
        people named by first name and surname ("Julien Mercier c'est bien le chef de projet ?")."""
        found = []
        for i, token in enumerate(tokens):
            word = token.original
            if i in inside or word in _ACRONYMS_OF_PROSE or token.folded in STOPWORDS:
                continue
            if len(word) >= 2 and sum(c.isupper() for c in word) >= 2 and word not in found:
                found.append(word)
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if (
                following and i + 1 not in inside and following.start == token.end + 1
                and not {token.folded, following.folded} & (STOPWORDS | _CIVILITIES)
                and all(_PERSON_WORD.match(w.original) for w in (token, following))
            ):
                found.append(f"{word} {following.original}")
        return found
