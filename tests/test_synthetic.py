"""Synthetic Q&A generation: correct facts for every question type, refusals, leak-free splits."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from core.prompts import REFUSAL, SYSTEM_PROMPT, build_messages, refusal_for_app
from ingestion.aggregate_types import AGGREGATE_TYPES
from ingestion.catalog import load_catalog
from ingestion.dataset_formats import QARow, to_messages
from ingestion.facts import lead
from ingestion.invented_names import invent_app_names
from ingestion.question_types import QUESTION_TYPES
from ingestion.records import AppRecord
from ingestion.splits import (
    SPLITS,
    answer_key,
    is_near_duplicate,
    parse_ratios,
    question_key,
)
from ingestion.synthetic import (
    ALL_TYPE_NAMES,
    OUT_OF_CATALOG,
    GenerationConfig,
    generate_dataset,
)
from ingestion.text_repair import fold

DATA = Path(__file__).parent / "data" / "datasets"
MINI = DATA / "mini_catalog.json"
EXAMPLE = Path(__file__).parents[1] / "examples" / "catalog.json"


@pytest.fixture(scope="module")
def records() -> list[AppRecord]:
    return load_catalog(MINI).records


@pytest.fixture(scope="module")
def rows(records: list[AppRecord]) -> list[QARow]:
    return generate_dataset(records, GenerationConfig(per_app=2, seed=7)).rows


def _expected_facts(category: str, r: AppRecord) -> list[str]:
    """The values each question type must state, read straight from the record."""
    events = {e.type: e.date.strftime("%d/%m/%Y") for e in r.evenements if e.date}
    return {
        "status": [r.statut],
        "full_name": [r.nom_long],
        "identifier": [r.id],
        "scope": [r.portee_geographique],
        "family": [r.famille],
        "domains": [d.domaine for d in r.domaines] + [d.sous_domaine for d in r.domaines if d.sous_domaine],
        "description": [lead(r.descriptif or "").rstrip(".")],
        "contacts": [v for c in r.contacts for v in (c.contact, c.courriel) if v],
        "websites": [s.url for s in r.sites if s.url and s.url.startswith("https://")],
        "actors": [a.acteur for a in r.acteurs],
        "production_date": [events.get("Mise en production")],
        "creation_date": [events.get("Création")],
        "related_apps": [link.nom for link in r.applications_liees],
        "related_data": [link.nom for link in r.donnees_liees],
        "technology": [r.technologie_principale],
        "hosting": [h["hebergeur"] for h in r.hebergements] or [a.acteur for a in r.acteurs if a.role == "Hébergeur"],
        "shutdown_date": [events.get("Arrêt")],
        "version": [getattr(max((e for e in r.evenements if e.version and e.date), key=lambda e: e.date, default=None), "version", None)],
        "users": list(r.utilisateurs),
        "functions": list(r.fonctions),
        "stakes": [r.enjeux],
        "user_count": [str(v) for k, v in r.extra.items() if "utilisateurs" in k],
        "licence": [str(v) for k, v in r.extra.items() if "licence" in k],
        "budget": [str(v) for k, v in r.extra.items() if "budget" in k],
    }[category]


def _answerable(records: list[AppRecord]) -> set[str]:
    """The question types some record of ``records`` holds a value for."""
    return {t.name for t in QUESTION_TYPES if any(t.extract(r) for r in records)}


def test_every_question_type_has_enough_distinct_phrasings() -> None:
    for t in [*QUESTION_TYPES, *AGGREGATE_TYPES]:
        assert len(t.templates) >= 5 and len(t.test_templates) >= 2, t.name
        assert len(set(t.answers)) == 3, t.name
        keys = [fold(x) for x in (*t.templates, *t.test_templates)]
        # Two phrasings that fold to near-identical text would leak across splits.
        assert not [(a, b) for i, a in enumerate(keys) for b in keys[i + 1:] if is_near_duplicate(a, b)], t.name


def test_every_question_type_is_generated_from_a_small_catalog(records: list[AppRecord], rows: list[QARow]) -> None:
    single = {t.name for t in QUESTION_TYPES}
    assert set(ALL_TYPE_NAMES) - (single - _answerable(records)) <= {r.category for r in rows}
    for row in rows:
        assert row.messages == build_messages(row.question, row.context, row.expected_answer)
        assert row.messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
        assert row.expected_answer.strip() and row.question.strip()
        assert all(f in row.expected_answer for f in row.facts), row
        meta = to_messages(row)["meta"]
        assert set(meta) == {"id", "category", "app_id", "app_name", "split", "flavour", "template_id", "facts", "difficulty"}


def test_per_application_answers_state_the_record_values(records: list[AppRecord], rows: list[QARow]) -> None:
    by_id = {r.id: r for r in records}
    checked = Counter()
    for row in rows:
        if row.category not in {t.name for t in QUESTION_TYPES} or row.is_refusal:
            continue
        expected = _expected_facts(row.category, by_id[row.app_id])
        assert sorted(row.facts) == sorted(e for e in expected if e), (row.category, row.expected_answer)
        assert all(fact in row.expected_answer for fact in row.facts)
        checked[row.category] += 1
    assert set(checked) == _answerable(records)
    # Verbatim values in natural sentences.
    answers = {r.expected_answer for r in rows if r.app_id == "1001" and r.flavour == "closed_book"}
    assert any("yannick.mercier@developpement-durable.gouv.fr" in a for a in answers)
    assert any("07/12/2012" in a for a in answers)
    assert any("https://ades.eaufrance.fr" in a for a in answers)


def test_empty_and_placeholder_fields_are_skipped(rows: list[QARow]) -> None:
    produced = defaultdict(set)
    for row in rows:
        if not row.is_refusal:
            produced[row.app_id].add(row.category)
    assert "description" not in produced["1011"]  # ***TEMPORAIRE***
    assert "full_name" not in produced["1064"]  # ***TEMPORAIRE***
    assert "contacts" not in produced["1011"] and "hosting" not in produced["1002"]
    # The URL whose punctuation could not be repaired is not given as an answer.
    assert not any("geoportail urbanisme" in r.expected_answer for r in rows)
    assert "status" in produced["1011"]
    assert all("SIE" not in r.expected_answer for r in rows if r.app_id == "1011")


def test_listings_counts_and_comparisons_are_computed_over_all_records(records: list[AppRecord], rows: list[QARow]) -> None:
    statuses = Counter(r.statut for r in records)
    domains = Counter(d for r in records for d in dict.fromkeys(x.domaine for x in r.domaines))
    for row in rows:
        if row.category in ("count_by_status", "list_by_status"):
            value = re.search(r"« (.+?) »", row.expected_answer).group(1)
            assert row.facts[0] == str(statuses[value]), row.expected_answer
            if row.category == "list_by_status":
                assert sorted(row.facts[1:]) == sorted(r.nom for r in records if r.statut == value)
        if row.category in ("count_by_domain", "list_by_domain"):
            value = re.search(r"« (.+?) »", row.expected_answer).group(1)
            assert row.facts[0] == str(domains[value])
    by_name = {r.nom: r for r in records}
    comparisons = [r for r in rows if r.category == "comparison" and not r.is_refusal]
    assert comparisons
    for row in comparisons:
        a, sa, b, sb = row.facts[:4]
        assert by_name[a].statut == sa and by_name[b].statut == sb


def test_refusals_for_invented_applications(records: list[AppRecord], rows: list[QARow]) -> None:
    refusals = [r for r in rows if r.category == OUT_OF_CATALOG]
    assert refusals
    known = [fold(v) for r in records for v in (r.nom, r.nom_long) if v]
    for row in refusals:
        assert row.expected_answer == refusal_for_app(row.app_name)
        assert row.app_name in row.question
        assert max(fuzz.ratio(fold(row.app_name), k) for k in known) < 70
    names = invent_app_names(records, 30, seed=3)
    assert len(set(names)) == 30


def test_context_examples_follow_raft(rows: list[QARow]) -> None:
    context_rows = [r for r in rows if r.flavour == "context"]
    assert context_rows
    with_gold = 0
    for row in context_rows:
        assert row.context and 2 <= len(row.context) <= 6
        # One facts block per application, headed by its name (no ids, no section banners).
        headers = [c.split("\n", 1)[0] for c in row.context]
        assert all(h.startswith("Application : ") and "(id " not in c for h, c in zip(headers, row.context))
        assert len(set(headers)) == len(headers)
        if row.category == OUT_OF_CATALOG:
            assert row.expected_answer == refusal_for_app(row.app_name)
            continue
        if row.category == "comparison":
            names = row.facts[0::2][:2]
            assert row.is_refusal or all(n in row.expected_answer for n in names)
            continue
        gold = [h for h in headers if h == f"Application : {row.app_name}" or h.startswith(f"Application : {row.app_name} (")]
        distractors = [h for h in headers if h not in gold]
        assert 2 <= len(distractors) <= 3
        if gold:
            with_gold += 1
            assert all(f in row.expected_answer for f in row.facts)
        else:
            assert row.expected_answer == REFUSAL and row.facts == []
    share = with_gold / len([r for r in context_rows if r.app_id])
    assert 0.6 <= share <= 0.95
    # Aggregates are answered from the field store, not from chunks: closed-book only.
    assert not [r for r in context_rows if r.category.startswith(("list_", "count_"))]


def test_questions_use_long_names_and_varied_phrasings(records: list[AppRecord], rows: list[QARow]) -> None:
    long_names = {r.nom_long for r in records if r.nom_long}
    assert any(any(n in row.question for n in long_names) for row in rows if row.category != "full_name")
    status_questions = {r.template_id for r in rows if r.category == "status"}
    assert len(status_questions) >= 5


def _assert_no_leakage(rows: list[QARow]) -> None:
    by_split = {s: [r for r in rows if r.split == s] for s in SPLITS}
    for a in SPLITS:
        for b in SPLITS:
            if a >= b:
                continue
            qa, qb = ({question_key(r.question) for r in by_split[x]} for x in (a, b))
            assert not qa & qb, (a, b, qa & qb)
            aa, ab = ({answer_key(r.expected_answer) for r in by_split[x]} - {None} for x in (a, b))
            assert not aa & ab, (a, b, aa & ab)
    trained = {r.template_id for r in rows if r.split != "test"}
    assert all("/test/" in r.template_id and r.template_id not in trained for r in by_split["test"])
    assert all("/train/" in r.template_id for r in rows if r.split != "test")


def test_splits_have_no_leakage(rows: list[QARow]) -> None:
    assert {r.split for r in rows} == set(SPLITS)
    _assert_no_leakage(rows)


def test_holdout_apps_only_in_test(records: list[AppRecord]) -> None:
    data = generate_dataset(records, GenerationConfig(per_app=2, seed=1, holdout_apps=2))
    assert len(data.holdout_app_ids) == 2
    held_names = {r.nom for r in records if r.id in data.holdout_app_ids}
    for row in data.rows:
        about_held = row.app_id in data.holdout_app_ids or (row.category == "comparison" and held_names & set(row.facts))
        if about_held:
            assert row.split == "test", row
    assert held_names <= set(data.leakage.test_only_apps)
    _assert_no_leakage(data.rows)


def test_generation_is_deterministic(records: list[AppRecord]) -> None:
    def dump(seed: int) -> str:
        return json.dumps([to_messages(r) for r in generate_dataset(records, GenerationConfig(per_app=2, seed=seed)).rows], ensure_ascii=False)

    assert dump(5) == dump(5)
    assert dump(5) != dump(6)


def test_split_ratios_are_respected(records: list[AppRecord]) -> None:
    rows = generate_dataset(records, GenerationConfig(per_app=3, seed=2, ratios=parse_ratios("70/15/15"), flavours=("closed_book",))).rows
    counts = Counter(r.split for r in rows)
    assert abs(counts["train"] / len(rows) - 0.70) < 0.06
    assert abs(counts["test"] / len(rows) - 0.15) < 0.06


def test_bad_generation_options(records: list[AppRecord]) -> None:
    with pytest.raises(ValueError, match="unknown question type"):
        generate_dataset(records, GenerationConfig(question_types=["status", "colour"]))
    with pytest.raises(ValueError, match="holdout"):
        generate_dataset(records, GenerationConfig(holdout_apps=len(records)))
    with pytest.raises(ValueError, match="invalid split"):
        parse_ratios("80/20")
    only = generate_dataset(records, GenerationConfig(question_types=["status"], flavours=("closed_book",))).rows
    assert {r.category for r in only} == {"status"} and {r.flavour for r in only} == {"closed_book"}


def test_example_catalog_yields_every_application_and_type() -> None:
    records = load_catalog(EXAMPLE).records
    data = generate_dataset(records, GenerationConfig(seed=0))
    covered = {r.app_id for r in data.rows if r.app_id}
    assert covered == {r.id for r in records}
    assert set(ALL_TYPE_NAMES) - ({t.name for t in QUESTION_TYPES} - _answerable(records)) == {r.category for r in data.rows}
    assert data.leakage.leaks == 0
    _assert_no_leakage(data.rows)
    assert Counter(r.split for r in data.rows)["test"] > 0.08 * len(data.rows)
