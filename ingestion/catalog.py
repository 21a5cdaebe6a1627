"""Load a catalog export and turn it into normalised :class:`AppRecord` objects.

Accepted shapes: a top-level object whose (single) list-valued key holds the records — the key
name does not matter ("applicationsia mini", "applicationsIA") — or a bare list. Keys may be in
the normalised style (``nom long``) or the display style (``Nom long``); both map to the same
record. Every problem is reported as a :class:`CatalogError` that names the record and field.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.errors import DyagError
from ingestion.records import (
    FREE_OBJECT_LIST_FIELDS,
    OBJECT_LIST_FIELDS,
    SCALAR_FIELDS,
    STRING_LIST_FIELDS,
    AppRecord,
)
from ingestion.text_repair import (
    fix_line_breaks,
    fix_mojibake,
    is_placeholder,
    looks_like_url,
    normalise_key,
    parse_french_date,
    repair_url,
    restore_stray_bytes,
    strip_control_chars,
    strip_markdown_bold,
    strip_system_prefix,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_FIELD_CHARS = 200_000
DEFAULT_MAX_LIST_ITEMS = 1000
# Real records nest three levels (record → contacts → contact); deeper is a broken or hostile
# export, and would reach Python's recursion limit further down (pydantic, JSON, chunking).
MAX_NESTING = 12
# Values quoted in an error message are cut to this length: the message must stay one line.
_QUOTED_CHARS = 80
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
MIXED_ENCODING = "utf-8+cp1252"


def _quoted(value: str) -> str:
    return repr(value if len(value) <= _QUOTED_CHARS else value[:_QUOTED_CHARS] + "…")


def _printable(note: str) -> str:
    """A repair note or field path as stored and shown: raw key names may hold controls, stray bytes, megabytes."""
    note = strip_control_chars(restore_stray_bytes(note))
    return note if len(note) <= 4 * _QUOTED_CHARS else note[: 4 * _QUOTED_CHARS] + "…"


class CatalogError(DyagError, ValueError):
    """A catalog problem a user can fix: the message names the file, record, field and remedy."""

    def __init__(
        self,
        message: str,
        *,
        index: int | None = None,
        record_id: str | None = None,
        name: str | None = None,
        field: str | None = None,
    ) -> None:
        self.index, self.record_id, self.name, self.field = index, record_id, name, field
        self.reason = message
        where = []
        if index is not None:
            where.append(f"record #{index}")
        if record_id:
            where.append(f"id {_quoted(record_id)}")
        if name:
            where.append(f"nom {_quoted(name)}")
        if field:
            where.append(f"field {_quoted(field)}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


@dataclass
class LoadReport:
    """What loading found: records, rejects (with --skip-invalid), encoding, repairs."""

    records: list[AppRecord]
    rejected: list[CatalogError] = field(default_factory=list)
    encoding: str = "utf-8"
    list_key: str | None = None
    source_keys: dict[str, int] = field(default_factory=dict)


# Aliases of every known record-level key → (kind, canonical field).
_KEY_MAP: dict[str, tuple[str, str]] = {}
for _name, _aliases in SCALAR_FIELDS.items():
    _KEY_MAP.update({a: ("scalar", _name) for a in _aliases})
for _name, (_aliases, _sub) in OBJECT_LIST_FIELDS.items():
    _KEY_MAP.update({a: ("objects", _name) for a in _aliases})
for _name, _aliases in STRING_LIST_FIELDS.items():
    _KEY_MAP.update({a: ("strings", _name) for a in _aliases})
for _name, _aliases in FREE_OBJECT_LIST_FIELDS.items():
    _KEY_MAP.update({a: ("free_objects", _name) for a in _aliases})


def read_catalog_text(path: Path) -> tuple[str, str]:
    """Read the file whatever its encoding: UTF-8 (with or without BOM), UTF-16, else cp1252/Latin-1.

    A UTF-8 file with some bytes that are not UTF-8 (one record saved in cp1252) is read as UTF-8
    with those bytes escaped (U+DC80–U+DCFF): the record builder reads them as cp1252 and reports
    the record, rather than decoding the whole file as cp1252 and garbling the other records.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError(f"File {path} does not exist. Check the path.") from None
    except IsADirectoryError:
        raise CatalogError(f"{path} is a directory; give the catalog's JSON file.") from None
    bom = raw.startswith(b"\xef\xbb\xbf")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise CatalogError(
                f"{path} starts as UTF-16 but is not valid UTF-16 at byte {exc.start:,}: the file is damaged. Re-export the catalog."
            ) from None
    body = raw[3:] if bom else raw
    try:
        return body.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        pass
    if bom or _UTF8_MULTIBYTE.search(body):
        return body.decode("utf-8", errors="surrogateescape"), MIXED_ENCODING
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def parse_catalog_json(text: str, path: Path) -> tuple[list[Any], str | None]:
    """Parse the JSON and find the list of records; errors name the line and column."""
    if not text.strip():
        raise CatalogError(f"{path} is empty. Export the catalog again.")
    try:
        data = json.loads(text)
    except RecursionError:
        line = _too_deep_line(text)
        raise CatalogError(
            f"{path} nests values more than {MAX_NESTING} levels deep (line {line}), too deep to read: "
            "the export is corrupted. Fix the file or export the catalog again."
        ) from None
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) - 1
        hint = (
            "the file ends in the middle of the data: it was probably truncated during export or copy"
            if truncated
            else f"{exc.msg}"
        )
        raise CatalogError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): {hint}. "
            "Re-export the catalog or fix the file."
        ) from None
    except ValueError as exc:  # an integer of more than 4,300 digits: Python refuses to convert it
        raise CatalogError(f"{path} holds a value JSON cannot be read into: {exc}. Fix the file.") from None
    if isinstance(data, list):
        return data, None
    if isinstance(data, dict):
        lists = [(k, v) for k, v in data.items() if isinstance(v, list)]
        record_lists = [(k, v) for k, v in lists if not v or any(isinstance(x, dict) for x in v)]
        if len(record_lists) == 1:
            return record_lists[0][1], record_lists[0][0]
        if len(record_lists) > 1:
            # Several lists: the longest list of objects is the catalog (others are metadata).
            key, value = max(record_lists, key=lambda kv: len(kv[1]))
            return value, key
        if "nom" in {normalise_key(k) for k in data}:
            return [data], None
    raise CatalogError(
        f"{path} holds no list of application records. Expected a list, or an object whose key "
        "(e.g. \"applicationsia mini\") holds the list."
    )


