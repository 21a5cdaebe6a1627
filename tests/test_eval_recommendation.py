"""The decision table on synthetic summaries: each row fires when, and only when, its numbers say so."""

from __future__ import annotations

import pytest

from eval.recommendation import margin_for, recommend


def summary(n: int = 400, **modes: tuple[float, float]) -> dict:
    """``mode=(accuracy, median latency ms)`` → a summary with just what the decision reads."""
    return {"by_mode": {m: {"n": n, "accuracy": a, "latency_p50_ms": ms, "refusal_accuracy": 0.95} for m, (a, ms) in modes.items()}}


def test_rag_far_more_accurate_than_finetuned():
    rec = recommend(summary(rag=(0.70, 2000), finetuned=(0.20, 800), hybrid=(0.72, 2100)))
    assert rec.decision == "rag" and rec.fired_rule == 3 and rec.deploy_mode == "rag"
    assert any("RAG is 50.0 %" in line for line in rec.evidence)


def test_hybrid_best_by_a_margin_means_both():
    rec = recommend(summary(rag=(0.55, 2000), finetuned=(0.30, 800), hybrid=(0.75, 2100)))
    assert rec.decision == "both" and rec.fired_rule == 1 and rec.deploy_mode == "hybrid"
    assert any("retrain" in c for c in rec.caveats)


def test_finetuned_as_accurate_but_faster_means_finetuning():
    rec = recommend(summary(rag=(0.62, 2400), finetuned=(0.60, 700), hybrid=(0.63, 2500)))
    assert rec.decision == "fine-tuning" and rec.fired_rule == 2 and rec.deploy_mode == "finetuned"


def test_finetuned_as_accurate_and_as_slow_is_a_tie_for_rag():
    rec = recommend(summary(rag=(0.62, 2000), finetuned=(0.60, 1900)))
    assert rec.decision == "rag" and rec.fired_rule == 5


def test_finetuned_clearly_more_accurate():
    rec = recommend(summary(rag=(0.30, 1000), finetuned=(0.70, 1000), hybrid=(0.72, 1100)))
    assert rec.decision == "fine-tuning" and rec.fired_rule == 4


def test_hybrid_within_noise_is_not_both():
    """On 40 questions a 6-point lead of hybrid is noise: the simpler RAG wins."""
    rec = recommend(summary(n=40, rag=(0.60, 2000), finetuned=(0.20, 900), hybrid=(0.66, 2100)))
    assert rec.decision == "rag"
    assert rec.margin and rec.margin > 0.06
    assert any("evaluate more questions" in c for c in rec.caveats)


def test_auto_router_is_deployed_when_at_least_as_accurate():
    data = summary(rag=(0.55, 2000), finetuned=(0.10, 800), hybrid=(0.56, 2100), auto=(0.90, 5))
    rec = recommend(data)
    assert rec.decision == "rag" and rec.deploy_mode == "auto"
    assert any("auto router" in line for line in rec.evidence)


def test_missing_approaches():
    assert recommend({"by_mode": {}}).decision == "insufficient"
    assert recommend(summary(auto=(0.9, 5), base=(0.1, 900))).decision == "insufficient"
    only_rag = recommend(summary(rag=(0.5, 1000), hybrid=(0.52, 1000)))
    assert only_rag.decision == "rag"
    only_ft = recommend(summary(finetuned=(0.4, 800), hybrid=(0.8, 1000)))
    assert only_ft.decision == "both"
    # Hybrid alone (even beside auto) says nothing about which single approach earns its accuracy.
    only_hybrid = recommend(summary(auto=(0.7, 1), hybrid=(0.2, 2400)))
    assert only_hybrid.decision == "insufficient" and only_hybrid.deploy_mode is None
    assert "rag,finetuned,hybrid" in only_hybrid.headline


def test_no_better_than_base_is_flagged():
    rec = recommend(summary(rag=(0.12, 2000), finetuned=(0.10, 900), base=(0.11, 900)))
    assert any("base model" in c for c in rec.caveats)


def test_margin():
    assert margin_for(0.5, 160) == pytest.approx(1.96 * (2 * 0.25 / 160) ** 0.5)
    assert margin_for(0.99, 100000) == 0.03
    assert margin_for(0.5, 0) == 1.0


def _rows(mode: str, right: list[int]) -> list[dict]:
    return [{"mode": mode, "set": "test", "id": f"q{i}", "scores": {"correct": c}} for i, c in enumerate(right)]


def test_paired_comparison_counts_the_discordant_questions():
    from eval.summary import paired

    # 100 questions: both right on 50, hybrid only on 12, rag only on 2, both wrong on 36.
    hybrid = [1] * 50 + [1] * 12 + [0] * 2 + [0] * 36
    rag = [1] * 50 + [0] * 12 + [1] * 2 + [0] * 36
    pair = paired(_rows("hybrid", hybrid) + _rows("rag", rag), "hybrid", "rag")
    assert (pair["n"], pair["a_only"], pair["b_only"], pair["difference"]) == (100, 12, 2, 0.10)
    # SE = sqrt(12 + 2 - 10²/100) / 100 = sqrt(13) / 100 → ±7.1 points, tighter than unpaired ±13.
    assert pair["half_width"] == pytest.approx(0.0707, abs=1e-3)
    assert margin_for(0.58, 100) > 0.13
    # Questions only one mode answered are left out of the pair.
    assert paired(_rows("hybrid", [1, 0]) + _rows("rag", [1]), "hybrid", "rag")["n"] == 1
    assert paired(_rows("hybrid", [1]), "hybrid", "rag") is None


def test_paired_noise_band_decides_when_the_summary_has_it():
    """A 10-point gap is noise for two independent samples of 100, but not when the same 100
    questions disagree on only 14 (12 vs 2): the paired band decides."""
    base = summary(n=100, rag=(0.52, 1000), finetuned=(0.20, 900), hybrid=(0.62, 900))
    assert recommend(base).decision != "both"
    base["paired"] = {
        "hybrid-rag": {"n": 100, "a_only": 12, "b_only": 2, "difference": 0.10, "half_width": 0.0707},
        "hybrid-finetuned": {"n": 100, "a_only": 45, "b_only": 3, "difference": 0.42, "half_width": 0.11},
    }
    rec = recommend(base)
    assert rec.decision == "both" and rec.fired_rule == 1
    assert any("Paired on 100 questions: hybrid − rag = +10.0 points ± 7.1" in line for line in rec.evidence)
    # The same gap with many discordant questions stays noise.
    base["paired"]["hybrid-rag"] = {"n": 100, "a_only": 30, "b_only": 20, "difference": 0.10, "half_width": 0.138}
    assert recommend(base).decision != "both"
