"""The RAFT training subset (finetune.raft): balanced, mostly with context, and leak-free against
the questions a run is evaluated on — checked on the real generated dataset of the example catalog."""

from __future__ import annotations

from collections import Counter

import pytest

from core.prompts import parse_user_content
from core.sampling import balanced_subset
from eval.questions import load_questions
from examples import CATALOG, NATURAL_HOLDOUT
from finetune.raft import CONTEXT_SHARE, LINKED_SHARE, REFUSAL_SHARE, HeldOut, linked_context, raft_subset
from ingestion.catalog import load_catalog
from ingestion.dataset_formats import QARow
from ingestion.synthetic import GenerationConfig, generate_dataset
from ingestion.text_repair import fold


@pytest.fixture(scope="module")
def rows() -> list[QARow]:
    return generate_dataset(load_catalog(CATALOG).records, GenerationConfig(seed=0)).rows


@pytest.fixture(scope="module")
def evaluated(rows: list[QARow]) -> list:
    test = balanced_subset([r for r in rows if r.split == "test"], 60)
    return test + load_questions(NATURAL_HOLDOUT)


def test_subset_is_balanced_mostly_context_and_includes_refusals(rows, evaluated):
    train = [r for r in rows if r.split == "train"]
    subset = raft_subset(train, 240, evaluated)
    assert len(subset.rows) == 240
    assert subset.context_rows == round(240 * CONTEXT_SHARE) == sum(r.context is not None for r in subset.rows)
    # RAFT: some context examples lack the right record, and their answer is the refusal — capped,
    # or a short run learns to refuse.
    assert subset.refusal_rows == round(240 * REFUSAL_SHARE)
    categories = Counter(r.category for r in subset.rows if r.context is not None and not r.is_refusal)
    # Round robin: every type gets the same share, give or take one, unless it has fewer rows (licence).
    typical = sorted(categories.values())[len(categories) // 2]
    assert len(categories) >= 20 and max(categories.values()) <= typical + 1
    # Kept in file order, each row once.
    positions = [train.index(r) for r in subset.rows]
    assert positions == sorted(positions) and len(set(positions)) == 240


def test_linked_rows_get_the_facts_the_assistant_gives_a_named_application(rows, evaluated):
    records = load_catalog(CATALOG).records
    by_id = {r.id: r for r in records}
    train = [r for r in rows if r.split == "train"]
    plain = raft_subset(train, 240, evaluated)
    subset = raft_subset(train, 240, evaluated, records=records)
    # The same rows are picked; only the facts of some answerable ones change shape.
    assert [r.id for r in subset.rows] == [r.id for r in plain.rows]
    answerable = [r for r in plain.rows if not r.is_refusal and linked_context(r, by_id) is not None]
    assert abs(subset.linked_rows - LINKED_SHARE * len(answerable)) <= 0.15 * len(answerable)
    changed = [(old, new) for old, new in zip(plain.rows, subset.rows) if old.context != new.context]
    assert len(changed) == subset.linked_rows > 0
    for old, new in changed:
        assert not new.is_refusal and new.expected_answer == old.expected_answer
        (block,) = new.context
        assert block.startswith(f"Application : {by_id[new.app_id].nom}\n")
        assert all(f in block for f in new.facts)
        # The training messages carry the new facts, exactly as inference would render them.
        question, facts = parse_user_content(new.messages[1]["content"])
        assert question == new.question and facts == new.context and new.messages[2]["content"] == new.expected_answer
    # Records the row is not about are never linked in; refusals keep their distractors.
    assert linked_context(next(r for r in train if r.is_refusal), by_id) is None
    status = next(r for r in train if r.category == "status" and r.app_id and not r.is_refusal)
    assert linked_context(status, by_id) == [f"Application : {by_id[status.app_id].nom}\nStatut : {by_id[status.app_id].statut}"]


def test_no_training_row_touches_an_evaluated_question(rows, evaluated):
    train = [r for r in rows if r.split == "train"]
    subset = raft_subset(train, 240, evaluated)
    asked = {fold(q.question) for q in evaluated}
    type_app = {(q.category, q.app_id) for q in evaluated if q.app_id}
    app_facts = {(q.app_id, fold(f)) for q in evaluated if q.app_id for f in q.facts}
    for row in subset.rows:
        assert fold(row.question) not in asked
        if row.app_id:
            assert (row.category, row.app_id) not in type_app, row.id
            assert not any((row.app_id, fold(f)) in app_facts for f in row.facts), row.id
    assert subset.excluded > 0


def test_the_filter_catches_the_twins_the_generator_makes_by_design(rows):
    """The training split holds other phrasings of every fact the test split asks about: without
    the filter, a closed-book score would measure memorised test answers."""
    train = [r for r in rows if r.split == "train"]
    test = [r for r in rows if r.split == "test" and r.app_id and not r.is_refusal]
    held = HeldOut.of(test[:1])
    twins = [r for r in train if held.touches(r)]
    assert twins and all(r.app_id == test[0].app_id for r in twins)
    assert any(r.category == test[0].category for r in twins)
    # A listing or count (no application) is matched on its type and expected values.
    aggregate = next(r for r in rows if r.split == "test" and r.category == "count_by_domain")
    same = [r for r in train if r.category == "count_by_domain" and {fold(f) for f in r.facts} == {fold(f) for f in aggregate.facts}]
    assert same and all(HeldOut.of([aggregate]).touches(r) for r in same)
    other = next(r for r in train if r.category == "count_by_domain" and r not in same)
    assert not HeldOut.of([aggregate]).touches(other)


def test_an_empty_pool_gives_an_empty_subset():
    assert raft_subset([], 10, []).rows == []
