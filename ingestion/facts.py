"""What an answer states, read from a record: one extractor per kind of fact.

Each extractor returns a :class:`Fact` — the values an answer sentence is formatted with, and
the verbatim strings (names, ids, emails, URLs, dd/mm/yyyy dates) a correct answer must contain —
or ``None`` when the record does not hold the value. Values come through ``record.fact()``,
which hides placeholders such as ``***TEMPORAIRE***``: a placeholder is never stated as a fact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from ingestion.records import AppRecord
from ingestion.text_repair import looks_like_url

MAX_LISTED = 20  # names spelled out in a listing answer; the count stays exact (12 names without a site are read, not cut at 10)
MAX_ITEMS = 3  # contacts, sites… in one short answer
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[A-ZÀ-Ý0-9«])")

Slots = dict[str, str]


@dataclass(frozen=True)
class Fact:
    """What an answer states: the values to format it with, and the verbatim strings it must contain."""

    slots: Slots
    facts: list[str]


def join(items: Sequence[str], last: str = " et ") -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + last + items[-1]


def date_text(event) -> str | None:  # type: ignore[no-untyped-def]
    return event.date.strftime("%d/%m/%Y") if event.date else None


LEAD_CHARS = 320  # a description answer: its first sentences up to this length ("ça sert à quoi ?" wants more than a title)


def lead(text: str) -> str:
    """The first sentence of a description and the next ones while the whole stays within
    :data:`LEAD_CHARS`: GEOBS's "Tableaux de bord … protégés. Utilisé pour le suivi de la stratégie
    nationale biodiversité." says what it is for in its second sentence."""
    sentences = _SENTENCE_END.split(text.strip())
    kept = [sentences[0].strip()]
    for sentence in sentences[1:]:
        if len(" ".join(kept)) + 1 + len(sentence.strip()) > LEAD_CHARS:
            break
        kept.append(sentence.strip())
    return " ".join(kept)


def event(kind: str) -> Callable[[AppRecord], Fact | None]:
    def extract(r: AppRecord) -> Fact | None:
        for event in r.evenements:
            when = date_text(event)
            if event.type == kind and when:
                return Fact({"date": when}, [when])
        return None

    return extract


def latest_version(r: AppRecord) -> Fact | None:
    """The most recent event that names a version: "1.0" at the go-live, "2.2" at a new version."""
    dated = [e for e in r.evenements if e.version and e.date]
    if not dated:
        return None
    last = max(dated, key=lambda e: e.date)
    what = (last.type or "évènement").lower() + (f" : {last.commentaire}" if last.commentaire else "")
    return Fact({"version": last.version, "date": date_text(last), "evenement": what}, [last.version])


def scalar(field_name: str, slot: str) -> Callable[[AppRecord], Fact | None]:
    def extract(r: AppRecord) -> Fact | None:
        value = r.fact(field_name)
        return Fact({slot: value}, [value]) if value else None

    return extract


def full_name(r: AppRecord) -> Fact | None:
    value = r.fact("nom_long")
    return Fact({"nom_long": value}, [value]) if value and value != r.nom else None


def identifier(r: AppRecord) -> Fact | None:
    # Ids derived from the name by the loader ("nom:…") are not catalog facts.
    return None if r.id.startswith("nom:") else Fact({"id": r.id}, [r.id])


def domains(r: AppRecord) -> Fact | None:
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
    return Fact({"domaines": prefix + join(parts)}, facts)


def description(r: AppRecord) -> Fact | None:
    value = r.fact("descriptif")
    if not value:
        return None
    # The period is left to the answer template, so a citation can go before it.
    sentence = lead(value).removesuffix(".")
    return Fact({"desc": sentence}, [sentence])


