"""Synthetic French question/answer examples generated from the catalog.

Question types are a plain list of :class:`QuestionType` (one application at a time) and
:class:`AggregateType` (listings, counts, comparisons: computed over all records). Each type has
at least five training phrasings and two phrasings held out for the test split, and three answer
phrasings (one per split, so no answer text is shared between splits). Answers are taken from
the :class:`AppRecord` through ``record.fact()``, which hides placeholders; a type is skipped
for an application whose field is empty. The values that matter (names, ids, emails, URLs,
dd/mm/yyyy dates) are copied verbatim and listed in ``facts``.

:func:`generate_dataset` turns them into :class:`QARow` examples in two flavours: closed-book
(question → answer) and with context (question + retrieved-like chunks: the application's own
chunk in most examples plus distractor chunks of look-alike or same-domain applications; without
the right chunk the answer is the refusal, RAFT-style). Every example is built with
:func:`ingestion.prompts.build_messages`, the contract shared with the assistant.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

from rapidfuzz import fuzz, process

from ingestion.chunking import Chunk, chunk_record
from ingestion.dataset_formats import QARow
from ingestion.prompts import REFUSAL, build_messages, refusal_for_app
from ingestion.records import AppRecord
from ingestion.splits import Group, LeakageReport, SplitPlan, enforce_no_leakage, plan_splits
from ingestion.text_repair import fold, looks_like_url

log = logging.getLogger(__name__)

MAX_LISTED = 10  # names spelled out in a listing answer; the count stays exact
LOOK_ALIKE_SCORE = 60.0  # name similarity (0-100) above which two applications are easily confused
MAX_ITEMS = 3  # contacts, sites… in one short answer
ANSWER_VARIANT = {"train": 0, "valid": 1, "test": 2}
FLAVOURS = ("closed_book", "context")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[A-ZÀ-Ý0-9«])")

Slots = dict[str, str]


@dataclass(frozen=True)
class Fact:
    """What an answer states: the values to format it with, and the verbatim strings it must contain."""

    slots: Slots
    facts: list[str]


@dataclass(frozen=True)
class QuestionType:
    """One kind of question about a single application.

    Templates use ``{app}`` for the application's name (short, or long when ``long_name_ok``);
    answers use ``{name}`` (always the short name) and the slots returned by ``extract``.
    """

    name: str
    templates: tuple[str, ...]
    test_templates: tuple[str, ...]
    answers: tuple[str, str, str]
    extract: Callable[[AppRecord], Fact | None]
    sections: tuple[str, ...]
    difficulty: str = "easy"
    long_name_ok: bool = True

    def answer_for(self, record: AppRecord, variant: int = 0) -> tuple[str, list[str]] | None:
        """(answer, facts) for this record, or None when the record does not hold the value."""
        fact = self.extract(record)
        if fact is None:
            return None
        return self.answers[variant].format(name=record.nom, **fact.slots), fact.facts


@dataclass(frozen=True)
class AggregateGroup:
    key: str
    question_slots: Slots
    fact: Fact
    app_ids: tuple[str, ...]


@dataclass(frozen=True)
class AggregateType:
    """A question over several records (listings, counts, comparisons)."""

    name: str
    templates: tuple[str, ...]
    test_templates: tuple[str, ...]
    answers: tuple[str, str, str]
    groups: Callable[[list[AppRecord]], list[AggregateGroup]]
    difficulty: str = "hard"


# ---------------------------------------------------------------- value helpers


def _join(items: Sequence[str], last: str = " et ") -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + last + items[-1]


def _date(event) -> str | None:  # type: ignore[no-untyped-def]
    return event.date.strftime("%d/%m/%Y") if event.date else None


def first_sentence(text: str) -> str:
    """The first sentence of a description: short answers, and the verbatim fact to check."""
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()


def _event(kind: str) -> Callable[[AppRecord], Fact | None]:
    def extract(r: AppRecord) -> Fact | None:
        for event in r.evenements:
            when = _date(event)
            if event.type == kind and when:
                return Fact({"date": when}, [when])
        return None

    return extract


def _scalar(field_name: str, slot: str) -> Callable[[AppRecord], Fact | None]:
    def extract(r: AppRecord) -> Fact | None:
        value = r.fact(field_name)
        return Fact({slot: value}, [value]) if value else None

    return extract


def _full_name(r: AppRecord) -> Fact | None:
    value = r.fact("nom_long")
    return Fact({"nom_long": value}, [value]) if value and value != r.nom else None


def _identifier(r: AppRecord) -> Fact | None:
    # Ids derived from the name by the loader ("nom:…") are not catalog facts.
    return None if r.id.startswith("nom:") else Fact({"id": r.id}, [r.id])


def _domains(r: AppRecord) -> Fact | None:
    by_domain: dict[str, list[str]] = {}
    for d in r.domaines:
        if d.domaine:
            subs = by_domain.setdefault(d.domaine, [])
            if d.sous_domaine and d.sous_domaine not in subs:
                subs.append(d.sous_domaine)
    if not by_domain:
        return None
    parts = [f"« {dom} »" + (f" (sous-domaine{'s' if len(subs) > 1 else ''} : {', '.join(subs)})" if subs else "") for dom, subs in by_domain.items()]
    prefix = "du domaine " if len(parts) == 1 else "des domaines "
    facts = list(by_domain) + [s for subs in by_domain.values() for s in subs]
    return Fact({"domaines": prefix + _join(parts)}, facts)


def _description(r: AppRecord) -> Fact | None:
    value = r.fact("descriptif")
    if not value:
        return None
    # The period is left to the answer template, so a citation can go before it.
    sentence = first_sentence(value).removesuffix(".")
    return Fact({"desc": sentence}, [sentence])


def _contacts(r: AppRecord) -> Fact | None:
    items, facts = [], []
    for c in r.contacts[:MAX_ITEMS]:
        if not (c.contact or c.courriel):
            continue
        who = c.contact or (f"le {c.role[0].lower()}{c.role[1:]}" if c.role else "le contact")
        details = ", ".join(p for p in ((c.role if c.contact else None), c.courriel) if p)
        items.append(f"{who} ({details})" if details else who)
        facts.extend(p for p in (c.contact, c.courriel) if p)
    return Fact({"contacts": _join(items, " ou ")}, facts) if items else None


def _websites(r: AppRecord) -> Fact | None:
    # A URL whose punctuation was lost and could not be repaired is not a usable answer.
    sites = [s for s in r.sites if s.url and looks_like_url(s.url)][:MAX_ITEMS]
    if not sites:
        return None
    items = [f"{s.url}" + (f" ({s.nature})" if s.nature else "") for s in sites]
    return Fact({"sites": _join(items)}, [s.url for s in sites if s.url])


def _actors(r: AppRecord) -> Fact | None:
    actors = [a for a in r.acteurs if a.acteur]
    if not actors:
        return None
    items = [f"{a.role} : {a.acteur}" if a.role else a.acteur for a in actors]
    return Fact({"acteurs": " ; ".join(items)}, [a.acteur for a in actors if a.acteur])


def _links(field_name: str, slot: str) -> Callable[[AppRecord], Fact | None]:
    def extract(r: AppRecord) -> Fact | None:
        links = [link for link in getattr(r, field_name) if link.nom]
        if not links:
            return None
        shown = links[:MAX_LISTED]
        items = [link.nom + (f" (flux {link.type_flux.lower()})" if link.type_flux else "") for link in shown]
        text = _join(items) + (f" et {len(links) - len(shown)} autres" if len(links) > len(shown) else "")
        return Fact({slot: text}, [link.nom for link in shown if link.nom])

    return extract


def _hosting(r: AppRecord) -> Fact | None:
    items, facts = [], []
    for h in r.hebergements[:MAX_ITEMS]:
        host = h.get("hebergeur") or next(iter(h.values()), None)
        if not host:
            continue
        kind = h.get("type d hebergement")
        items.append(f"{host} ({kind})" if kind else host)
        facts.append(host)
    return Fact({"hosts": _join(items)}, facts) if items else None


# ---------------------------------------------------------------- single-application types

QUESTION_TYPES: list[QuestionType] = [
    QuestionType(
        "status",
        (
            "Quel est le statut de l'application {app} ?",
            "L'application {app} est-elle en production ?",
            "{app}, c'est en prod ou pas ?",
            "quel est le statut de {app}",
            "Pourriez-vous m'indiquer le statut SI de {app}, s'il vous plaît ?",
            "Quel est l'etat de l'application {app} ?",
            "statu de l'appli {app} ?",
        ),
        ("Où en est l'application {app} aujourd'hui ?", "Dans quel état se trouve {app} actuellement ?"),
        (
            "Le statut de {name} est « {statut} ».",
            "{name} est actuellement au statut « {statut} ».",
            "D'après le catalogue, {name} a le statut « {statut} ».",
        ),
        _scalar("statut", "statut"),
        ("overview",),
    ),
    QuestionType(
        "full_name",
        (
            "Quel est le nom complet de {app} ?",
            "Que signifie {app} ?",
            "{app}, ça veut dire quoi ?",
            "Quel est le nom long de l'application {app} ?",
            "que veut dire le sigle {app}",
            "Pourriez-vous me donner l'intitule complet de {app} ?",
            "nom complet de {app} svp",
        ),
        ("Quelle est la signification de l'acronyme {app} ?", "Comment s'appelle {app} en toutes lettres ?"),
        (
            "Le nom complet de {name} est « {nom_long} ».",
            "{name} signifie « {nom_long} ».",
            "Le nom long de {name} est « {nom_long} ».",
        ),
        _full_name,
        ("overview",),
        long_name_ok=False,
    ),
    QuestionType(
        "identifier",
        (
            "Quel est l'identifiant de {app} ?",
            "Quel est l'id de l'application {app} ?",
            "{app} a quel numéro dans le catalogue ?",
            "quel est l'identifiant catalogue de {app}",
            "Pourriez-vous me communiquer l'identifiant de l'application {app} ?",
            "identifiant de {app} ?",
            "Quel est le code identifiant de {app} ?",
        ),
        ("Sous quel identifiant {app} est-elle référencée ?", "Quel numéro d'identification porte {app} dans le catalogue ?"),
        (
            "L'identifiant de {name} dans le catalogue est {id}.",
            "{name} porte l'identifiant {id}.",
            "Dans le catalogue, {name} a pour identifiant {id}.",
        ),
        _identifier,
        ("overview",),
    ),
    QuestionType(
        "scope",
        (
            "Quelle est la portée géographique de {app} ?",
            "{app} est-elle nationale ou locale ?",
            "{app} couvre quel territoire ?",
            "portee geographique de l'appli {app} ?",
            "Pourriez-vous préciser la portée géographique de l'application {app} ?",
            "porté géographique de {app} ?",
        ),
        ("Sur quel périmètre géographique {app} est-elle déployée ?", "À quelle échelle territoriale fonctionne {app} ?"),
        (
            "La portée géographique de {name} est « {portee} ».",
            "{name} a une portée « {portee} ».",
            "Selon le catalogue, la portée de {name} est « {portee} ».",
        ),
        _scalar("portee_geographique", "portee"),
        ("overview",),
    ),
    QuestionType(
        "family",
        (
            "À quelle famille d'applications appartient {app} ?",
            "Quelle est la famille de {app} ?",
            "{app}, c'est quel type d'appli ?",
            "famille d'application de {app}",
            "Pourriez-vous préciser la famille d'applications de {app} ?",
            "Dans quelle categorie est classee {app} ?",
        ),
        ("Dans quelle famille le catalogue range-t-il {app} ?", "De quelle catégorie d'applications relève {app} ?"),
        (
            "{name} appartient à la famille « {famille} ».",
            "La famille d'applications de {name} est « {famille} ».",
            "Dans le catalogue, {name} est classée dans la famille « {famille} ».",
        ),
        _scalar("famille", "famille"),
        ("overview",),
    ),
    QuestionType(
        "domains",
        (
            "À quel domaine métier appartient {app} ?",
            "Quel est le domaine de {app} ?",
            "{app}, c'est dans quel domaine ?",
            "quel domaine metier pour {app}",
            "Pourriez-vous m'indiquer les domaines et sous-domaines métier de {app} ?",
            "domaine metier de l'appli {app} ?",
        ),
        ("De quelle thématique métier relève {app} ?", "Dans quel secteur d'activité du ministère se situe {app} ?"),
        (
            "{name} relève {domaines}.",
            "{name} est rattachée {domaines}.",
            "Dans le catalogue, {name} dépend {domaines}.",
        ),
        _domains,
        ("overview",),
        "medium",
    ),
    QuestionType(
        "description",
        (
            "À quoi sert {app} ?",
            "Quelle est la description de l'application {app} ?",
            "{app}, ça sert à quoi ?",
            "a quoi sert l'application {app}",
            "Pourriez-vous me décrire brièvement l'application {app} ?",
            "c quoi {app} ?",
            "Que fait {app} ?",
        ),
        ("Quel est le rôle de l'application {app} ?", "Pour quels usages {app} a-t-elle été conçue ?"),
        (
            "{name} : {desc}.",
            "Selon sa fiche, {name} est décrite ainsi : {desc}.",
            "Voici la description de {name} : {desc}.",
        ),
        _description,
        ("description",),
        "medium",
    ),
    QuestionType(
        "contacts",
        (
            "Qui contacter pour {app} ?",
            "Quel est le contact de l'application {app} ?",
            "Je dois joindre qqn pour {app}, qui ?",
            "qui est le responsable de {app}",
            "Pourriez-vous m'indiquer l'adresse électronique du contact de {app} ?",
            "Qui est le referent de {app} ?",
            "contact pour {app} svp",
        ),
        ("À qui dois-je m'adresser au sujet de {app} ?", "Quelle personne puis-je solliciter pour une question sur {app} ?"),
        (
            "Pour {name}, contactez {contacts}.",
            "Le contact de {name} est {contacts}.",
            "Au sujet de {name}, vous pouvez joindre {contacts}.",
        ),
        _contacts,
        ("contacts",),
        "medium",
    ),
    QuestionType(
        "websites",
        (
            "Quelle est l'adresse du site de {app} ?",
            "Quelle est l'URL de {app} ?",
            "{app}, c'est quoi le lien ?",
            "url de l'application {app}",
            "Pourriez-vous me communiquer l'adresse web de l'application {app} ?",
            "Ou trouver le site de {app} ?",
            "adresse internet de {app} ?",
        ),
        ("Sur quel site web puis-je accéder à {app} ?", "Par quel lien se connecter à {app} ?"),
        (
            "{name} est accessible à l'adresse {sites}.",
            "L'URL de {name} est {sites}.",
            "Vous trouverez {name} à l'adresse {sites}.",
        ),
        _websites,
        ("sites",),
        "medium",
    ),
    QuestionType(
        "actors",
        (
            "Qui sont la MOA et la MOE de {app} ?",
            "Quels sont les acteurs de l'application {app} ?",
            "{app}, qui est MOA ?",
            "qui est la maitrise d'ouvrage de {app}",
            "Pourriez-vous m'indiquer la maîtrise d'ouvrage et la maîtrise d'œuvre de {app} ?",
            "Qui porte le projet {app} ?",
            "MOA / MOE de {app} ?",
        ),
        ("Quels services pilotent et réalisent {app} ?", "Quelles entités interviennent sur {app} ?"),
        (
            "Les acteurs de {name} sont : {acteurs}.",
            "Acteurs de {name} : {acteurs}.",
            "Selon le catalogue, les acteurs de {name} sont les suivants : {acteurs}.",
        ),
        _actors,
        ("actors",),
        "medium",
    ),
    QuestionType(
        "production_date",
        (
            "Quand {app} a-t-elle été mise en production ?",
            "Quelle est la date de mise en production de {app} ?",
            "{app} est en prod depuis quand ?",
            "date de mise en production de {app}",
            "Pourriez-vous m'indiquer à quelle date l'application {app} a été mise en production ?",
            "{app} a ete deployee en production quand ?",
            "date de MEP de {app} ?",
        ),
        ("Depuis quelle date {app} est-elle ouverte en production ?", "À quelle date {app} a-t-elle été mise en service ?"),
        (
            "{name} a été mise en production le {date}.",
            "La mise en production de {name} date du {date}.",
            "D'après le catalogue, {name} a été mise en service le {date}.",
        ),
        _event("Mise en production"),
        ("events",),
        "medium",
    ),
    QuestionType(
        "creation_date",
        (
            "Quand l'application {app} a-t-elle été créée ?",
            "Quelle est la date de création de {app} ?",
            "{app}, ça date de quand ?",
            "date de creation de {app}",
            "Pourriez-vous me préciser la date de création de l'application {app} ?",
            "Depuis quand {app} existe ?",
            "{app} a été lancé quand ?",
        ),
        ("De quand date le lancement du projet {app} ?", "À quelle date le projet {app} a-t-il démarré ?"),
        (
            "{name} a été créée le {date}.",
            "La création de {name} remonte au {date}.",
            "D'après le catalogue, le projet {name} a été lancé le {date}.",
        ),
        _event("Création"),
        ("events",),
        "medium",
    ),
    QuestionType(
        "related_apps",
        (
            "Quelles applications sont liées à {app} ?",
            "Avec quelles applications {app} échange-t-elle des données ?",
            "{app} est connectée à quoi ?",
            "applications liees a {app}",
            "Pourriez-vous lister les applications en lien avec {app} ?",
            "Quelles sont les applis reliées à {app} ?",
            "interfaces de {app} ?",
        ),
        ("Quels systèmes communiquent avec {app} ?", "Avec quels outils {app} est-elle interfacée ?"),
        (
            "{name} est liée à {apps}.",
            "Les applications liées à {name} sont {apps}.",
            "Selon le catalogue, {name} échange avec {apps}.",
        ),
        _links("applications_liees", "apps"),
        ("related",),
        "medium",
    ),
    QuestionType(
        "related_data",
        (
            "Quelles données sont liées à {app} ?",
            "Quels jeux de données utilise {app} ?",
            "{app} utilise quelles données ?",
            "donnees liees a {app}",
            "Pourriez-vous m'indiquer les données de référence associées à {app} ?",
            "Quelles donnees manipule l'appli {app} ?",
            "data liées a {app} ?",
        ),
        ("Sur quels référentiels de données s'appuie {app} ?", "Quelles sources de données sont rattachées à {app} ?"),
        (
            "Les données liées à {name} sont {data}.",
            "{name} utilise les données suivantes : {data}.",
            "Selon le catalogue, {name} est reliée aux données {data}.",
        ),
        _links("donnees_liees", "data"),
        ("related",),
        "medium",
    ),
    QuestionType(
        "technology",
        (
            "Quelle est la technologie principale de {app} ?",
            "Sur quelle technologie repose {app} ?",
            "{app}, c'est codé en quoi ?",
            "techno de {app}",
            "Pourriez-vous m'indiquer la pile technique de l'application {app} ?",
            "Quel langage utilise {app} ?",
            "technologie utilisee par {app}",
        ),
        ("Avec quels outils techniques {app} a-t-elle été développée ?", "Quelle est la stack technique de {app} ?"),
        (
            "La technologie principale de {name} est {tech}.",
            "{name} repose sur {tech}.",
            "Selon le catalogue, {name} est développée avec {tech}.",
        ),
        _scalar("technologie_principale", "tech"),
        ("hosting",),
        "medium",
    ),
    QuestionType(
        "hosting",
        (
            "Où est hébergée {app} ?",
            "Qui héberge l'application {app} ?",
            "{app} tourne où ?",
            "hebergement de {app}",
            "Pourriez-vous m'indiquer l'hébergeur de l'application {app} ?",
            "Chez qui est heberge {app} ?",
            "hébergeur de l'appli {app} ?",
        ),
        ("Sur quelle infrastructure {app} est-elle déployée ?", "Quel prestataire assure l'hébergement de {app} ?"),
        (
            "{name} est hébergée par {hosts}.",
            "L'hébergement de {name} est assuré par {hosts}.",
            "Selon le catalogue, {name} est hébergée chez {hosts}.",
        ),
        _hosting,
        ("hosting",),
        "medium",
    ),
]


# ---------------------------------------------------------------- aggregate types


def _names_list(records: list[AppRecord]) -> tuple[str, list[str]]:
    """Names spelled out (truncated past MAX_LISTED, saying how many more) and those shown."""
    shown = [r.nom for r in records[:MAX_LISTED]]
    rest = len(records) - len(shown)
    return (_join(shown) if not rest else ", ".join(shown) + f" et {rest} autres"), shown


def _plural(count: int, plural_verb: str, singular_verb: str) -> Slots:
    return {
        "n_apps": f"{count} application{'s' if count > 1 else ''}",
        "verb": plural_verb if count > 1 else singular_verb,
        "count": str(count),
    }


def _by_value(records: list[AppRecord], values: Callable[[AppRecord], list[str]]) -> dict[str, list[AppRecord]]:
    groups: dict[str, list[AppRecord]] = defaultdict(list)
    for r in records:
        for value in dict.fromkeys(values(r)):
            groups[value].append(r)
    return dict(groups)


def _status_values(r: AppRecord) -> list[str]:
    value = r.fact("statut")
    return [value] if value else []


def _domain_values(r: AppRecord) -> list[str]:
    return [d.domaine for d in r.domaines if d.domaine]


def _adjective(value: str) -> str:
    """``"Arrêtée"`` → ``"arrêtées"``: the status as it reads after "Quelles applications sont"."""
    lowered = value[0].lower() + value[1:]
    return lowered + "s" if lowered.endswith("ée") else lowered


def _aggregate(values: Callable[[AppRecord], list[str]], verbs: tuple[str, str], listing: bool) -> Callable[[list[AppRecord]], list[AggregateGroup]]:
    def groups(records: list[AppRecord]) -> list[AggregateGroup]:
        out = []
        for value, members in sorted(_by_value(records, values).items()):
            slots = {"value": value, **_plural(len(members), *verbs)}
            facts = [str(len(members))]
            if listing:
                slots["names"], shown = _names_list(members)
                facts += shown
            question = {"value": value, "value_lc": value[0].lower() + value[1:], "value_adj": _adjective(value)}
            out.append(AggregateGroup(value, question, Fact(slots, facts), tuple(r.id for r in members)))
        return out

    return groups


def _look_alike_pairs(records: list[AppRecord]) -> list[tuple[AppRecord, AppRecord]]:
    """Pairs staff confuse: look-alike names first, then applications of the same domain."""
    pairs: dict[tuple[str, str], tuple[AppRecord, AppRecord]] = {}
    folded = [fold(r.nom) for r in records]
    for i, r in enumerate(records):
        for _, score, j in process.extract(folded[i], folded, scorer=fuzz.ratio, limit=2):
            if j != i and score >= LOOK_ALIKE_SCORE:
                pairs.setdefault(tuple(sorted((r.id, records[j].id))), (r, records[j]))
    by_domain = _by_value(records, lambda r: _domain_values(r)[:1])
    for members in by_domain.values():
        for a, b in zip(members[::2], members[1::2]):
            pairs.setdefault(tuple(sorted((a.id, b.id))), (a, b))
    return list(pairs.values())[: max(1, len(records) // 2)]


def _comparisons(records: list[AppRecord]) -> list[AggregateGroup]:
    out = []
    for a, b in _look_alike_pairs(records):
        sa, sb = a.fact("statut"), b.fact("statut")
        if not (sa and sb):
            continue
        same = " : elles ont le même statut" if sa == sb else ""
        slots = {"a": a.nom, "b": b.nom, "sa": sa, "sb": sb, "same": same}
        out.append(AggregateGroup(f"{a.id}|{b.id}", {"a": a.nom, "b": b.nom}, Fact(slots, [a.nom, sa, b.nom, sb]), (a.id, b.id)))
    return out


AGGREGATE_TYPES: list[AggregateType] = [
    AggregateType(
        "list_by_status",
        (
            "Quelles applications sont {value_adj} ?",
            "Quelles sont les applications dont le statut est « {value} » ?",
            "liste des applis au statut {value_lc}",
            "quelles applications ont le statut {value_lc}",
            "Pourriez-vous lister les applications du catalogue au statut « {value} » ?",
            "Donne-moi les applications {value_adj}.",
        ),
        ("Peux-tu énumérer les applications dont le statut SI est « {value} » ?", "Quels outils du catalogue sont actuellement au statut {value_lc} ?"),
        (
            "{n_apps} {verb} au statut « {value} » : {names}.",
            "Le catalogue compte {n_apps} au statut « {value} » : {names}.",
            "Au statut « {value} », on trouve {n_apps} : {names}.",
        ),
        _aggregate(_status_values, ("sont", "est"), listing=True),
    ),
    AggregateType(
        "count_by_status",
        (
            "Combien d'applications sont {value_adj} ?",
            "Combien d'applications ont le statut « {value} » ?",
            "nb d'applis au statut {value_lc} ?",
            "combien d'applications sont au statut {value_lc}",
            "Pourriez-vous me donner le nombre d'applications au statut « {value} » ?",
            "Combien y a-t-il d'applis {value_adj} ?",
        ),
        ("Quel est le nombre total d'applications dont le statut est « {value} » ?", "Combien d'outils du catalogue sont actuellement au statut {value_lc} ?"),
        (
            "{n_apps} {verb} au statut « {value} ».",
            "Le catalogue compte {n_apps} au statut « {value} ».",
            "On dénombre {n_apps} au statut « {value} ».",
        ),
        _aggregate(_status_values, ("sont", "est"), listing=False),
    ),
    AggregateType(
        "list_by_domain",
        (
            "Quelles applications relèvent du domaine « {value} » ?",
            "Quelles sont les applications du domaine {value} ?",
            "liste des applis du domaine {value_lc}",
            "quelles applications pour le domaine {value_lc}",
            "Pourriez-vous lister les applications rattachées au domaine métier « {value} » ?",
            "Donne-moi les applications du domaine {value}.",
        ),
        ("Peux-tu énumérer les outils du catalogue consacrés au domaine « {value} » ?", "Quels logiciels le ministère utilise-t-il dans le domaine {value_lc} ?"),
        (
            "{n_apps} {verb} du domaine « {value} » : {names}.",
            "Le domaine « {value} » compte {n_apps} : {names}.",
            "Dans le domaine « {value} », on trouve {n_apps} : {names}.",
        ),
        _aggregate(_domain_values, ("relèvent", "relève"), listing=True),
    ),
    AggregateType(
        "count_by_domain",
        (
            "Combien d'applications relèvent du domaine {value} ?",
            "Combien d'applications compte le domaine « {value} » ?",
            "nb d'applis dans le domaine {value_lc} ?",
            "combien d'applications pour le domaine {value_lc}",
            "Pourriez-vous me donner le nombre d'applications du domaine métier « {value} » ?",
            "Combien y a-t-il d'applis dans le domaine {value} ?",
        ),
        ("Quel est le nombre total d'outils rattachés au domaine « {value} » ?", "Combien de logiciels du catalogue concernent le domaine {value_lc} ?"),
        (
            "{n_apps} {verb} du domaine « {value} ».",
            "Le domaine « {value} » compte {n_apps}.",
            "On dénombre {n_apps} dans le domaine « {value} ».",
        ),
        _aggregate(_domain_values, ("relèvent", "relève"), listing=False),
    ),
    AggregateType(
        "comparison",
        (
            "Quelle est la différence de statut entre {a} et {b} ?",
            "{a} et {b} ont-elles le même statut ?",
            "compare le statut de {a} et de {b}",
            "{a} vs {b} : statut ?",
            "Pourriez-vous comparer le statut de {a} avec celui de {b} ?",
            "Quel est le statut de {a} par rapport a {b} ?",
        ),
        ("Pouvez-vous mettre en regard les statuts de {a} et de {b} ?", "Comment se situent {a} et {b} en termes de statut ?"),
        (
            "{a} est au statut « {sa} » et {b} au statut « {sb} »{same}.",
            "Le statut de {a} est « {sa} », celui de {b} est « {sb} »{same}.",
            "{a} : « {sa} » ; {b} : « {sb} »{same}.",
        ),
        _comparisons,
        "medium",
    ),
]

OUT_OF_CATALOG = "out_of_catalog"
ALL_TYPE_NAMES: list[str] = [t.name for t in QUESTION_TYPES] + [t.name for t in AGGREGATE_TYPES] + [OUT_OF_CATALOG]


# ---------------------------------------------------------------- out-of-catalog names

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


# ---------------------------------------------------------------- generation


@dataclass
class GenerationConfig:
    question_types: Sequence[str] | None = None  # None: all of ALL_TYPE_NAMES
    per_app: int = 3  # training phrasings per application and question type
    seed: int = 0
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    holdout_apps: int = 0
    flavours: Sequence[str] = FLAVOURS
    gold_share: float = 0.8  # context examples that contain the right chunk
    long_name_share: float = 0.2  # questions naming the application by its long name
    out_of_catalog: int | None = None  # invented names; default: 5 % of the fact groups, at least 5


@dataclass
class GeneratedDataset:
    rows: list[QARow]
    leakage: LeakageReport
    holdout_app_ids: list[str]
    skipped: dict[str, int] = field(default_factory=dict)  # question type → applications without the value


@dataclass
class _Spec:
    """Everything needed to render the examples of one group."""

    group: Group
    templates: tuple[str, ...]
    test_templates: tuple[str, ...]
    template_type: str
    answer: Callable[[int], tuple[str, list[str]]]
    question_slots: Slots
    difficulty: str
    records: list[AppRecord] = field(default_factory=list)
    sections: tuple[str, ...] = ()
    long_name: str | None = None
    refusal_name: str | None = None
    app_name: str | None = None
    app_id: str | None = None


def _selected(names: Sequence[str] | None) -> list[str]:
    if not names:
        return list(ALL_TYPE_NAMES)
    unknown = [n for n in names if n not in ALL_TYPE_NAMES]
    if unknown:
        raise ValueError(f"unknown question type(s) {', '.join(unknown)}; choose from {', '.join(ALL_TYPE_NAMES)}")
    return list(dict.fromkeys(names))


def _app_specs(records: list[AppRecord], types: list[QuestionType], skipped: dict[str, int]) -> list[_Spec]:
    specs = []
    for qt in types:
        for r in records:
            if qt.extract(r) is None:
                skipped[qt.name] = skipped.get(qt.name, 0) + 1
                continue
            long_name = r.fact("nom_long")
            specs.append(
                _Spec(
                    Group(f"{qt.name}:{r.id}", qt.name, len(qt.templates), len(qt.test_templates), (r.id,)),
                    qt.templates, qt.test_templates, qt.name,
                    (lambda variant, qt=qt, r=r: qt.answer_for(r, variant)),  # type: ignore[misc]
                    {"app": r.nom}, qt.difficulty, [r], qt.sections,
                    long_name if qt.long_name_ok and long_name and long_name != r.nom else None,
                    app_name=r.nom, app_id=r.id,
                )
            )
    return specs


def _aggregate_specs(records: list[AppRecord], types: list[AggregateType], by_id: dict[str, AppRecord]) -> list[_Spec]:
    specs = []
    for at in types:
        for g in at.groups(records):
            compared = [by_id[i] for i in g.app_ids] if at.name == "comparison" else []
            specs.append(
                _Spec(
                    # Few groups (one per status or domain): each gets every training phrasing but one.
                    Group(f"{at.name}:{g.key}", at.name, len(at.templates), len(at.test_templates), g.app_ids, phrasings=len(at.templates) - 1),
                    at.templates, at.test_templates, at.name,
                    (lambda variant, at=at, g=g: (at.answers[variant].format(**g.fact.slots), g.fact.facts)),  # type: ignore[misc]
                    g.question_slots, at.difficulty, compared, ("overview",) if compared else (),
                )
            )
    return specs


def _refusal_specs(records: list[AppRecord], types: list[QuestionType], n: int, seed: int) -> list[_Spec]:
    rng = random.Random(seed)
    specs = []
    for name in invent_app_names(records, n, seed):
        qt = rng.choice(types)
        answer = refusal_for_app(name)
        specs.append(
            _Spec(
                Group(f"{OUT_OF_CATALOG}:{name}", OUT_OF_CATALOG, len(qt.templates), len(qt.test_templates), isolated=True),
                qt.templates, qt.test_templates, qt.name,
                (lambda variant, answer=answer: (answer, [])),  # type: ignore[misc]
                {"app": name}, "hard", refusal_name=name, app_name=name,
            )
        )
    return specs


def _row_id(*parts: str) -> str:
    return hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()[:12]


def _cite(answer: str, names: Sequence[str]) -> str:
    """``"… « En production »."`` → ``"… « En production » [ADES]."``: the citation the system prompt asks for."""
    tags = " ".join(f"[{n}]" for n in names)
    return f"{answer[:-1]} {tags}." if answer.endswith(".") else f"{answer} {tags}"


class _ContextBuilder:
    """Builds retrieved-like contexts: the right chunks plus distractors from look-alike applications."""

    NEIGHBOURS = 6  # candidate distractor applications per target
    SAME_DOMAIN_BONUS = 30.0

    def __init__(self, records: list[AppRecord], rng: random.Random) -> None:
        self.records, self.rng = records, rng
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


def _render(
    spec: _Spec, template: str, template_id: str, split: str, flavours: Sequence[str], ctx: _ContextBuilder, cfg: GenerationConfig, rng: random.Random
) -> list[QARow]:
    slots = dict(spec.question_slots)
    difficulty = spec.difficulty
    if spec.long_name and rng.random() < cfg.long_name_share:
        slots["app"] = spec.long_name
        difficulty = {"easy": "medium"}.get(difficulty, "hard")
    question = template.format(**slots)
    answer, facts = spec.answer(ANSWER_VARIANT[split])
    base = dict(
        question=question, category=spec.group.category, app_name=spec.app_name, app_id=spec.app_id,
        split=split, template_id=template_id,
    )
    rows = []
    if "closed_book" in flavours:
        rows.append(QARow(**base, expected_answer=answer, facts=facts, difficulty=difficulty, flavour="closed_book"))
    if "context" in flavours and (spec.records or spec.refusal_name):
        names = [r.nom for r in spec.records] or [spec.refusal_name or ""]
        exclude = {r.id for r in spec.records}
        domain = ctx.domain.get(spec.records[0].id) if spec.records else None
        gold = ctx.gold(spec.records, spec.sections, facts) if spec.records and rng.random() < cfg.gold_share else []
        chunks = gold + ctx.distractors(names, exclude, spec.sections, facts, domain)
        rng.shuffle(chunks)
        if gold:
            ctx_answer, ctx_facts, ctx_difficulty = _cite(answer, names), facts, difficulty
        elif spec.refusal_name:
            ctx_answer, ctx_facts, ctx_difficulty = answer, [], "hard"
        else:
            ctx_answer, ctx_facts, ctx_difficulty = REFUSAL, [], "hard"
        rows.append(
            QARow(**base, expected_answer=ctx_answer, facts=ctx_facts, difficulty=ctx_difficulty, flavour="context", context=[c.text for c in chunks])
        )
    for row in rows:
        row.id = f"{row.category}-{_row_id(spec.group.key, template_id, split, row.flavour or '', question)}"
        row.messages = build_messages(row.question, row.context, row.expected_answer)
    return rows


def generate_dataset(records: list[AppRecord], config: GenerationConfig | None = None) -> GeneratedDataset:
    """All examples for ``records``, split train/valid/test without leakage; deterministic for ``config.seed``."""
    cfg = config or GenerationConfig()
    if cfg.per_app < 1:
        raise ValueError("per_app must be at least 1")
    unknown_flavours = set(cfg.flavours) - set(FLAVOURS)
    if unknown_flavours or not cfg.flavours:
        raise ValueError(f"flavours must be among {', '.join(FLAVOURS)}")
    if not 0 <= cfg.holdout_apps < len(records):
        raise ValueError(f"--holdout-apps must be between 0 and {len(records) - 1} (the catalog has {len(records)} applications)")
    selected = _selected(cfg.question_types)
    app_types = [t for t in QUESTION_TYPES if t.name in selected]
    agg_types = [t for t in AGGREGATE_TYPES if t.name in selected]
    by_id = {r.id: r for r in records}
    skipped: dict[str, int] = {}
    specs = _app_specs(records, app_types, skipped) + _aggregate_specs(records, agg_types, by_id)
    if OUT_OF_CATALOG in selected:
        n_fake = cfg.out_of_catalog if cfg.out_of_catalog is not None else max(5, round(0.05 * len(specs)))
        specs += _refusal_specs(records, app_types or QUESTION_TYPES, n_fake, cfg.seed)
    if not specs:
        raise ValueError("no example can be generated: the selected question types find no value in the catalog")

    rng = random.Random(cfg.seed)
    holdout = sorted(rng.sample([r.id for r in records], cfg.holdout_apps), key=lambda i: by_id[i].source_index)
    plans = plan_splits([s.group for s in specs], cfg.per_app, cfg.ratios, cfg.seed, holdout)
    ctx = _ContextBuilder(records, random.Random(cfg.seed + 1))
    rows: list[QARow] = []
    for spec in specs:
        plan: SplitPlan = plans[spec.group.key]
        trained = rng.sample(range(len(spec.templates)), plan.valid + plan.train)
        chosen = [("valid", i) for i in trained[: plan.valid]] + [("train", i) for i in trained[plan.valid:]]
        chosen += [("test", i) for i in rng.sample(range(len(spec.test_templates)), plan.test)]
        for split, i in chosen:
            pool, kind = (spec.test_templates, "test") if split == "test" else (spec.templates, "train")
            rows += _render(spec, pool[i], f"{spec.template_type}/{kind}/{i}", split, cfg.flavours, ctx, cfg, rng)
    rows, leakage = enforce_no_leakage(rows)
    log.info("Generated %d examples (%d groups, holdout apps: %s)", len(rows), len(specs), ", ".join(holdout) or "none")
    return GeneratedDataset(rows, leakage, holdout, skipped)
