"""Turn a record into retrievable chunks: one per application section.

Each chunk's text starts with the application's name and id, so a chunk retrieved on its own
still says which application it is about (the seeds lost app facts by chunking blind).
Chunk ids are deterministic (``{app_id}:{section}:{n}``) and each chunk carries a content hash,
so re-ingesting an unchanged catalog re-embeds nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Collection, Mapping, Sequence

from pydantic import BaseModel

from ingestion.records import FIELD_LABELS, AppRecord

SECTION_LABELS: dict[str, str] = {
    "overview": "Fiche d'identité",
    "description": "Description",
    "contacts": "Contacts",
    "sites": "Sites et URL",
    "actors": "Acteurs",
    "events": "Événements",
    "hosting": "Hébergement et technologie",
    "related": "Applications et données liées",
    "other": "Autres informations",
}


class Chunk(BaseModel):
    id: str
    app_id: str
    app_name: str
    section: str
    text: str
    metadata: dict[str, str | int | float | bool]
    content_hash: str


def _value(record: AppRecord, field: str) -> str | None:
    value = getattr(record, field)
    if not value:
        return None
    if field in record.placeholders:
        return f"{value} (valeur provisoire)"
    return str(value)


def _lines_overview(r: AppRecord) -> list[str]:
    lines = []
    for field in ("nom", "nom_long", "id", "statut", "portee_geographique", "famille"):
        value = _value(r, field)
        if value:
            lines.append(f"{FIELD_LABELS[field]} : {value}")
    if r.domaines:
        lines.append("Domaines métier : " + " ; ".join(d.path for d in r.domaines if d.path))
    if r.date_modification:
        lines.append(f"{FIELD_LABELS['date_modification']} : {r.date_modification}")
    return lines


def _lines_description(r: AppRecord) -> list[str]:
    lines = []
    if r.descriptif:
        lines.append(f"Descriptif : {_value(r, 'descriptif')}")
    if r.enjeux:
        lines.append(f"Enjeux : {_value(r, 'enjeux')}")
    if r.fonctions:
        lines.append("Fonctions : " + " ; ".join(r.fonctions))
    if r.utilisateurs:
        lines.append("Utilisateurs : " + " ; ".join(r.utilisateurs))
    return lines


def _lines_contacts(r: AppRecord) -> list[str]:
    lines = []
    for c in r.contacts:
        who = c.contact or "contact"
        email = f" <{c.courriel}>" if c.courriel else ""
        lines.append(f"{c.role or 'Contact'} : {who}{email}")
    return lines


def _lines_sites(r: AppRecord) -> list[str]:
    lines = []
    for s in r.sites:
        comment = f" ({s.commentaire})" if s.commentaire else ""
        lines.append(f"Site {s.nature or ''} : {s.url or ''}{comment}".replace("Site  :", "Site :"))
    return lines


def _lines_actors(r: AppRecord) -> list[str]:
    return [f"{a.role or 'Acteur'} : {a.acteur or ''}" for a in r.acteurs]


def _lines_events(r: AppRecord) -> list[str]:
    lines = []
    for e in r.evenements:
        when = e.date.strftime("%d/%m/%Y") if e.date else (e.date_raw or "date inconnue")
        version = f" (version {e.version})" if e.version else ""
        comment = f" : {e.commentaire}" if e.commentaire else ""
        # Label first, as every other line ("champ : valeur"): "Mise en production : 01/06/2019 (version 1.0)".
        lines.append(f"{e.type or 'Événement'} : {when}{version}{comment}")
    return lines


def _lines_hosting(r: AppRecord) -> list[str]:
    lines = []
    if r.technologie_principale:
        lines.append(f"Technologie principale : {r.technologie_principale}")
    for h in r.hebergements:
        lines.append("Hébergement : " + ", ".join(f"{k} : {v}" for k, v in h.items()))
    return lines


def _lines_related(r: AppRecord) -> list[str]:
    lines = []
    for link in r.applications_liees:
        ident = f" (id {link.id})" if link.id else ""
        flux = f", flux {link.type_flux}" if link.type_flux else ""
        lines.append(f"Application liée : {link.nom or ''}{ident}{flux}")
    for link in r.donnees_liees:
        ident = f" (id {link.id})" if link.id else ""
        flux = f", flux {link.type_flux}" if link.type_flux else ""
        lines.append(f"Donnée liée : {link.nom or ''}{ident}{flux}")
    return lines


def _flatten(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _lines_other(r: AppRecord) -> list[str]:
    return [f"{key} : {_flatten(value)}" for key, value in sorted(r.extra.items()) if value not in (None, "", [], {})]


SECTION_BUILDERS = {
    "overview": _lines_overview,
    "description": _lines_description,
    "contacts": _lines_contacts,
    "sites": _lines_sites,
    "actors": _lines_actors,
    "events": _lines_events,
    "hosting": _lines_hosting,
    "related": _lines_related,
    "other": _lines_other,
}


def _split_words(lines: list[str], max_words: int) -> list[str]:
    """Group lines into pieces of at most ``max_words`` words; a single long line is cut by words."""
    pieces: list[str] = []
    current: list[str] = []
    count = 0
    for line in lines:
        words = line.split()
        while len(words) > max_words:
            if current:
                pieces.append("\n".join(current))
                current, count = [], 0
            pieces.append(" ".join(words[:max_words]))
            words = words[max_words:]
        if count + len(words) > max_words and current:
            pieces.append("\n".join(current))
            current, count = [], 0
        current.append(" ".join(words) if words != line.split() else line)
        count += len(words)
    if current:
        pieces.append("\n".join(current))
    return pieces


def chunk_metadata(record: AppRecord, section: str, part: int) -> dict[str, str | int | float | bool]:
    """Scalar-only metadata (Chroma refuses lists and None)."""
    meta: dict[str, str | int | float | bool] = {
        "app_id": record.id,
        "app_name": record.nom,
        "section": section,
        "part": part,
    }
    if record.statut:
        meta["status"] = record.statut
    if record.domaines and record.domaines[0].domaine:
        meta["domain"] = record.domaines[0].domaine
    if record.portee_geographique:
        meta["scope"] = record.portee_geographique
    return meta


def content_hash(text: str, metadata: dict[str, Any]) -> str:
    payload = json.dumps({"text": text, "meta": metadata}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def chunk_record(record: AppRecord, max_words: int = 180) -> list[Chunk]:
    """All chunks of one application, in section order; empty sections produce no chunk."""
    header_name = record.display_name
    chunks = []
    for section, builder in SECTION_BUILDERS.items():
        lines = builder(record)
        if not lines:
            continue
        for part, body in enumerate(_split_words(lines, max_words)):
            text = f"Application {header_name} (id {record.id}) — {SECTION_LABELS[section]}\n{body}"
            meta = chunk_metadata(record, section, part)
            chunks.append(
                Chunk(
                    id=f"{record.id}:{section}:{part}",
                    app_id=record.id,
                    app_name=record.nom,
                    section=section,
                    text=text,
                    metadata=meta,
                    content_hash=content_hash(text, meta),
                )
            )
    return chunks


def chunk_records(records: list[AppRecord], max_words: int = 180) -> list[Chunk]:
    return [chunk for record in records for chunk in chunk_record(record, max_words)]


# ---------------------------------------------------------------- chunks as prompt facts

_LINKED_ID = re.compile(r" \(id [^)]*\)")
# Chat control strings (<|im_start|>, <end_of_turn>…): never content, always dropped from prompts.
_MARKUP = re.compile(r"<\|[A-Za-z0-9_]{1,40}\|>|</?(?:start_of_turn|end_of_turn|eos|bos)>|\[/?INST\]|<</?SYS>>")
# Already in the block's first line, or record metadata that a date question mistakes for an answer.
_SKIPPED_LINES = (f"{FIELD_LABELS['nom']} : ", f"{FIELD_LABELS['date_modification']} : ")


def chunk_body(chunk: Chunk) -> str:
    """The chunk's lines without its header ("Application X (id N) — Section")."""
    return chunk.text.split("\n", 1)[1] if "\n" in chunk.text else ""


