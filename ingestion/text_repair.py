"""Repairs for the defects real catalog exports carry.

Each function is pure and returns the repaired value; the caller records what changed so
``dyag inspect`` can report it. Nothing here drops information: where a repair could be wrong
(URLs), the caller keeps the original beside the repaired value.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

# Characters that appear when UTF-8 bytes are decoded as Latin-1/cp1252: "Ã©" for "é", "â€™" for "’".
_MOJIBAKE_MARKERS = re.compile("[ÃÂâ][\u0080-\u00bf\u2018-\u203a\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u02c6\u02dc\u20ac\u2122 ]")
_LINE_BREAK_TOKEN = re.compile(r"(?:\s|^)(?:\\r\\n|r n|\\n)(?=\s|$)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_PLACEHOLDER = re.compile(r"^\s*\*{3,}\s*[^*]+?\s*\*{3,}\s*$")
_PREFIX = re.compile(r"^\s*([A-Z][A-Z0-9]{1,9})\s*-+>\s*")
_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")
_TLDS = {"fr", "com", "org", "net", "eu", "io", "info", "int", "gouv"}


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 text that was decoded as Latin-1 or cp1252 (possibly twice).

    The re-decoding is only kept when it succeeds strictly, so genuine "Â" or "Ã" in a
    correctly encoded text are left alone.
    """
    for _ in range(3):
        if not _MOJIBAKE_MARKERS.search(text):
            return text
        repaired = None
        # "à" is C3 A0; exports often turned that A0 (no-break space) into a plain space.
        candidate = text.replace("Ã ", "Ã\xa0")
        for codec in ("cp1252", "latin-1"):
            try:
                repaired = candidate.encode(codec).decode("utf-8")
                break
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
        if repaired is None or repaired == text:
            return text
        text = repaired
    return text


# Lone surrogates: U+DC80–U+DCFF are the bytes that were not UTF-8 (read with errors="surrogateescape");
# others can only come from a JSON escape such as "\\ud800" and encode to nothing.
_STRAY_BYTES = re.compile("[\udc80-\udcff]+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# C0/C1 controls but tab and newlines, DEL, bidi embeddings/overrides/isolates, and a BOM inside text:
# invisible, they garble names and chunks and can disguise one name as another.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
_LINE_SEPARATOR = re.compile("[\x85\u2028\u2029]")


def _stray_bytes_as_cp1252(match: re.Match[str]) -> str:
    out = []
    for char in match.group():
        byte = bytes([ord(char) - 0xDC00])
        try:
            out.append(byte.decode("cp1252"))
        except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d: undefined in cp1252
            out.append(byte.decode("latin-1"))
    return "".join(out)


def restore_stray_bytes(text: str) -> str:
    """Read the bytes of a UTF-8 file that were not UTF-8 (escaped as U+DC80–U+DCFF) as cp1252.

    Such bytes are nearly always a record saved in cp1252/Latin-1 inside a UTF-8 export
    ("caf\\xe9" → "café"). Other lone surrogates become U+FFFD: no encoding can write them.
    """
    if not _LONE_SURROGATE.search(text):
        return text
    return _LONE_SURROGATE.sub("\ufffd", _STRAY_BYTES.sub(_stray_bytes_as_cp1252, text))


def strip_control_chars(text: str) -> str:
    """Drop invisible control characters (NUL, ESC, bidi overrides…); line separators become newlines."""
    return _CONTROL.sub("", _LINE_SEPARATOR.sub("\n", text))


def fix_line_breaks(text: str) -> str:
    """Turn the literal ``r n`` (or ``\\r\\n``) token that exports leave for line breaks into newlines."""
    if "r n" not in text and "\\n" not in text:
        return text
    lines = _LINE_BREAK_TOKEN.split(text)
    return "\n".join(line.strip() for line in lines).strip()


def strip_markdown_bold(text: str) -> str:
    return _BOLD.sub(r"\1", text)


def is_placeholder(text: str) -> bool:
    """``***TEMPORAIRE***``-style values: kept, but they are not facts about the application."""
    return bool(_PLACEHOLDER.match(text))


def strip_system_prefix(text: str) -> tuple[str, str | None]:
    """Split ``"SIE --> En production"`` into ``("En production", "SIE")``."""
    match = _PREFIX.match(text)
    if not match:
        return text, None
    return text[match.end():], match.group(1)


def repair_url(value: str) -> str | None:
    """Rebuild a URL whose punctuation became spaces, or return None when that is not safe.

    ``"https   www geoportail gouv fr carte"`` → ``"https://www.geoportail.gouv.fr/carte"``.
    Safe means: starts with a scheme or ``www``, every token is a plain word, exactly one label
    precedes a known public suffix (``gouv fr``, ``fr``, ``com``…) and at most one path segment
    follows; anything else is left for a human.
    """
    tokens = value.strip().split()
    if len(tokens) < 2 or not all(re.fullmatch(r"[A-Za-z0-9_-]+", t) for t in tokens):
        return None
    scheme = "https"
    if tokens[0].lower() in {"http", "https"}:
        scheme = tokens.pop(0).lower()
    elif tokens[0].lower() != "www":
        return None
    suffix_start = None
    for i in range(len(tokens) - 1, -1, -1):
        if tokens[i].lower() in _TLDS:
            suffix_start = i
        elif suffix_start is not None:
            break
    if suffix_start is None:
        return None
    labels = [t for t in tokens[:suffix_start] if t.lower() != "www"]
    # One label before the public suffix, at most one path segment: anything more is ambiguous
    # ("geoportail urbanisme" may be "geoportail-urbanisme" or "geoportail.urbanisme").
    suffix_end = suffix_start
    while suffix_end + 1 < len(tokens) and tokens[suffix_end + 1].lower() in _TLDS:
        suffix_end += 1
    path = tokens[suffix_end + 1:]
    if len(labels) != 1 or len(path) > 1:
        return None
    host = ".".join(t.lower() for t in tokens[: suffix_end + 1])
    return f"{scheme}://{host}" + (f"/{path[0]}" if path else "")


def looks_like_url(value: str) -> bool:
    return bool(re.match(r"^(https?://|www\.)\S+$", value.strip(), re.IGNORECASE))


def parse_french_date(value: str) -> date | None:
    """``dd/mm/yyyy`` (optionally followed by a time) → date; None when it is not such a date."""
    match = _DATE.match(value)
    if not match:
        return None
    day, month, year = (int(g) for g in match.group(1, 2, 3))
    try:
        return datetime(year, month, day).date()
    except ValueError:
        return None


def fold(text: str) -> str:
    """Lowercase, strip accents, and reduce punctuation to single spaces: the key used for matching."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def normalise_key(key: str) -> str:
    """Map export keys of both styles to one form: ``"Portée géographique"`` → ``"portee geographique"``.

    Apostrophes, hyphens, underscores and brackets count as spaces; ``/`` is kept because it
    is part of ``date dd/mm/yyyy``.
    """
    key = fix_mojibake(restore_stray_bytes(key))
    key = unicodedata.normalize("NFKD", key)
    key = "".join(c for c in key if not unicodedata.combining(c)).lower()
    key = re.sub(r"[^a-z0-9/*]+", " ", key)
    return re.sub(r"\s+", " ", key).strip()
