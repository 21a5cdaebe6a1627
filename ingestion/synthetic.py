"""Synthetic French question/answer examples generated from the catalog.

Question types are a plain list of :class:`QuestionType` (one application at a time) and
:class:`AggregateType` (listings, counts, comparisons: computed over all records). Each type has
at least five training phrasings (plus English ones, also for training: staff ask in English
too, and the answer stays French), two French phrasings held out for the test split, and three
answer phrasings (one per split, so no answer text is shared between splits). Answers are taken from
the :class:`AppRecord` through ``record.fact()``, which hides placeholders; a type is skipped
for an application whose field is empty. The values that matter (names, ids, emails, URLs,
dd/mm/yyyy dates) are copied verbatim and listed in ``facts``.

:func:`generate_dataset` turns them into :class:`QARow` examples in two flavours: closed-book
(question → answer) and with context (question + retrieved-like catalog facts: the application's
own section in most examples plus sections of look-alike or same-domain applications, rendered as
facts blocks exactly as the assistant renders them; without the right section the answer is the
refusal, RAFT-style). Every example is built with
:func:`core.prompts.build_messages`, the contract shared with the assistant.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass, field
from typing import Callable, Sequence

from core.prompts import REFUSAL, build_messages, refusal_for_app
from ingestion.aggregate_types import AGGREGATE_TYPES, AggregateType
from ingestion.chunking import context_blocks
from ingestion.dataset_formats import QARow
from ingestion.distractors import ContextBuilder
from ingestion.facts import Slots
from ingestion.invented_names import invent_app_names
from ingestion.question_types import QUESTION_TYPES, QuestionType
from ingestion.records import AppRecord
from ingestion.splits import (
    Group,
    LeakageReport,
    SplitPlan,
    enforce_no_leakage,
    plan_splits,
)

log = logging.getLogger(__name__)

ANSWER_VARIANT = {"train": 0, "valid": 1, "test": 2}
FLAVOURS = ("closed_book", "context")
OUT_OF_CATALOG = "out_of_catalog"
ALL_TYPE_NAMES: list[str] = [t.name for t in QUESTION_TYPES] + [t.name for t in AGGREGATE_TYPES] + [OUT_OF_CATALOG]


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
            # English phrasings join the training pool (staff do ask in English; the answer stays
            # French); the test pool keeps only the held-out French phrasings.
            pool = qt.templates + qt.english
            specs.append(
                _Spec(
                    Group(f"{qt.name}:{r.id}", qt.name, len(pool), len(qt.test_templates), (r.id,)),
                    pool, qt.test_templates, qt.name,
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


def _render(
    spec: _Spec, template: str, template_id: str, split: str, flavours: Sequence[str], ctx: ContextBuilder, cfg: GenerationConfig, rng: random.Random
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
            ctx_answer, ctx_facts, ctx_difficulty = answer, facts, difficulty
        elif spec.refusal_name:
            ctx_answer, ctx_facts, ctx_difficulty = answer, [], "hard"
        else:
            ctx_answer, ctx_facts, ctx_difficulty = REFUSAL, [], "hard"
        rows.append(
            QARow(**base, expected_answer=ctx_answer, facts=ctx_facts, difficulty=ctx_difficulty, flavour="context", context=context_blocks(chunks, ctx.by_id))
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
    ctx = ContextBuilder(records, random.Random(cfg.seed + 1))
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
