"""Questions over several records: listings and counts by status or domain, comparisons.

Their answers are computed over every record (never estimated), and a comparison pairs the
applications staff confuse: look-alike names first, then applications of the same domain.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from rapidfuzz import fuzz, process

from ingestion.facts import MAX_LISTED, Fact, Slots, join
from ingestion.records import AppRecord
from ingestion.text_repair import fold

LOOK_ALIKE_SCORE = 60.0  # name similarity (0-100) above which two applications are easily confused


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


def _names_list(records: list[AppRecord]) -> tuple[str, list[str]]:
    """Names spelled out (truncated past MAX_LISTED, saying how many more) and those shown."""
    shown = [r.nom for r in records[:MAX_LISTED]]
    rest = len(records) - len(shown)
    return (join(shown) if not rest else ", ".join(shown) + f" et {rest} autres"), shown


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


AGGREGATE = "aggregate"  # the intent classifier's class for listings and counts over the catalog

# Listings and counts are recognised by these cues (folded question), French and English.
AGGREGATE_CUES: tuple[str, ...] = (
    r"\bcombien\b", r"\bquel(le)?s (sont les )?(applications|applis|outils|logiciels|fiches|systemes)", r"\bliste", r"\blister\b",
    r"\benumer", r"\btoutes les applications", r"\bnombre (total )?d (applications|applis|outils|logiciels|fiches)",
    r"\blesquel(le)?s\b", r"\by en a t il\b", r"\bil (en )?existe des (applis|applications)", r"\b(applis|applications) (qui|dont|sans|du|de la|de portee|a portee)\b",
    r"\bquoi comme (appli|application|outil|logiciel)s?\b", r"\bqui (tourne|tournent|fonctionne|fonctionnent) (en|sous)\b",
    r"\bhow many\b", r"\bwhich (apps|applications|tools|systems)\b", r"\blist (the|all)?\s*(apps|applications)\b", r"\bnumber of (apps|applications)\b",
)
COUNT_CUES: tuple[str, ...] = (r"\bcombien\b", r"\bnombre\b", r"\bhow many\b", r"\bnumber of\b", r"\bnb\b", r"\bcount\b")

# Phrasings the intent classifier learns the aggregate class from, besides the templates above.
AGGREGATE_EXAMPLES: tuple[str, ...] = (
    "How many applications are in production?",
    "Which applications have been decommissioned?",
    "List the apps of the water domain",
    "How many apps have a national scope?",
    "Which applications have no website?",
    "Quelles applications n'ont pas de contact renseigné ?",
    "Combien de fiches n'ont pas de site ?",
    "Combien d'applications y a-t-il dans le catalogue ?",
    "Quelles applis sont à portée départementale ?",
    "Liste des applications de la famille Téléservices",
    "Combien d'applis tournent sous PostgreSQL ?",
    "Y a-t-il des applications arrêtées dans le domaine de l'eau ?",
)