def contacts(r: AppRecord) -> Fact | None:
    items, facts = [], []
    for c in r.contacts[:MAX_ITEMS]:
        if not (c.contact or c.courriel):
            continue
        who = c.contact or (f"le {c.role[0].lower()}{c.role[1:]}" if c.role else "le contact")
        details = ", ".join(p for p in ((c.role if c.contact else None), c.courriel) if p)
        items.append(f"{who} ({details})" if details else who)
        facts.extend(p for p in (c.contact, c.courriel) if p)
    return Fact({"contacts": join(items, " ou ")}, facts) if items else None


def websites(r: AppRecord) -> Fact | None:
    # A URL whose punctuation was lost and could not be repaired is not a usable answer.
    sites = [s for s in r.sites if s.url and looks_like_url(s.url)][:MAX_ITEMS]
    if not sites:
        return None
    items = [f"{s.url}" + (f" ({s.nature})" if s.nature else "") for s in sites]
    return Fact({"sites": join(items)}, [s.url for s in sites if s.url])


def actors(r: AppRecord) -> Fact | None:
    actors = [a for a in r.acteurs if a.acteur]
    if not actors:
        return None
    items = [f"{a.role} : {a.acteur}" if a.role else a.acteur for a in actors]
    return Fact({"acteurs": " ; ".join(items)}, [a.acteur for a in actors if a.acteur])


def links(field_name: str, slot: str) -> Callable[[AppRecord], Fact | None]:
    def extract(r: AppRecord) -> Fact | None:
        links = [link for link in getattr(r, field_name) if link.nom]
        if not links:
            return None
        shown = links[:MAX_LISTED]
        items = [link.nom + (f" (flux {link.type_flux.lower()})" if link.type_flux else "") for link in shown]
        text = join(items) + (f" et {len(links) - len(shown)} autres" if len(links) > len(shown) else "")
        return Fact({slot: text}, [link.nom for link in shown if link.nom])

    return extract


def hosting(r: AppRecord) -> Fact | None:
    items, facts = [], []
    for h in r.hebergements[:MAX_ITEMS]:
        host = _host_name(h)
        if not host:
            continue
        kind = h.get("type d hebergement")
        items.append(f"{host} ({kind})" if kind else host)
        facts.append(host)
    if not items:
        facts = _host_actors(r)[:MAX_ITEMS]
        items = list(facts)
    return Fact({"hosts": join(items)}, facts) if items else None


def _host_name(entry: dict) -> str | None:
    return entry.get("hebergeur") or next(iter(entry.values()), None)


def _host_actors(r: AppRecord) -> list[str]:
    """Many records name their host only among the actors ("Hébergeur : Cloud π Native")."""
    return [a.acteur for a in r.acteurs if a.acteur and a.role and a.role.lower().startswith("héberg")]


def hosts(r: AppRecord) -> list[str]:
    """Every host a record names, in its hosting entries or among its actors of role Hébergeur: the
    criterion of "les applis hébergées chez OVH". Eight example records name a different host in
    each place; a listing by host lists a record that names it in either."""
    named = [_host_name(h) for h in r.hebergements]
    return list(dict.fromkeys([h for h in named if h] + _host_actors(r)))


def string_list(field_name: str, slot: str) -> Callable[[AppRecord], Fact | None]:
    """A list field of strings (``utilisateurs``, ``fonctions``), unless it is a placeholder."""

    def extract(r: AppRecord) -> Fact | None:
        if field_name in r.placeholders:
            return None
        items = [v for v in getattr(r, field_name) if v]
        return Fact({slot: " ; ".join(items)}, items) if items else None

    return extract


def export_field(*keys: str) -> Callable[[AppRecord], Fact | None]:
    """A field outside the inventory (``licence``, ``Nombre d'utilisateurs``), verbatim: the first
    extra field whose folded key contains one of ``keys``."""
    import json

    from ingestion.text_repair import fold

    def extract(r: AppRecord) -> Fact | None:
        for key, value in r.extra.items():
            if value in (None, "", [], {}) or key in r.placeholders or not any(k in fold(key) for k in keys):
                continue
            text = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)
            return Fact({"value": text}, [text])
        return None

    return extract
