"""Leak-free train/valid/test splits for the synthetic datasets, and the leakage report.

A *group* is every example about one fact (one application × one question type, one listing,
one comparison, one out-of-catalog name). The plan gives each group its training phrasings and
hands a share of groups a validation phrasing (another training template) or a test phrasing
(a template held out of training), so the test asks about known facts in words never trained
on; answers are phrased differently in each split. Groups whose answer cannot vary (the refusal
for an unknown application) and groups about ``--holdout-apps`` applications go whole to a
single split. :func:`enforce_no_leakage` then removes any question or answer text that still
appears in two splits, and :func:`leakage_report` measures what is left (the analysis reuses it).
"""

from __future__ import annotations

import logging
import random
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

from rapidfuzz import fuzz

from core.prompts import REFUSAL
from ingestion.dataset_formats import QARow
from ingestion.text_repair import fold

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")
# When a text is found in two splits, the copy in the earlier split of this order is kept.
_KEEP_ORDER = ("train", "test", "valid")
# Questions this similar differ by a typo or an accent; lower scores catch different questions
# about the same application ("statut" vs "contact").
NEAR_DUPLICATE_SCORE = 97.0
_CITATION = re.compile(r"\s*\[[^\]]+\]")
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Group:
    key: str
    category: str
    n_templates: int
    n_test_templates: int
    app_ids: tuple[str, ...] = ()
    isolated: bool = False
    phrasings: int | None = None  # training phrasings wanted; default: per_app


@dataclass
class SplitPlan:
    """How many phrasings of one group go to each split."""

    train: int = 0
    valid: int = 0
    test: int = 0


def parse_ratios(text: str) -> tuple[float, float, float]:
    """``"80/10/10"`` (or ``"0.8,0.1,0.1"``) → normalised (train, valid, test) shares."""
    parts = [p for p in re.split(r"[/,:\s]+", text.strip()) if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3 or any(v < 0 for v in values) or values[0] <= 0:
        raise ValueError(f"invalid split {text!r}: give three non-negative shares with a positive train share, e.g. 80/10/10")
    total = sum(values)
    return values[0] / total, values[1] / total, values[2] / total


def _round_robin(groups: Sequence[Group], rng: random.Random) -> list[Group]:
    """Groups interleaved across categories, so every question type gets valid and test examples."""
    by_category: dict[str, list[Group]] = defaultdict(list)
    for g in groups:
        by_category[g.category].append(g)
    queues = []
    for category in sorted(by_category):
        members = list(by_category[category])
        rng.shuffle(members)
        queues.append(members)
    order: list[Group] = []
    while any(queues):
        for queue in queues:
            if queue:
                order.append(queue.pop())
    return order


def _hand_out(order: list[Group], plans: dict[str, SplitPlan], quota: int, split: str) -> None:
    """Give one more phrasing in ``split`` to groups in turn until ``quota`` is reached or none can take more."""
    while quota > 0:
        given = 0
        for g in order:
            plan = plans[g.key]
            if split == "test":
                can_take = plan.test < g.n_test_templates
            else:
                can_take = plan.train + plan.valid < g.n_templates or plan.train > 1
            if quota > 0 and can_take:
                if split == "test":
                    plan.test += 1
                else:
                    # A validation phrasing is a training template the group's training examples give up.
                    plan.valid += 1
                    if plan.train + plan.valid > g.n_templates:
                        plan.train -= 1
                quota -= 1
                given += 1
        if not given:
            break


def plan_splits(
    groups: Sequence[Group],
    per_app: int,
    ratios: tuple[float, float, float],
    seed: int,
    holdout_app_ids: Iterable[str] = (),
) -> dict[str, SplitPlan]:
    """Decide, deterministically for ``seed``, how many phrasings of each group go to each split."""
    rng = random.Random(seed)
    holdout = set(holdout_app_ids)
    plans: dict[str, SplitPlan] = {}
    shared: list[Group] = []
    for g in groups:
        # Only groups about one or two applications are held out; a listing mentions many.
        if holdout and len(g.app_ids) <= 2 and holdout.intersection(g.app_ids):
            plans[g.key] = SplitPlan(test=min(per_app, g.n_test_templates))
        elif g.isolated:
            split = rng.choices(SPLITS, weights=ratios)[0]
            n = min(per_app, g.n_test_templates if split == "test" else g.n_templates)
            plans[g.key] = SplitPlan(**{split: n})
        else:
            plans[g.key] = SplitPlan(train=min(max(per_app, g.phrasings or 0), g.n_templates))
            shared.append(g)
    total_train = sum(plans[g.key].train for g in shared)
    _hand_out(_round_robin(shared, rng), plans, round(total_train * ratios[1] / ratios[0]), "valid")
    _hand_out(_round_robin(shared, rng), plans, round(total_train * ratios[2] / ratios[0]), "test")
    return plans


# ---------------------------------------------------------------- leakage


def question_key(text: str) -> str:
    return fold(text)


def answer_key(text: str) -> str | None:
    """The answer without its citations; None for the shared refusal, which every split must teach."""
    if text.strip() == REFUSAL:
        return None
    return fold(_CITATION.sub("", text))


@dataclass
class LeakageReport:
    """What could let a model see test material in training; every count should be 0."""

    shared_questions: int = 0
    shared_answers: int = 0
    near_duplicate_questions: int = 0
    shared_templates: int | None = None
    removed_questions: int = 0
    removed_answers: int = 0
    test_only_apps: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    @property
    def leaks(self) -> int:
        return self.shared_questions + self.shared_answers + self.near_duplicate_questions + (self.shared_templates or 0)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "leaks": self.leaks}


