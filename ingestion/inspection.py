"""``dyag inspect``: what a catalog holds and what is wrong with it, before anything is indexed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import BaseModel

from ingestion.catalog import LoadReport
from ingestion.records import FIELD_LABELS, AppRecord


class FieldCoverage(BaseModel):
    field: str
    label: str
    filled: int
    percent: float


class CatalogInspection(BaseModel):
    applications: int
    encoding: str
    list_key: str | None
    coverage: list[FieldCoverage]
    extra_fields: dict[str, int]
    statuses: dict[str, int]
    domains: dict[str, int]
    anomalies: dict[str, list[str]]
    rejected: list[str]


def _filled(record: AppRecord, field: str) -> bool:
    value = getattr(record, field)
    return bool(value) and field not in record.placeholders


def inspect_catalog(report: LoadReport) -> CatalogInspection:
    records = report.records
    n = max(len(records), 1)
    coverage = []
    for field, label in FIELD_LABELS.items():
        filled = sum(_filled(r, field) for r in records)
        coverage.append(FieldCoverage(field=field, label=label, filled=filled, percent=round(100 * filled / n, 1)))
    extra = Counter(key for r in records for key, value in r.extra.items() if value not in (None, "", [], {}))
    statuses = Counter(r.statut or "(vide)" for r in records)
    domains = Counter(d.domaine for r in records for d in r.domaines if d.domaine)

    anomalies: dict[str, list[str]] = {
        "mojibake repaired": [],
        "line breaks repaired": [],
        "markdown removed": [],
        "URL repaired": [],
        "URL not repairable": [],
        "prefix removed": [],
        "placeholders": [],
        "empty description": [],
        "no contact": [],
        "id derived from name": [],
        "other repairs": [],
    }
    buckets = [
        ("mojibake", "mojibake repaired"),
        ("line breaks", "line breaks repaired"),
        ("markdown", "markdown removed"),
        ("punctuation restored", "URL repaired"),
        ("not safely repairable", "URL not repairable"),
        ("prefix", "prefix removed"),
        ("derived from the name", "id derived from name"),
    ]
    for r in records:
        label = f"{r.nom} ({r.id})"
        for repair in r.repairs:
            bucket = next((b for needle, b in buckets if needle in repair), "other repairs")
            anomalies[bucket].append(f"{label}: {repair}")
        if r.placeholders:
            anomalies["placeholders"].append(f"{label}: {', '.join(r.placeholders)}")
        if not _filled(r, "descriptif"):
            anomalies["empty description"].append(label)
        if not r.contacts:
            anomalies["no contact"].append(label)
    return CatalogInspection(
        applications=len(records),
        encoding=report.encoding,
        list_key=report.list_key,
        coverage=coverage,
        extra_fields=dict(extra.most_common()),
        statuses=dict(statuses.most_common()),
        domains=dict(domains.most_common()),
        anomalies={k: v for k, v in anomalies.items() if v},
        rejected=[str(e) for e in report.rejected],
    )


def inspection_markdown(result: CatalogInspection) -> str:
    lines = [
        "# Catalog inspection",
        "",
        f"- Applications: {result.applications}",
        f"- Encoding: {result.encoding}",
        f"- Records list key: {result.list_key or '(bare list)'}",
        "",
        "## Field coverage",
        "",
        "| Field | Filled | % |",
        "|---|---:|---:|",
    ]
    lines += [f"| {c.label} | {c.filled} | {c.percent} |" for c in result.coverage]
    if result.extra_fields:
        lines += ["", "## Fields outside the inventory (kept and indexed)", "", "| Field | Records |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in result.extra_fields.items()]
    for title, counts in (("Statuses", result.statuses), ("Domains", result.domains)):
        lines += ["", f"## {title}", "", "| Value | Applications |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in counts.items()]
    lines += ["", "## Anomalies", ""]
    if not result.anomalies:
        lines.append("None found.")
    for kind, items in result.anomalies.items():
        lines.append(f"- **{kind}** ({len(items)}): " + "; ".join(items[:10]) + (" …" if len(items) > 10 else ""))
    if result.rejected:
        lines += ["", "## Rejected records", ""] + [f"- {r}" for r in result.rejected]
    return "\n".join(lines) + "\n"


def as_json(result: CatalogInspection) -> dict[str, Any]:
    return result.model_dump()
