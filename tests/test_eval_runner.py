"""The evaluation runner on a real index: results.jsonl, summary.json, resume after interruption,
and one short run of the real packaged Gemma through llama.cpp."""

from __future__ import annotations

import json

import pytest

from eval.questions import EvalQuestion
from eval.results import META, RESULTS, RETRIEVAL, read_results
from eval.runner import evaluate
from eval.summary import write_summary
from tests.conftest import make_settings, small_records, write_catalog


@pytest.fixture(scope="module")
def small_assistant(tmp_path_factory):
    """A real index (real embeddings, real Chroma) of three applications, and its assistant."""
    from assistant.answering import Assistant
    from ingestion.ingest import ingest_catalog

    workdir = tmp_path_factory.mktemp("eval-small")
    settings = make_settings(workdir, generator_model="gemma3-270m", max_new_tokens=6, context_tokens=128)
    ingest_catalog(write_catalog(workdir / "catalog.json", small_records()), settings)
    return Assistant(settings)


def questions() -> list[EvalQuestion]:
    """Questions the auto mode answers without a model: fields, a follow-up, an aggregate, refusals."""
    return [
        EvalQuestion("status", "Quel est le statut de ALPHA ?", "ALPHA a le statut « En production ».", "status", "easy", "1", "ALPHA", ["En production"]),
        EvalQuestion("contact", "Qui contacter pour ALPHA ?", "Anne Martin (anne.martin@example.gouv.fr).", "contacts", "medium", "1", "ALPHA",
                     ["anne.martin@example.gouv.fr"]),
        EvalQuestion("follow", "Et son statut ?", "BETA a le statut « En construction ».", "follow_up", "hard", "2", "BETA", ["En construction"],
                     conversation=["Qui contacter pour BETA ?"]),
        EvalQuestion("count", "Combien d'applications sont en construction ?", "On dénombre 1 application.", "aggregate", "hard", facts=["1"]),
        EvalQuestion("unknown", "Quel est le statut de ZORGLUB ?", "Je ne trouve pas l'application ZORGLUB dans le catalogue.", "out_of_catalog",
                     "hard", expect_refusal=True),
        # Wrong on purpose: the catalog says GAMMA is stopped, so this must score 0.
        EvalQuestion("wrong", "Quel est le statut de GAMMA ?", "GAMMA a le statut « En production ».", "status", "easy", "3", "GAMMA", ["En production"]),
    ]


def test_results_lines_and_summary(small_assistant, tmp_path):
    out = tmp_path / "eval"
    outcome = evaluate(questions(), small_assistant, ["auto"], out, sources={}, embedder=small_assistant.retriever.embedder)
    assert outcome.answered == 6 and outcome.already_done == 0 and outcome.skipped_modes == {}
    rows = read_results(out / RESULTS)
    assert [r["id"] for r in rows] == ["status", "contact", "follow", "count", "unknown", "wrong"]
    first = rows[0]
    for key in ("id", "question", "mode", "answer", "expected", "category", "latency_ms", "sources", "abstained", "scores"):
        assert key in first
    assert first["sources"][0] == {"app_id": "1", "app_name": "ALPHA", "section": first["sources"][0]["section"]}
    by_id = {r["id"]: r for r in rows}
    assert by_id["status"]["scores"]["correct"] == 1 and by_id["status"]["scores"]["recall_at_k"] == 1
    assert by_id["contact"]["scores"]["correct"] == 1
    assert by_id["follow"]["scores"]["correct"] == 1, by_id["follow"]["answer"]  # the conversation resolved "son" to BETA
    assert by_id["count"]["scores"]["correct"] == 1
    assert by_id["unknown"]["abstained"] and by_id["unknown"]["scores"]["refusal_ok"] == 1
    assert by_id["wrong"]["scores"]["correct"] == 0
    assert 0.5 < by_id["status"]["scores"]["semantic"] <= 1.0

    summary = write_summary(out)
    auto = summary["by_mode"]["auto"]
    assert auto["n"] == 6 and auto["accuracy"] == pytest.approx(5 / 6, abs=1e-4)
    assert auto["refusal_accuracy"] == 1.0 and auto["false_refusal_rate"] == 0.0 and auto["refusal_recall"] == 1.0
    assert auto["latency_p50_ms"] is not None and auto["errors"] == 0
    assert summary["by_mode_category"]["auto"]["status"]["accuracy"] == 0.5
    assert set(summary["by_mode_difficulty"]["auto"]) == {"easy", "medium", "hard"}
    assert json.loads((out / "summary.json").read_text())["modes"] == ["auto"]
    assert json.loads((out / META).read_text())["modes"] == ["auto"]
    retrieval = json.loads((out / RETRIEVAL).read_text())
    assert set(retrieval["questions"]) == {"hybrid", "dense", "bm25"}


