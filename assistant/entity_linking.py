"""Which catalog applications a question names — every name a record has, no hard-coded list.

Aliases come from each record:

* its short name, its full name and its id (ids only with a cue: "id 1028", or when long);
* the short name without spaces or hyphens ("mondiagartif" for "Mon Diag Artif", "melanie2");
* its parts, when they name no other application: the head of a hyphenated name ("ZNIEFF" of
  ZNIEFF-Saisie, "DPM" of DPM-Web), an acronym word ("GES" of "Bilans GES"), the capitals
  before a lower-case tail ("GUN" of GUNenv), an acronym in brackets in the full name ("MAJIC"),
  and the runs of two or more significant words of its full name that no other full name holds
  ("habitat indigne" for ORTHI, "domaine public maritime" for DPM-Web).

Matching works on folded tokens (no case, no accents, punctuation as spaces):

1. exact alias occurrences as whole-token sequences, the longest first ("8 SINP" is not also "SINP");
   full names and their fragments also by their significant words alone, whatever small words
   stand between them ("l'espace professionnel de Géorisques", "l'espace pro géorisques");
   a full name shortened by the asker — its head word and at least half of its words, in order ("la
   banque des prélèvements en eau" for BNPE) — when nothing else is named or when it holds the name
   found ("le module pro d'ADES" is ADES-PRO); when still nothing is named, an acronym written in
   capitals that only one record's full name or description uses and that names no application nor
   organisation of the catalog ("le SIRH" is RenoiRH, "un SIRH interministériel");
2. for tokens no alias matched, one-typo matching (two for names of 7+ letters) against names
   of 4+ letters with the same first letter — "Sitadelle", "TELPAC", "Hydroportal" — never for a
   word of the catalog's vocabulary or a common word;
3. a known name followed by a capitalised word that is no part of any name ("GASPAR Mobile",
   "SINP Bretagne") is not that application: it is reported as an unknown mention, with the
   near name, so the assistant can say the asked application does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from ingestion.lexicon import SHORT_FORMS, claim_stem
from ingestion.question_types import QUESTION_TYPES
from ingestion.records import AppRecord
from ingestion.text_repair import fold

# Folded words that are never an application on their own, even if an app is called so.
_GENERIC = frozenset({"application", "applications", "app", "appli", "logiciel", "outil", "site", "le", "la", "les"})
# Words that may follow a name, capitalised, without extending it ("GASPAR Quel est…", "What Does X Do").
STOPWORDS = frozenset(
    """a au aux avec c ca ce ces cet cette chez comment dans de des depuis du elle elles en est et etc il ils j je l la le les leur
    lui ma mais me mes moi mon ne ni nos notre nous on ou où par pas pour qu quand que quel quelle quelles quels qui quoi sa se ses
    si son sont sur ta te tes toi ton tu un une vos votre vous y svp stp merci bonjour oui non est-ce aussi encore toujours
    is are was were the of for to what who when where which how does do did has have can could will would still and or in on at by
    with about please thanks hello it its this that be been an as from me my i you your
    comme alors donc tout tous toute toutes autre autres meme tres plus moins avant apres entre sous vers sans contre pendant
    selon ceci cela celui celle ceux celles quelque quelques chaque plusieurs certains aucun aucune rien jamais souvent parfois
    ici maintenant aujourd hui hier demain peut peux veux voudrais faut fais fait dois doit avoir etre ete etait sera serait
    avait vais va vont suis es sommes etes font ainsi aussi lors dont leurs notre votre nous vous moi toi eux
    there their then than also just only very some any all other like such into over after before between under there
    been being would should could might must shall
    parmi chacun chacune via sauf hormis malgre durant envers lorsque puisque""".split()
)
_ACRONYM = re.compile(r"^[A-Z0-9]{2,}$")
_PROSE_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{2,}\b")
_CAMEL_HEAD = re.compile(r"^([A-Z]{3,})[a-z]+$")
_CAMEL_TAIL = re.compile(r"^[A-Z][a-z]+([A-Z][a-z]+[A-Z][A-Za-z]{2,})$")  # "DiagArtif" of MonDiagArtif
_BRACKETED = re.compile(r"\(([A-Z0-9][A-Z0-9'’\- ]{1,20})\)")
_WORD = re.compile(r"[^\W_]+")
# Lower-case words that make a known name another product when they follow it ("geonature mobile").
VARIANT_WORDS = frozenset("mobile pro lite express next cloud premium junior bis web".split())


# The words of the registry's phrasings ("statut", "contact", "site"…): after a name, they ask about
# it ("VIGIEAU STATUT") — they do not extend it into another application's name.
FIELD_WORDS = frozenset(w for t in QUESTION_TYPES for w in t.phrasing_words(answers=False)) - VARIANT_WORDS


def _significant(tokens: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The words that carry a name's meaning: no small word, no lone letter (the "l" of "l'eau")."""
    return tuple(t for t in tokens if t not in STOPWORDS and len(t) > 1)