def facts_block(record: AppRecord, sections: Sequence[str], labels: Collection[str] = ()) -> str:
    """One application's facts for a prompt: its name, then the "champ : valeur" lines of ``sections``.

    Lines come from the record (the section builders above), one field per line: a value's own
    line breaks become spaces, so nothing in a value can stand on a line of its own and pass for
    an instruction, and chat control markup is dropped. With ``labels``, only the lines whose label
    is one of them ("Statut", "Mise en production"). No section banners and no "(id N)" of linked
    applications: a small model copies such scaffolding into its answer, and an id next to a name
    invites it to invent entries. The application's own id stays where it is a fact
    ("Identifiant : 1025").
    """
    lines = [f"Application : {record.nom}"]
    for section in dict.fromkeys(sections):
        for line in SECTION_BUILDERS[section](record):
            line = " ".join(_MARKUP.sub(" ", _LINKED_ID.sub("", line)).split())
            if not line or line.startswith(_SKIPPED_LINES) or line in lines:
                continue
            if labels and line.split(" : ", 1)[0] not in labels:
                continue
            lines.append(line)
    return "\n".join(lines)


def context_blocks(
    chunks: Sequence[Chunk], records_by_id: Mapping[str, AppRecord], labels: Mapping[str, Collection[str]] | None = None
) -> list[str]:
    """The sections of these chunks as facts blocks, one per application, in order of first appearance.

    ``labels`` maps an application id to the only line labels to keep for it (see :func:`facts_block`).
    """
    by_app: dict[str, list[str]] = {}
    for chunk in chunks:
        by_app.setdefault(chunk.app_id, []).append(chunk.section)
    return [
        facts_block(records_by_id[app_id], sections, (labels or {}).get(app_id, ()))
        for app_id, sections in by_app.items()
        if app_id in records_by_id
    ]
