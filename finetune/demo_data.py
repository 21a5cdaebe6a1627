"""A small context-QA dataset built straight from a catalog file, for the slow test and the benchmark.

The real training sets come from ``ingestion.synthetic``; this module only needs the example
catalog's normalised keys, so the fine-tuning package can be measured on its own. Each example
is RAG-shaped (RAFT-style: the answer is in the given context), so a model fine-tuned on some
applications can be scored on held-out applications it never saw.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.prompts import build_messages

# (question, answer, catalog field) templates; answers follow the system prompt's rules (short, cited).
TEMPLATES = (
    ("Quel est le statut de {nom} ?", "Le statut de {nom} est : {value} [{nom}].", "statut si"),
    ("Quelle est la portée géographique de {nom} ?", "La portée géographique de {nom} est : {value} [{nom}].", "portee geographique"),
    ("Que signifie le sigle {nom} ?", "{nom} signifie : {value} [{nom}].", "nom long"),
    ("À quelle famille d'applications appartient {nom} ?", "{nom} appartient à la famille : {value} [{nom}].", "famille d applications"),
)


def _context(app: dict) -> str:
    lines = [f"{app['nom']} (id {app['id']})"]
    for _, _, key in TEMPLATES:
        if app.get(key):
            lines.append(f"{key} : {app[key]}")
    return "\n".join(lines)


def catalog_qa(catalog: Path) -> list[tuple[str, list[dict[str, str]]]]:
    """``(application name, messages)`` for every application x template whose field is filled."""
    data = json.loads(catalog.read_text(encoding="utf-8"))
    apps = data if isinstance(data, list) else next(iter(data.values()))
    examples = []
    for app in apps:
        if not app.get("nom"):
            continue
        for question, answer, key in TEMPLATES:
            value = app.get(key)
            if isinstance(value, str) and value.strip():
                messages = build_messages(
                    question.format(nom=app["nom"]), context=[_context(app)], answer=answer.format(nom=app["nom"], value=value.strip())
                )
                examples.append((app["nom"], messages))
    return examples


def write_jsonl(rows: list[list[dict[str, str]]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for messages in rows:
            handle.write(json.dumps({"messages": messages, "meta": {"source": "finetune.demo_data"}}, ensure_ascii=False) + "\n")
    return path