def _word_key(word: str) -> str:
    """A word as names by their words compare it: short forms spelled out, no plural ("l'espace pro")."""
    return claim_stem(SHORT_FORMS.get(word, word))


def _as_written(word: str) -> str:
    return SHORT_FORMS.get(word, word)


# Between two words of a name, only small words may stand: a comma or a full stop ends the name.
_MAX_SKIPPED = 2
_HARD_PUNCTUATION = re.compile(r"[.,;:?!()\[\]]")


def _written_alike(asked: str, written: str) -> bool:
    """A word of a shortened full name as the asker wrote it: as written, or in the other gender or
    number of a long word ("pro" spelled out is "professionnel", the name says "professionnelle")."""
    return asked == written or (len(asked) >= 6 and written.startswith(asked) and len(written) - len(asked) <= 2)


def _strictly_inside(inner: "EntityMatch", outer: "EntityMatch") -> bool:
    """``inner``'s tokens lie within ``outer``'s, and ``outer`` spans more."""
    return outer.start <= inner.start and inner.end <= outer.end and (outer.end - outer.start) > (inner.end - inner.start)


def _in_order(words: list[str], name: list[str]) -> bool:
    """``words`` all appear in ``name``, in that order (a subsequence)."""
    rest = iter(name)
    return all(w in rest for w in words)


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@dataclass(frozen=True)
class EntityMatch:
    app_id: str
    name: str
    alias: str
    score: float
    start: int  # token span in the folded question
    end: int
    exact: bool
    kind: str = "nom"  # the alias that matched: nom, nom_long, id, part, fragment, acronym


@dataclass(frozen=True)
class UnknownMention:
    """An application the question names and the catalog does not hold ("GASPAR Mobile")."""

    name: str
    near: str | None = None  # the catalog name it extends or resembles


@dataclass
class Linking:
    entities: list[EntityMatch] = field(default_factory=list)
    unknown: list[UnknownMention] = field(default_factory=list)
    tokens: list["Token"] = field(default_factory=list)  # the question's tokens, which spans refer to


@dataclass(frozen=True)
class _Alias:
    app_id: str
    name: str
    tokens: tuple[str, ...]
    kind: str  # nom, nom_long, id, part


@dataclass(frozen=True)
class Token:
    folded: str
    original: str
    start: int  # character offsets in the question
    end: int


def tokenize(question: str) -> list[Token]:
    """Folded tokens aligned with the original words (so their case can be read)."""
    tokens = []
    for match in _WORD.finditer(question):
        for part in fold(match.group(0)).split():
            tokens.append(Token(part, match.group(0), match.start(), match.end()))
    return tokens


def _parts(record: AppRecord) -> list[str]:
    """Parts of a record's names that may name it alone (see the module docstring)."""
    parts: list[str] = []
    if "-" in record.nom:
        parts.append(record.nom.split("-", 1)[0])  # the head: "ZNIEFF" of ZNIEFF-Saisie, not its "-Saisie"
    words = record.nom.split()
    if len(words) > 1:
        parts += [w for w in words if len(w) >= 3 and _ACRONYM.match(w)]
    head = _CAMEL_HEAD.match(record.nom)
    if head:
        parts.append(head.group(1))
    tail = _CAMEL_TAIL.match(record.nom)
    if tail:
        parts.append(tail.group(1))
    long_name = record.fact("nom_long") or ""
    parts += [m.group(1).strip() for m in _BRACKETED.finditer(long_name)]
    return parts


