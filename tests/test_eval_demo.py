"""The demo pipeline on a small catalog (fine-tuning off, auto mode): every step runs once, then a
second run finds everything up to date; and the `dyag evaluate` / `compare` commands end to end."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from core.sampling import balanced_subset
from eval.demo import Demo, DemoOptions
from tests.conftest import make_settings, small_records, write_catalog


def test_demo_runs_then_reuses_what_is_built(tmp_path):
    catalog = write_catalog(tmp_path / "catalog.json", small_records())
    settings = make_settings(tmp_path / "work")
    # A natural set whose first question holds a raw U+2028: a line separator for str.splitlines(),
    # plain text inside a JSON line. The sample must keep both rows whole.
    natural = tmp_path / "natural.jsonl"
    rows = [
        {"id": "n1", "question": "Statut de BETA ?\u2028merci", "expected_answer": "En construction", "category": "status", "kind": "informal", "app_name": "BETA", "app_id": "2"},
        {"id": "n2", "question": "GAMMA est arrêtée ?", "expected_answer": "Arrêtée", "category": "status", "kind": "yes_no", "app_name": "GAMMA", "app_id": "3"},
    ]
    natural.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    # Few new tokens: questions the router sends to generation only need to run, not to be good.
    options = DemoOptions(catalog=catalog, edge_cases=None, natural=natural, natural_questions=2, test_questions=6, modes=("auto",), skip_finetune=True, max_new_tokens=4)
    events: list[tuple[str, str]] = []
    result = Demo(settings, options, lambda name, status, detail: events.append((name, status))).run()
    assert [e for e in events if e[1] != "start"] == [("ingest", "done"), ("datasets", "done"), ("evaluate", "done")]
    assert result.report_html.is_file() and result.report_md.is_file()
    assert result.summary["modes"] == ["auto"] and result.summary["by_mode"]["auto"]["n"] == 8
    assert result.summary["by_mode_set"]["auto"]["natural"]["n"] == 2
    assert any("fine-tuning skipped" in note for note in result.notes)
    assert json.loads((settings.workdir / "demo" / "timings.json").read_text())["total"] > 0

    events.clear()
    again = Demo(settings, options, lambda name, status, detail: events.append((name, status))).run()
    assert events == [("ingest", "skipped"), ("datasets", "skipped"), ("evaluate", "skipped")]
    assert again.summary["by_mode"]["auto"] == result.summary["by_mode"]["auto"]


def test_balanced_subset_is_round_robin_and_keeps_order():
    rows = [type("R", (), {"category": c, "i": i})() for i, c in enumerate("aaaaabbc")]
    picked = balanced_subset(rows, 5)
    assert sorted(r.category for r in picked) == ["a", "a", "b", "b", "c"]
    assert [r.i for r in picked] == sorted(r.i for r in picked)
    assert len(balanced_subset(rows, 100)) == len(rows)


def test_evaluate_and_compare_commands(tmp_path):
    from cli.main import app
    from ingestion.ingest import ingest_catalog

    workdir = tmp_path / "work"
    ingest_catalog(write_catalog(tmp_path / "catalog.json", small_records()), make_settings(workdir))
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"question": "Quel est le statut de BETA ?", "expected_answer": "BETA a le statut « En construction ».", "category": "status", "app_id": "2"},
                   ensure_ascii=False) + "\n"
        + json.dumps({"question": "Statut de ZORGLUB ?", "expected_answer": "Je ne trouve pas l'application ZORGLUB dans le catalogue.",
                      "category": "out_of_catalog"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "eval"
    runner = CliRunner()
    done = runner.invoke(app, ["evaluate", str(questions), "--modes", "auto", "--out", str(out), "--workdir", str(workdir), "--no-semantic"])
    assert done.exit_code == 0, done.output
    assert len((out / "results.jsonl").read_text().splitlines()) == 2
    assert json.loads((out / "summary.json").read_text())["by_mode"]["auto"]["accuracy"] == 1.0
    report = tmp_path / "report"
    done = runner.invoke(app, ["compare", str(out), "--out", str(report)])
    assert done.exit_code == 0, done.output
    assert (report / "report.html").is_file() and "Report:" in done.output
    # User errors are one line, exit code 2.
    bad = runner.invoke(app, ["evaluate", str(questions), "--modes", "nope", "--out", str(out), "--workdir", str(workdir)])
    assert bad.exit_code == 2 and "Unknown mode" in bad.output
    missing = runner.invoke(app, ["compare", str(tmp_path / "nothing"), "--out", str(report)])
    assert missing.exit_code == 2
