"""The RAFT training subset: what a quick fine-tuning run learns from, and what it must never see.

RAFT (Zhang et al., 2024, "RAFT: Adapting Language Model to Domain Specific RAG") trains a model
on question + documents → answer, where the documents are the *oracle* (the record that holds the
answer) among *distractors* (look-alike records), and, in a share of the examples, distractors
only, with the refusal as the answer. The model learns to find and copy the value from its
context, and to say "not in the catalog" when it is absent, which is what the ``hybrid`` mode
asks of it. The synthetic generator already writes such examples (``flavour == "context"``, about
80 % with the oracle); this module picks a category-balanced subset of them (and, with
``context_share`` < 1, of closed-book examples).

Leakage. The training split holds other phrasings of the very facts the test split asks about
(by design: the test measures wording, not knowledge). A run evaluated on those questions must
not have trained on their answers, or closed-book accuracy measures memorisation of the test.
:func:`raft_subset` therefore drops every training row that touches an evaluated question:

* the same question text (folded: case, accents, spaces);
* the same question type about the same application;
* any of the question's expected values about the same application (a "contacts" row gives away
  the e-mail that a "contact e-mail" question expects);
* for listings and counts (no application), the same type with the same expected values.

Shape of the facts. At inference a question that names an application gets that record's lines
for the question's type and nothing else (``assistant.answering``: "Application : SISAL / Site
Production : https://…"), while the generator's RAFT contexts hold two to four records of whole
sections. Trained only on the latter, the demo's adapter refused a third of the named questions
whose single small block held the answer (contacts 0/9, websites 0/3 in run 2). So a share
(:data:`LINKED_SHARE`) of the answerable examples gets the inference-shaped context instead
(:func:`linked_context`), and refusals are capped at :data:`REFUSAL_SHARE`: with 25 % of the
examples answering "Je ne trouve pas…", 40 steps taught a prior to refuse, not when to.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

from core.prompts import build_messages
from core.sampling import balanced_subset
from ingestion.chunking import facts_block
from ingestion.dataset_formats import QARow
from ingestion.question_types import QUESTION_TYPES
from ingestion.records import AppRecord
from ingestion.text_repair import fold

log = logging.getLogger(__name__)

# Every example with a context, as in RAFT: a closed-book example teaches the model to state a
# fact with no evidence for it, the very habit that hybrid must not have. (The first demo run,
# a quarter closed-book, had hybrid invent values absent from its context — "ADES signifie
# Access to Data on the Sea" — though the share was not varied alone to prove the cause.)
CONTEXT_SHARE = 1.0
# Answerable examples whose facts are the named record's lines for the question type, as the
# assistant gives them; the rest keep the look-alike distractors (the shape of unlinked retrieval).
LINKED_SHARE = 0.7
REFUSAL_SHARE = 0.1  # at most this share of the subset answers with a refusal

_TYPES = {t.name: t for t in QUESTION_TYPES}


class EvaluatedQuestion(Protocol):
    """What the leakage filter needs of a question: ``eval.questions.EvalQuestion`` or a ``QARow``."""

    question: str
    category: str | None
    app_id: str | None
    facts: list[str]


@dataclass(frozen=True)
class HeldOut:
    """The keys of the evaluated questions that training rows are compared with."""

    questions: frozenset[str]
    type_app: frozenset[tuple[str, str]]
    app_fact: frozenset[tuple[str, str]]
    type_facts: frozenset[tuple[str, frozenset[str]]]

    @classmethod
    def of(cls, evaluated: Iterable[EvaluatedQuestion]) -> "HeldOut":
        questions, type_app, app_fact, type_facts = set(), set(), set(), set()
        for q in evaluated:
            questions.add(fold(q.question))
            facts = frozenset(fold(f) for f in q.facts if f.strip())
            if q.app_id:
                if q.category:
                    type_app.add((q.category, q.app_id))
                app_fact.update((q.app_id, f) for f in facts)
            elif q.category and facts:
                type_facts.add((q.category, facts))
        return cls(frozenset(questions), frozenset(type_app), frozenset(app_fact), frozenset(type_facts))

    def touches(self, row: QARow) -> bool:
        """True when ``row`` asks an evaluated question or gives away one of its answers."""
        if fold(row.question) in self.questions:
            return True
        facts = frozenset(fold(f) for f in row.facts if f.strip())
        if row.app_id:
            if row.category and (row.category, row.app_id) in self.type_app:
                return True
            return any((row.app_id, f) in self.app_fact for f in facts)
        return bool(row.category and facts) and (row.category, facts) in self.type_facts


def linked_context(row: QARow, by_id: dict[str, AppRecord]) -> list[str] | None:
    """The facts the assistant gives the generator for ``row``'s question when it names the
    application and its type is known: that record's lines for the type; None when the row is
    not about one record of a registry type, or the block would not hold every expected fact."""
    qt = _TYPES.get(row.category or "")
    record = by_id.get(row.app_id or "")
    if qt is None or record is None or row.is_refusal or not row.facts:
        return None
    block = facts_block(record, qt.sections, qt.labels)
    return [block] if all(f in block for f in row.facts) else None


@dataclass
class RaftSubset:
    rows: list[QARow]
    excluded: int  # training rows dropped because they touch an evaluated question
    context_rows: int
    refusal_rows: int
    linked_rows: int = 0  # context rows given the inference-shaped facts of their record


def raft_subset(
    rows: list[QARow],
    n: int,
    evaluated: Iterable[EvaluatedQuestion],
    context_share: float = CONTEXT_SHARE,
    seed: int = 0,
    records: Sequence[AppRecord] | None = None,
    linked_share: float = LINKED_SHARE,
    refusal_share: float = REFUSAL_SHARE,
) -> RaftSubset:
    """Up to ``n`` training rows, ``context_share`` of them with a context, balanced over question
    types, at most ``refusal_share`` refusals, none touching ``evaluated`` (see the module
    docstring); with ``records``, ``linked_share`` of the answerable context rows get the
    inference-shaped facts (:func:`linked_context`). Returned in their file order."""
    held = HeldOut.of(evaluated)
    kept = [r for r in rows if not held.touches(r)]
    excluded = len(rows) - len(kept)
    with_context = [r for r in kept if r.context is not None]
    closed_book = [r for r in kept if r.context is None]
    n_context = min(len(with_context), round(n * context_share))
    refusals = [r for r in with_context if r.is_refusal]
    answers = [r for r in with_context if not r.is_refusal]
    n_refusal = min(len(refusals), round(n_context * refusal_share))
    picked = (
        balanced_subset(answers, n_context - n_refusal, seed)
        + balanced_subset(refusals, n_refusal, seed)
        + balanced_subset(closed_book, n - n_context, seed)
    )
    order = {id(r): i for i, r in enumerate(kept)}
    picked.sort(key=lambda r: order[id(r)])
    linked = 0
    if records is not None and linked_share > 0:
        by_id = {r.id: r for r in records}
        rng = random.Random(seed)
        for i, row in enumerate(picked):
            if row.context is None or row.is_refusal or rng.random() >= linked_share:
                continue
            context = linked_context(row, by_id)
            if context is not None:
                picked[i] = row.model_copy(update={"context": context, "messages": build_messages(row.question, context, row.expected_answer)})
                linked += 1
    log.info(
        "RAFT subset: %d rows (%d with context, %d of them shaped as for a named application), %d training rows left out as evaluated",
        len(picked), n_context, linked, excluded,
    )
    return RaftSubset(picked, excluded, n_context, sum(r.is_refusal for r in picked), linked)