class EntityLinker:
    def __init__(self, records: list[AppRecord], vocabulary: frozenset[str] | set[str] = frozenset()) -> None:
        self._aliases: list[_Alias] = []
        self._by_first: dict[str, list[_Alias]] = {}
        self._compact: dict[str, list[_Alias]] = {}
        self._by_first_word: dict[str, list[_Alias]] = {}  # aliases matched on significant words only
        self._name_words: set[str] = set()
        primary: dict[str, set[str]] = {}
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
                self._add(_Alias(record.id, record.nom, tokens, kind))
                if kind != "id":
                    primary.setdefault("".join(tokens), set()).add(record.id)
                    self._name_words.update(tokens)
        # Parts count only when they name exactly one application and are no one's full name.
        owners: dict[str, set[str]] = {}
        names = {r.id: r.nom for r in records}
        for record in records:
            for part in _parts(record):
                key = "".join(fold(part).split())
                if len(key) >= 3 and key not in _GENERIC:
                    owners.setdefault(key, set()).add(record.id)
        for key, ids in owners.items():
            if len(ids) == 1 and key not in primary:
                (app_id,) = ids
                self._add(_Alias(app_id, names[app_id], (key,), "part"))
        # A full name by its significant words, whatever small words stand between them ("l'espace
        # professionnel de Géorisques" is "Espace professionnel Géorisques"), and its fragments: "l'appli
        # habitat indigne" is ORTHI ("Outil de repérage et de traitement de l'habitat indigne") when no
        # other full name holds those words in that order.
        fragments: dict[tuple[str, ...], set[str]] = {}
        for record in records:
            words = _significant(fold(record.fact("nom_long") or "").split())
            if len(words) >= 2 and "".join(words) not in primary:
                self._add_words(_Alias(record.id, record.nom, words, "nom_long"))
            for i in range(len(words)):
                for j in range(i + 2, len(words) + 1):
                    piece = words[i:j]
                    if piece != words and sum(1 for t in piece if len(t) >= 4) >= 2:
                        fragments.setdefault(piece, set()).add(record.id)
        for piece, ids in fragments.items():
            if len(ids) == 1 and "".join(piece) not in primary:
                (app_id,) = ids
                self._add_words(_Alias(app_id, names[app_id], piece, "fragment"))
        # Each full name's significant words as written, for shortened names (_by_some_words).
        self._long_names = {a: [_as_written(t) for t in a.tokens] for aliases in self._by_first_word.values() for a in aliases if a.kind == "nom_long"}
        self._long_by_app = {a.app_id: words for a, words in self._long_names.items()}
        self._fuzzy_targets = [a for a in self._aliases if a.kind in ("nom", "nom_long") and len(" ".join(a.tokens)) >= 4]
        # Acronyms of one record's prose ("SIRH" in RenoiRH's description), no name's or organisation's.
        used: dict[str, set[str]] = {}
        taken = set(self._name_words) | set(owners)
        for record in records:
            organisations = " ".join([*(a.acteur or "" for a in record.acteurs), *(c.contact or "" for c in record.contacts), *map(str, record.hebergements)])
            taken |= {fold(w) for w in _PROSE_ACRONYM.findall(organisations)}
            prose = f"{record.fact('nom_long') or ''} {record.fact('descriptif') or ''}"
            for word in _PROSE_ACRONYM.findall(prose):
                used.setdefault(fold(word), set()).add(record.id)
        # folded acronym → (application id, name)
        self._acronyms = {w: (app_id, names[app_id]) for w, ids in used.items() if len(ids) == 1 and w not in taken and w not in _GENERIC for app_id in ids}
        # Words that are never typos of a name: the catalog's own vocabulary and common words.
        self._known_words = (set(vocabulary) - self._name_words) | STOPWORDS | _GENERIC

    def _add(self, alias: _Alias) -> None:
        self._aliases.append(alias)
        self._by_first.setdefault(alias.tokens[0], []).append(alias)
        compact = "".join(alias.tokens)
        if len(compact) >= 4 and alias.kind in ("nom", "part"):
            self._compact.setdefault(compact, []).append(alias)

    def _add_words(self, alias: _Alias) -> None:
        self._by_first_word.setdefault(_word_key(alias.tokens[0]), []).append(alias)

    # ------------------------------------------------------------------ public

    def link(self, question: str) -> list[EntityMatch]:
        """Applications named in ``question``, best first; at most one match per application."""
        return self.read(question).entities

    def read(self, question: str) -> Linking:
        """The applications a question names, and the names it uses that the catalog does not hold."""
        tokens = tokenize(question)
        folded = [t.folded for t in tokens]
        matches = self._exact(folded, self._glued_apart(question, tokens))
        positions = [i for i, t in enumerate(tokens) if _significant([t.folded])]  # where a name's words may stand
        matches = self._drop_inner(matches + self._by_words(question, tokens, positions))
        # A shortened full name, when nothing else is named or when it holds the name found: "le
        # module pro d'ADES" is ADES-PRO ("Module de bancarisation professionnelle ADES"), not ADES.
        shortened = self._by_some_words(question, tokens, positions)
        if matches:
            shortened = [s for s in shortened if any(_strictly_inside(m, s) for m in matches)]
        matches = self._drop_inner(matches + shortened)
        if not matches:
            matches = [
                EntityMatch(*self._acronyms[t.folded], t.folded, 85.0, i, i + 1, True, "acronym")
                for i, t in enumerate(tokens) if t.folded in self._acronyms and _PROSE_ACRONYM.fullmatch(t.original)
            ]
        covered = {i for m in matches for i in range(m.start, m.end)}
        near: list[UnknownMention] = []
        # Part of a full name whose next words the asker replaced by others names another thing:
        # "l'Observatoire national des avalanches" is not ONDE, the "Observatoire national des étiages",
        # but an unknown name near it, as "GASPAR Mobile" is near GASPAR.
        for m in [m for m in matches if m.kind == "fragment"]:
            words = [j for j in positions if m.start <= j < m.end]
            full = self._long_by_app.get(m.app_id, [])
            goes_on = bool(full) and _as_written(tokens[words[-1]].folded) != full[-1]
            replaced = self._replacing(question, tokens, positions, words, goes_on)
            if replaced is not None:
                matches.remove(m)
                near.append(UnknownMention(question[tokens[m.start].start : tokens[replaced].end], m.name))
        matches += self._fuzzy(folded, covered, tokens, near)
        unknown: dict[str, UnknownMention] = {m.name: m for m in near}
        kept: list[EntityMatch] = []
        for m in matches:
            extension = self._extension(question, tokens, m)
            if extension:
                unknown.setdefault(extension, UnknownMention(extension, m.name))
            else:
                kept.append(m)
        best: dict[str, EntityMatch] = {}
        for m in sorted(kept, key=lambda m: (-m.score, -(m.end - m.start))):
            best.setdefault(m.app_id, m)
        return Linking(sorted(best.values(), key=lambda m: (-m.score, m.start)), list(unknown.values()), tokens)

    # ------------------------------------------------------------------ matching

    @staticmethod
    def _glued_apart(question: str, tokens: list[Token]) -> set[int]:
        """Positions ``i`` where tokens ``i`` and ``i + 1`` may not be glued into one name: what stands
        between them is more than a space or a hyphen ("GEOB, s'il" is no "GEOBS")."""
        return {i for i in range(len(tokens) - 1) if question[tokens[i].end : tokens[i + 1].start].strip(" -")}

    def _exact(self, tokens: list[str], apart: set[int]) -> list[EntityMatch]:
        found: list[EntityMatch] = []
        for i, tok in enumerate(tokens):
            for alias in self._by_first.get(tok, []):
                n = len(alias.tokens)
                if tuple(tokens[i : i + n]) == alias.tokens:
                    # ids are numbers: only trust them with a cue ("id 1024", "identifiant") or when long.
                    if alias.kind == "id" and len(alias.tokens[0]) < 4 and not (i > 0 and tokens[i - 1] in {"id", "identifiant"}):
                        continue
                    score = {"part": 97.0, "fragment": 92.0}.get(alias.kind, 100.0)
                    found.append(EntityMatch(alias.app_id, alias.name, " ".join(alias.tokens), score, i, i + n, True, alias.kind))
            for n in (1, 2, 3):
                # "on de" is not "ONDE": common words glued together name nothing.
                glued = n == 1 or not (all(t in STOPWORDS for t in tokens[i : i + n]) or apart & set(range(i, i + n - 1)))
                if i + n <= len(tokens) and glued:
                    compact = "".join(tokens[i : i + n])
                    for alias in self._compact.get(compact, []):
                        found.append(EntityMatch(alias.app_id, alias.name, compact, 99.0 if alias.kind != "part" else 96.0, i, i + n, True, alias.kind))
        return self._drop_inner(found)

    @staticmethod
    def _drop_inner(found: list[EntityMatch]) -> list[EntityMatch]:
        """Matches strictly inside a longer one dropped (maximal munch)."""
        return [m for m in found if not any(_strictly_inside(m, o) for o in found)]

    def _by_words(self, question: str, tokens: list[Token], positions: list[int]) -> list[EntityMatch]:
        """Full names and their fragments found by their significant words (at ``positions``), in
        order, with at most :data:`_MAX_SKIPPED` small words between two of them and no punctuation
        but apostrophes."""
        found: list[EntityMatch] = []
        for k, i in enumerate(positions):
            for alias in self._by_first_word.get(_word_key(tokens[i].folded), []):
                n = len(alias.tokens)
                span = positions[k : k + n]
                if len(span) < n:
                    continue
                # A whole full name forgives a plural; a fragment must be as written ("plans de prévention
                # des risques" names PPR-Num, "plan de prévention des risques" may be the general notion).
                key = _word_key if alias.kind == "nom_long" else _as_written
                if [key(tokens[j].folded) for j in span] != [key(t) for t in alias.tokens]:
                    continue
                if any(b - a - 1 > _MAX_SKIPPED or _HARD_PUNCTUATION.search(question[tokens[a].end : tokens[b].start]) for a, b in zip(span, span[1:])):
                    continue
                score = 98.0 if alias.kind == "nom_long" else 92.0
                found.append(EntityMatch(alias.app_id, alias.name, " ".join(alias.tokens), score, span[0], span[-1] + 1, True, alias.kind))
        return found

    def _by_some_words(self, question: str, tokens: list[Token], positions: list[int]) -> list[EntityMatch]:
        """A full name shortened by the asker, when nothing else is named: its head word and, in
        order, at least half of its significant words, at most :data:`_MAX_SKIPPED` of them left out
        in between ("la banque des prélèvements en eau" is the "Banque nationale des prélèvements
        quantitatifs en eau"; "la messagerie du ministère", the "Messagerie et agenda du ministère")
        — when no other full name holds those words in that order. Words as written, like fragments."""
        found: list[EntityMatch] = []
        for k, i in enumerate(positions):
            for alias in self._by_first_word.get(_word_key(tokens[i].folded), []):
                if alias.kind != "nom_long":
                    continue
                wanted = self._long_names[alias]
                if _as_written(tokens[i].folded) != wanted[0]:
                    continue
                matched, skipped, at = [i], 0, 1
                for j in positions[k + 1 :]:
                    if _HARD_PUNCTUATION.search(question[tokens[matched[-1]].end : tokens[j].start]) or j - matched[-1] - 1 > _MAX_SKIPPED:
                        break
                    key = _as_written(tokens[j].folded)
                    step = next((n for n in range(at, len(wanted)) if _written_alike(key, wanted[n])), None)
                    if step is None:
                        break
                    skipped, at = skipped + step - at, step + 1
                    matched.append(j)
                words = [next(w for w in wanted if _written_alike(_as_written(tokens[j].folded), w)) for j in matched]
                long_enough = len(words) >= 2 and 2 * len(words) >= len(wanted) and sum(len(w) >= 4 for w in words) >= 2
                if not long_enough or skipped > _MAX_SKIPPED:
                    continue
                if any(o.app_id != alias.app_id and _in_order(words, other) for o, other in self._long_names.items()):
                    continue
                found.append(EntityMatch(alias.app_id, alias.name, " ".join(alias.tokens), 90.0, matched[0], matched[-1] + 1, False, "fragment"))
        return found

    @staticmethod
    def _replacing(question: str, tokens: list[Token], positions: list[int], matched: list[int], name_goes_on: bool) -> int | None:
        """The position of a word the asker put where the shortened name's own words stand: between
        two of its words, or right after them while the name goes on ("… national des avalanches")."""
        inside = [j for j in positions if matched[0] < j < matched[-1] and j not in matched]
        if inside:
            return inside[-1] if tokens[inside[-1]].folded not in FIELD_WORDS else None
        after = next((j for j in positions if j > matched[-1]), None)
        if not name_goes_on or after is None or after - matched[-1] - 1 > _MAX_SKIPPED:
            return None
        if _HARD_PUNCTUATION.search(question[tokens[matched[-1]].end : tokens[after].start]):
            return None
        word = tokens[after].folded
        if _ACRONYM.match(tokens[after].original):
            return None  # "… de l'inspection des ICPE": an acronym may stand for the name's last words
        return after if len(word) >= 4 and word.isalpha() and word not in FIELD_WORDS and word not in _GENERIC else None

    @staticmethod
    def _original(tokens: list[Token], start: int, end: int) -> str:
        return " ".join(dict.fromkeys(t.original for t in tokens[start:end]))

    def _fuzzy(self, tokens: list[str], covered: set[int], question_tokens: list[Token], near: list[UnknownMention]) -> list[EntityMatch]:
        """One- or two-typo matches of the names; names that differ only by a digit go to ``near``."""
        found: list[EntityMatch] = []
        for alias in self._fuzzy_targets:
            target = " ".join(alias.tokens)
            compact = target.replace(" ", "")
            n = len(alias.tokens)
            for size in {max(1, n - 1), n, n + 1}:
                for i in range(0, max(len(tokens) - size + 1, 0)):
                    span = tokens[i : i + size]
                    if any(j in covered for j in range(i, i + size)):
                        continue
                    if size == 1 and span[0] in self._known_words:
                        continue
                    if size > 1 and any(t in STOPWORDS and t not in alias.tokens for t in span):
                        continue  # "on me" is no typo of "ONDE", nor "site de" of "Sitadel"
                    window = "".join(span)
                    # Typos rarely hit the first letter; without this, "monde" would be "ONDE".
                    if window[:1] != compact[:1]:
                        continue
                    # Two typos only between long words: "stade" is not "Sitadel" (two insertions).
                    allowed = 1 if min(len(window), len(compact)) < 7 else 2
                    # OSA: a swap of two letters ("GASPRA") is one typo, not two.
                    distance = OSA.distance(window, compact, score_cutoff=allowed)
                    if distance <= allowed and _digits(window) and _digits(window) != _digits(compact):
                        # "Mélanie3" is another version, not a typo of Mélanie2: an unknown name
                        # ("Mélanie" without its number is still Mélanie2).
                        near.append(UnknownMention(self._original(question_tokens, i, i + size), alias.name))
                    elif distance <= allowed:
                        score = 95.0 - 5 * distance
                        found.append(EntityMatch(alias.app_id, alias.name, target, score, i, i + size, False, alias.kind))
        return found

    def _extension(self, question: str, tokens: list[Token], match: EntityMatch) -> str | None:
        """ "GASPAR Mobile": the name followed, in the same phrase, by a capitalised word no name holds.
        Only a name extends so: words of a full name followed by an acronym are a description ("la
        télédéclaration des aides PAC")."""
        if match.end >= len(tokens) or match.kind in ("nom_long", "fragment"):
            return None
        last, following = tokens[match.end - 1], tokens[match.end]
        between = question[last.end : following.start]
        version = following.folded.isdigit() and len(following.folded) <= 2  # "RPLS 2", not "GASPAR 2023"
        # "ADS 2008": the name's own number written otherwise is another version of it, a year or not.
        name_words = fold(match.name).split()
        numbered = len(name_words) > match.end - match.start and name_words[match.end - match.start].isdigit()
        if numbered and following.folded.isdigit() and between == " ":
            return None if following.folded == name_words[match.end - match.start] else question[tokens[match.start].start : following.end]
        if between not in (" ", "-") or not (following.original[:1].isupper() or following.folded in VARIANT_WORDS or version):
            return None
        word = following.folded
        if word in STOPWORDS or word in FIELD_WORDS or (word.isdigit() and not version) or word in self._by_first:
            return None  # a common word, a field asked about ("VIGIEAU STATUT"), a year, another name's start
        extended = tuple(t.folded for t in tokens[match.start : match.end + 1])
        if any(a.tokens[: len(extended)] == extended for a in self._aliases):
            return None  # the beginning of a longer name: exact matching decides
        first = tokens[match.start]
        return question[first.start : following.end]