def test_resume_after_interruption(small_assistant, tmp_path):
    out = tmp_path / "eval"
    calls = {"n": 0}

    def interrupt_after_two(done: int, total: int, mode: str) -> None:
        calls["n"] += 1
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        evaluate(questions(), small_assistant, ["auto"], out, progress=interrupt_after_two)
    before = (out / RESULTS).read_text(encoding="utf-8")
    assert len(before.splitlines()) == 2
    # A crash in the middle of a write leaves half a line: it is dropped, not parsed as a result.
    with (out / RESULTS).open("a", encoding="utf-8") as handle:
        handle.write('{"id": "contact", "set": "questions", "mode": "au')

    seen = []
    outcome = evaluate(questions(), small_assistant, ["auto"], out, progress=lambda d, t, m: seen.append((d, t)))
    assert outcome.already_done == 2 and outcome.answered == 4
    assert seen[0] == (2, 6) and seen[-1] == (6, 6)
    rows = read_results(out / RESULTS)
    assert [r["id"] for r in rows] == ["status", "contact", "follow", "count", "unknown", "wrong"]
    assert (out / RESULTS).read_text(encoding="utf-8").startswith(before)  # earlier lines untouched

    again = evaluate(questions(), small_assistant, ["auto"], out)
    assert again.answered == 0 and again.already_done == 6
    assert len(read_results(out / RESULTS)) == 6


def test_modes_without_a_run_are_skipped(small_assistant, tmp_path):
    outcome = evaluate(questions()[:1], small_assistant, ["auto", "finetuned", "hybrid"], tmp_path / "eval")
    assert set(outcome.skipped_modes) == {"finetuned", "hybrid"}
    assert "no fine-tuning run" in outcome.skipped_modes["finetuned"]
    assert {r["mode"] for r in read_results(tmp_path / "eval" / RESULTS)} == {"auto"}
    assert json.loads((tmp_path / "eval" / META).read_text())["skipped_modes"]["hybrid"]


def test_real_gemma_rag_and_base(small_assistant, tmp_path):
    """The real packaged Gemma-3-270M through llama.cpp: two questions, six new tokens each."""
    pytest.importorskip("llama_cpp")
    out = tmp_path / "eval"
    outcome = evaluate(questions()[:2], small_assistant, ["rag", "base"], out)
    assert outcome.skipped_modes == {}, outcome.skipped_modes
    rows = read_results(out / RESULTS)
    # Question-major order: both modes on the first question, then on the second.
    assert [(r["id"], r["mode"], r["mode_used"]) for r in rows] == [
        ("status", "rag", "rag"), ("status", "base", "base"), ("contact", "rag", "rag"), ("contact", "base", "base")]
    assert all(r["generated_tokens"] > 0 and r["latency_ms"] > 0 and not r["error"] for r in rows)
    assert all(r["sources"] for r in rows if r["mode"] == "rag") and not any(r["sources"] for r in rows if r["mode"] == "base")
    summary = write_summary(out)
    assert summary["by_mode"]["rag"]["tokens_per_s"] > 0
    assert summary["by_mode"]["rag"]["recall_at_k"] == 1.0