def enforce_no_leakage(rows: list[QARow]) -> tuple[list[QARow], LeakageReport]:
    """Drop every row whose question or answer text already belongs to another split."""
    owner_q: dict[str, str] = {}
    owner_a: dict[str, str] = {}
    drop: set[int] = set()
    report = LeakageReport()
    rank = {s: i for i, s in enumerate(_KEEP_ORDER)}
    for i in sorted(range(len(rows)), key=lambda i: rank.get(rows[i].split or "train", 0)):
        row = rows[i]
        split = row.split or "train"
        q, a = question_key(row.question), answer_key(row.expected_answer)
        if owner_q.setdefault(q, split) != split:
            report.removed_questions += 1
            drop.add(i)
        elif a is not None and owner_a.setdefault(a, split) != split:
            report.removed_answers += 1
            drop.add(i)
    if drop:
        log.info("Leakage guard removed %d examples (%d by question, %d by answer)", len(drop), report.removed_questions, report.removed_answers)
    kept = [row for i, row in enumerate(rows) if i not in drop]
    measured = leakage_report(kept)
    measured.removed_questions, measured.removed_answers = report.removed_questions, report.removed_answers
    return kept, measured


def _shared(keys_by_split: dict[str, dict[str, str]]) -> tuple[int, list[str]]:
    seen: dict[str, set[str]] = defaultdict(set)
    text: dict[str, str] = {}
    for split, keys in keys_by_split.items():
        for key, original in keys.items():
            seen[key].add(split)
            text.setdefault(key, original)
    shared = [text[k] for k, splits in seen.items() if len(splits) > 1]
    return len(shared), shared[:MAX_EXAMPLES]


def leakage_report(rows: Sequence[QARow]) -> LeakageReport:
    """Measure leakage between the splits of ``rows`` (rows without a split count as train)."""
    questions: dict[str, dict[str, str]] = defaultdict(dict)
    answers: dict[str, dict[str, str]] = defaultdict(dict)
    templates: dict[str, set[str]] = defaultdict(set)
    apps: dict[str, set[str]] = defaultdict(set)
    by_app: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        split = row.split or "train"
        questions[split][question_key(row.question)] = row.question
        a = answer_key(row.expected_answer)
        if a is not None:
            answers[split][a] = row.expected_answer
        if row.template_id:
            templates[split].add(row.template_id)
        if row.app_name and not row.is_refusal:
            apps[split].add(row.app_name)
        by_app[(row.app_name or "", split)].add(question_key(row.question))
    report = LeakageReport()
    report.shared_questions, q_examples = _shared(questions)
    report.shared_answers, a_examples = _shared(answers)
    report.examples = [f"question: {q}" for q in q_examples] + [f"answer: {a}" for a in a_examples]
    if templates:
        trained = templates["train"] | templates["valid"]
        report.shared_templates = len(templates["test"] & trained)
    report.test_only_apps = sorted(apps["test"] - apps["train"] - apps["valid"])
    report.near_duplicate_questions = _near_duplicates(by_app)
    return report


def is_near_duplicate(a: str, b: str) -> bool:
    """Two question keys (see :func:`question_key`) that differ only by word order or a character or two."""
    return sorted(a.split()) == sorted(b.split()) or fuzz.ratio(a, b) >= NEAR_DUPLICATE_SCORE


def _near_duplicates(by_app: dict[tuple[str, str], set[str]]) -> int:
    """Questions about the same application, in different splits, that differ only slightly."""
    count = 0
    app_names = {app for app, _ in by_app}
    for app in app_names:
        per_split = [by_app.get((app, s), set()) for s in SPLITS]
        for i in range(len(SPLITS)):
            for j in range(i + 1, len(SPLITS)):
                for q in per_split[i]:
                    count += sum(1 for other in per_split[j] if q != other and is_near_duplicate(q, other))
    return count
