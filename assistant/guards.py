"""Checks on generated text before anyone sees it: no leaked system prompt, no invented facts.

Two failures of small models are worse than no answer, because they look like answers:

* **the system prompt repeated** ("Tu es Dyag, l'assistant du catalogue…"): a base model such as
  Gemma-3-270M continues its prompt instead of answering;
* **facts absent from the context**: an application name, an id, an email, a URL or a date that
  the catalog facts given to the model do not contain — e.g. "Application GASPAR Mobile (id 1025)"
  for an application that does not exist;
* **credentials**: the catalog never holds passwords or keys, so an answer that talks of them
  (typically relaying text planted in a record: "connectez-vous avec votre mot de passe sur…")
  is a phishing vector, whatever the question.

:class:`AnswerGuard` reads the answer as it streams and releases text only once it is checked:
it holds back the last :data:`HOLD_WORDS` words, the longest stretch a check may still reject.
When a check fails, nothing more is released and the answer becomes the refusal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.prompts import FACTS_HEAD, QUESTION_HEAD, REFUSAL, SYSTEM_PROMPT
from ingestion.text_repair import fold

SHINGLE = 6  # words: a run this long shared with the system prompt is a copy, not a coincidence
HOLD_WORDS = SHINGLE
# The refusal is quoted in the system prompt, and is a legitimate answer: it is no leak.
_SYSTEM_SHINGLES = frozenset(
    tuple(words[i : i + SHINGLE]) for words in [fold(SYSTEM_PROMPT.replace(REFUSAL, " ")).split()] for i in range(len(words) - SHINGLE + 1)
)
_SCAFFOLDING = (FACTS_HEAD.strip(), QUESTION_HEAD.strip())

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"https?://[^\s)»\]>,;]+")
DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b")
NUMBER = re.compile(r"(?<![\w/.,])\d{3,}(?![\w/])")
# A word that names something: two capitals ("ADES", "GéoBS") or letters and digits ("6Tzen").
NAME_LIKE = re.compile(r"\b(?=[\w-]*[A-Z][\w-]*[A-Z]|[\w-]*\d[\w-]*[A-Za-z]|[\w-]*[A-Za-z][\w-]*\d)[\w][\w-]*\w\b")
# Acronyms of French administrative prose that an answer may use without the facts naming them.
COMMON_ACRONYMS = frozenset({"SI", "URL", "API", "MOA", "MOE", "DSI", "PDF", "SIG", "FAQ", "IA", "UE", "OK", "RGPD", "CSV", "HTML", "SQL"})


_CREDENTIALS = re.compile(r"\b(mots? de passe|password|identifiants? de connexion|cle d api|api key|token d acces|code secret)\b")


def mentions_credentials(text: str) -> bool:
    return _CREDENTIALS.search(fold(text)) is not None


def leaks_system_prompt(text: str) -> bool:
    """The answer repeats a run of the system prompt, or the prompt's own scaffolding."""
    words = fold(text).split()
    if any(tuple(words[i : i + SHINGLE]) in _SYSTEM_SHINGLES for i in range(len(words) - SHINGLE + 1)):
        return True
    return any(line.strip().startswith(_SCAFFOLDING) for line in text.splitlines())


def unsupported_facts(text: str, context: list[str]) -> list[str]:
    """Emails, URLs, dates, numbers and names of ``text`` that the facts blocks do not contain."""
    facts = "\n".join(context)
    facts_lower, facts_folded = facts.lower(), f" {fold(facts)} "
    missing: list[str] = []
    rest = text
    for pattern in (EMAIL, URL, DATE):
        for match in pattern.finditer(rest):
            value = match.group(0).rstrip(".")
            if value.lower().rstrip("/") not in facts_lower:
                missing.append(value)
        rest = pattern.sub(" ", rest)
    missing += [n for n in NUMBER.findall(rest) if n not in facts]
    for name in NAME_LIKE.findall(rest):
        if name.upper() in COMMON_ACRONYMS or name == "Dyag":
            continue
        if f" {fold(name)} " not in facts_folded:
            missing.append(name)
    return missing


@dataclass
class AnswerGuard:
    """Streams a generated answer through the checks (see the module docstring).

    ``context`` is the facts blocks the model was given; ``None`` for closed-book modes, where
    only the system-prompt check applies (there is nothing to check facts against).
    """

    context: list[str] | None
    text: str = ""
    released: int = 0
    violation: str | None = None
    unsupported: list[str] = field(default_factory=list)

    def _check(self, text: str) -> None:
        if fold(text).startswith("je ne trouve pas"):
            return  # a refusal states nothing
        if leaks_system_prompt(text):
            self.violation = "system_prompt"
        elif mentions_credentials(text):
            self.violation = "credentials"
        elif self.context is not None:
            self.unsupported = unsupported_facts(text, self.context)
            if self.unsupported:
                self.violation = "unsupported_facts"

    def feed(self, piece: str) -> str:
        """Add generated text; return the part now safe to show (possibly empty)."""
        if self.violation:
            return ""
        self.text += piece
        # Only whole words are judged: the last word may still be growing.
        cut = len(self.text) if self.text[-1:].isspace() else self.text.rfind(" ") + 1
        self._check(self.text[:cut])
        if self.violation:
            return ""
        starts = [m.start() for m in re.finditer(r"\S+", self.text[:cut])]
        safe = starts[-HOLD_WORDS] if len(starts) >= HOLD_WORDS else 0
        out, self.released = self.text[self.released : max(safe, self.released)], max(safe, self.released)
        return out

    def finish(self) -> str:
        """The end of generation: check the whole answer, return what was still held back."""
        if self.violation:
            return ""
        self._check(self.text)
        if self.violation:
            return ""
        out, self.released = self.text[self.released :], len(self.text)
        return out