def _too_deep_line(text: str) -> int:
    """The line where brackets (outside strings) first nest deeper than :data:`MAX_NESTING`."""
    depth = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return text.count("\n", 0, match.start()) + 1
        elif token in "]}":
            depth -= 1
    return 1


class _RecordBuilder:
    """Normalises one raw record; collects repairs and placeholders as it goes."""

    def __init__(self, raw: dict[str, Any], index: int, max_chars: int, max_items: int = DEFAULT_MAX_LIST_ITEMS) -> None:
        self.raw, self.index, self.max_chars, self.max_items = raw, index, max_chars, max_items
        self.repairs: list[str] = []
        self.placeholders: list[str] = []
        self.record_id: str | None = None
        self.name: str | None = None

    def error(self, message: str, field: str | None = None) -> CatalogError:
        return CatalogError(message, index=self.index, record_id=self.record_id, name=self.name, field=field)

    def _too_long(self, value: str, field: str) -> CatalogError:
        return self.error(
            f"value is {len(value):,} characters long (limit {self.max_chars:,}); the export is probably "
            "corrupted. Fix the record or raise max_field_chars in dyag.toml.",
            field,
        )

    def clean(self, value: Any, field: str) -> str | None:
        """One text value: repaired, stripped; None when empty."""
        if value is None:
            return None
        if isinstance(value, bool):
            value = "oui" if value else "non"
        if isinstance(value, (int, float)):
            value = str(value)
        if not isinstance(value, str):
            raise self.error(f"expected text, found {type(value).__name__}", field)
        if len(value) > self.max_chars:
            raise self._too_long(value, field)
        restored = restore_stray_bytes(value)
        if restored != value:
            self.repairs.append(f"{field}: bytes that are not UTF-8 read as cp1252")
        text = restored.strip()
        if not text:
            return None
        fixed = fix_mojibake(text)
        if fixed != text:
            self.repairs.append(f"{field}: mojibake repaired")
        text, fixed = fixed, strip_control_chars(fixed).strip()
        if fixed != text:
            self.repairs.append(f"{field}: control characters removed")
        if not fixed:
            return None
        if is_placeholder(fixed):
            self.placeholders.append(field)
            return fixed
        text, fixed = fixed, fix_line_breaks(fixed)
        if fixed != text:
            self.repairs.append(f"{field}: literal line breaks repaired")
        text, fixed = fixed, strip_markdown_bold(fixed)
        if fixed != text:
            self.repairs.append(f"{field}: markdown bold removed")
        return fixed or None

    def string_list(self, value: Any, field: str) -> list[str]:
        """A list of strings, from a list or from a ``;``/newline/``,``-separated string."""
        if value is None:
            return []
        if isinstance(value, list):
            items = []
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    item = ", ".join(str(v) for v in item.values() if v not in (None, ""))
                cleaned = self.clean(item, f"{field}[{i}]")
                if cleaned:
                    items.append(cleaned)
            return items
        cleaned = self.clean(value, field)
        if not cleaned:
            return []
        parts = re.split(r"\s*(?:;|\n|\|)\s*", cleaned)
        if len(parts) == 1 and cleaned.count(",") >= 1 and len(cleaned) < 200:
            parts = re.split(r"\s*,\s*", cleaned)
        parts = [p for p in parts if p]
        if len(parts) > 1:
            self.repairs.append(f"{field}: text split into a list")
        return parts

    def objects(self, value: Any, field: str, sub_fields: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
        """A list of sub-records with known sub-fields; a single object or a string is accepted."""
        if value is None or value == "":
            return []
        if isinstance(value, dict):
            value = [value]
            self.repairs.append(f"{field}: single object wrapped in a list")
        if isinstance(value, str):
            return self._objects_from_text(value, field, sub_fields)
        if not isinstance(value, list):
            raise self.error(f"expected a list, found {type(value).__name__}", field)
        alias_to_sub = {alias: sub for sub, aliases in sub_fields.items() for alias in aliases}
        result = []
        for i, item in enumerate(value):
            where = f"{field}[{i}]"
            if isinstance(item, str):
                result.extend(self._objects_from_text(item, where, sub_fields))
                continue
            if not isinstance(item, dict):
                raise self.error(f"expected an object, found {type(item).__name__}", where)
            obj: dict[str, Any] = {}
            for key, raw_value in item.items():
                sub = alias_to_sub.get(normalise_key(key))
                nested = isinstance(raw_value, (list, dict))
                # A list or object where text belongs is kept as JSON text, its strings cleaned like any other.
                text = json.dumps(self._extra_value(raw_value, f"{where}.{key}"), ensure_ascii=False) if nested else self.clean(raw_value, f"{where}.{key}")
                if sub is None:
                    # Unknown sub-field: kept on the sub-record (the models allow extra fields).
                    sub = normalise_key(key).replace(" ", "_")
                if sub not in obj or not obj[sub]:
                    obj[sub] = text
            if any(obj.values()):
                result.append(obj)
        return result

    def _objects_from_text(self, text: str, field: str, sub_fields: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
        cleaned = self.clean(text, field)
        if not cleaned:
            return []
        first = next(iter(sub_fields))
        self.repairs.append(f"{field}: text value read as a list")
        if field.startswith("domaines"):
            out = []
            for part in re.split(r"\s*[;\n]\s*", cleaned):
                dom, _, sub = part.partition(">")
                out.append({"domaine": dom.strip() or None, "sous_domaine": sub.strip() or None})
            return out
        return [{first: part} for part in re.split(r"\s*[;\n]\s*", cleaned) if part]

    def check_shape(self) -> None:
        """Nesting depth, list lengths and each field's total size, checked before any recursive step.

        Iterative on purpose: a record nested 900 levels deep must fail here, naming its field,
        not with a RecursionError further down. Every item counts one character, so a field of
        200,000 empty items is as bounded as one of a 200,000-character string.
        """
        if len(self.raw) > self.max_items:
            raise self.error(f"the record has {len(self.raw):,} fields (limit {self.max_items:,}); the export is probably corrupted.")
        for key, value in self.raw.items():
            field = str(key)
            size = len(field)
            stack: list[tuple[Any, int, str]] = [(value, 1, field)]
            while stack:
                item, depth, where = stack.pop()
                size += len(item) if isinstance(item, str) else 1
                if isinstance(item, str) and len(item) > self.max_chars:
                    raise self._too_long(item, where)
                if isinstance(item, (list, dict)):
                    if depth > MAX_NESTING:
                        raise self.error(f"values are nested more than {MAX_NESTING} levels deep; the export is probably corrupted.", where)
                    if len(item) > self.max_items:
                        raise self.error(
                            f"holds {len(item):,} items (limit {self.max_items:,}); the export is probably corrupted. "
                            "Fix the record or raise max_list_items in dyag.toml.",
                            where,
                        )
                    if isinstance(item, dict):
                        size += sum(len(str(k)) for k in item)
                        stack.extend((v, depth + 1, f"{where}.{k}") for k, v in item.items())
                    else:
                        stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(item))
                if size > self.max_chars:
                    raise self.error(
                        f"holds more than {self.max_chars:,} characters (its values together); the export is probably "
                        "corrupted. Fix the record or raise max_field_chars in dyag.toml.",
                        field,
                    )

    def build(self) -> AppRecord:
        norm: dict[str, tuple[str, Any]] = {}
        for key, value in self.raw.items():
            norm.setdefault(normalise_key(str(key)), (str(key), value))
        id_value = next((norm[a][1] for a in SCALAR_FIELDS["id"] if a in norm), None)
        name_value = next((norm[a][1] for a in SCALAR_FIELDS["nom"] if a in norm), None)
        # Only scalars name the record in messages: str() of a deeply nested value could itself overflow.
        self.record_id = str(id_value).strip() if isinstance(id_value, (str, int, float)) and str(id_value).strip() else None
        self.name = str(name_value).strip() if isinstance(name_value, (str, int)) and str(name_value).strip() else None
        self.check_shape()

        data: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for nkey, (orig_key, value) in norm.items():
            kind_field = _KEY_MAP.get(nkey)
            if kind_field is None:
                extra[nkey] = self._extra_value(value, nkey)
                continue
            kind, name = kind_field
            if name in data:
                # An alias of a field already filled (e.g. "statut" next to "statut si") is kept as extra.
                extra[nkey] = self._extra_value(value, nkey)
                continue
            if kind == "scalar":
                if isinstance(value, list):
                    value = "; ".join(str(v) for v in value if v not in (None, ""))
                    self.repairs.append(f"{name}: list joined into text")
                data[name] = self.clean(value, name)
            elif kind == "strings":
                data[name] = self.string_list(value, name)
            elif kind == "objects":
                data[name] = self.objects(value, name, OBJECT_LIST_FIELDS[name][1])
            else:
                data[name] = self._free_objects(value, name)

        if not data.get("nom"):
            raise self.error("the application has no name; every record needs a non-empty 'nom'.", "nom")
        if not data.get("id"):
            data["id"] = f"nom:{normalise_key(data['nom']).replace(' ', '-')}"
            self.repairs.append("id: missing, derived from the name")
        for name in ("statut", "famille"):
            if data.get(name):
                stripped, prefix = strip_system_prefix(data[name])
                if prefix:
                    data[name] = stripped
                    self.repairs.append(f"{name}: prefix '{prefix} -->' removed")
        self._finish_sites(data)
        self._finish_events(data)
        self._finish_contacts(data)
        try:
            return AppRecord(
                **data,
                extra=extra,
                placeholders=sorted({_printable(p) for p in self.placeholders}),
                repairs=[_printable(r) for r in self.repairs],
                source_index=self.index,
            )
        except ValidationError as exc:
            err = exc.errors()[0]
            raise self.error(err["msg"], ".".join(str(p) for p in err["loc"])) from None

    def _extra_value(self, value: Any, field: str) -> Any:
        if isinstance(value, (str, int, float, bool)) or value is None:
            return self.clean(value, field)
        if isinstance(value, list):
            return [self._extra_value(v, f"{field}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {normalise_key(k): self._extra_value(v, f"{field}.{k}") for k, v in value.items()}
        return str(value)

    def _free_objects(self, value: Any, field: str) -> list[dict[str, str]]:
        if isinstance(value, dict):
            value = [value]
        if isinstance(value, str):
            cleaned = self.clean(value, field)
            return [{"description": cleaned}] if cleaned else []
        if not isinstance(value, list):
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                obj = {normalise_key(k): self.clean(v, f"{field}[{i}].{k}") for k, v in item.items() if not isinstance(v, (list, dict))}
                obj = {k: v for k, v in obj.items() if v}
            else:
                text = self.clean(item, f"{field}[{i}]")
                obj = {"description": text} if text else {}
            if obj:
                out.append(obj)
        return out

    def _finish_sites(self, data: dict[str, Any]) -> None:
        sites = data.get("sites", [])
        for i, site in enumerate(sites):
            url = site.get("url")
            if not url or looks_like_url(url) or f"sites[{i}].url" in self.placeholders:
                continue
            repaired = repair_url(url)
            if repaired:
                site["url_original"], site["url"] = url, repaired
                self.repairs.append(f"sites[{i}].url: punctuation restored ({repaired})")
            elif " " in url.strip():
                self.repairs.append(f"sites[{i}].url: punctuation lost and not safely repairable, kept as exported")

    def _finish_events(self, data: dict[str, Any]) -> None:
        for i, event in enumerate(data.get("evenements", [])):
            raw = event.get("date_raw")
            if raw:
                parsed = parse_french_date(raw)
                event["date"] = parsed
                if parsed is None:
                    self.repairs.append(f"evenements[{i}].date: {raw!r} is not a dd/mm/yyyy date, kept as text")

    def _finish_contacts(self, data: dict[str, Any]) -> None:
        for i, contact in enumerate(data.get("contacts", [])):
            name, email = contact.get("contact"), contact.get("courriel")
            if name and "@" in name and not email:
                contact["courriel"], contact["contact"] = name, None
                self.repairs.append(f"contacts[{i}]: email moved from contact to courriel")
            elif name and email and name.lower() == email.lower():
                contact["contact"] = None
                self.repairs.append(f"contacts[{i}]: email repeated in contact removed")


def normalise_records(
    raw_records: list[Any],
    *,
    skip_invalid: bool = False,
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
    max_list_items: int = DEFAULT_MAX_LIST_ITEMS,
) -> tuple[list[AppRecord], list[CatalogError]]:
    """Normalise raw records; raise the first error, or collect them all with ``skip_invalid``."""
    records: list[AppRecord] = []
    rejected: list[CatalogError] = []
    seen: dict[str, AppRecord] = {}
    for index, raw in enumerate(raw_records):
        try:
            if not isinstance(raw, dict):
                raise CatalogError(f"expected an object with fields, found {type(raw).__name__}", index=index)
            record = _RecordBuilder(raw, index, max_field_chars, max_list_items).build()
            if record.id in seen:
                first = seen[record.id]
                raise CatalogError(
                    f"duplicate id: record #{first.source_index} ({first.nom!r}) already uses it. "
                    "Ids must be unique; fix one of the two records.",
                    index=index, record_id=record.id, name=record.nom, field="id",
                )
        except CatalogError as exc:
            if not skip_invalid:
                raise
            rejected.append(exc)
            continue
        seen[record.id] = record
        records.append(record)
    return records, rejected


def load_catalog(
    path: Path | str,
    *,
    skip_invalid: bool = False,
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS,
    max_list_items: int = DEFAULT_MAX_LIST_ITEMS,
) -> LoadReport:
    """Read, parse and normalise a catalog file.

    Raises :class:`CatalogError` for any problem (the first one, unless ``skip_invalid``, in which
    case invalid records are returned in ``LoadReport.rejected`` and the valid ones are kept).
    An empty catalog is always an error: indexing nothing would silently wipe a good index.
    """
    path = Path(path)
    text, encoding = read_catalog_text(path)
    raw_records, list_key = parse_catalog_json(text, path)
    if not raw_records:
        raise CatalogError(f"{path} contains no application records (the list is empty).")
    records, rejected = normalise_records(
        raw_records, skip_invalid=skip_invalid, max_field_chars=max_field_chars, max_list_items=max_list_items
    )
    if not records:
        raise CatalogError(f"No valid record in {path}: all {len(rejected)} were rejected (first: {rejected[0]}).")
    if encoding == MIXED_ENCODING:
        garbled = [f"#{r.source_index} {_quoted(r.nom)}" for r in records if any("not UTF-8" in repair for repair in r.repairs)]
        where = ", ".join(garbled[:10]) + (" …" if len(garbled) > 10 else "") if garbled else "field names or rejected records only"
        log.warning(
            "%s is UTF-8 but holds bytes that are not, read as cp1252 — in %s. Check them (dyag inspect lists the repairs).",
            path, where,
        )
    source_keys: dict[str, int] = {}
    for raw in raw_records:
        if isinstance(raw, dict):
            for key in raw:
                source_keys[key] = source_keys.get(key, 0) + 1
    log.info("Loaded %d records from %s (%s)", len(records), path, encoding)
    return LoadReport(records=records, rejected=rejected, encoding=encoding, list_key=list_key, source_keys=source_keys)
