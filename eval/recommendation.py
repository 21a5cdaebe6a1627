""""RAG, fine-tuning, or both?" — a decision computed from measured numbers, with its evidence.

:func:`recommend` is pure: a summary (``eval.summary``) in, a :class:`Recommendation` out. It
compares the accuracy of the three approaches on the same questions — ``rag`` (base model +
retrieved context), ``finetuned`` (fine-tuned model, closed book) and ``hybrid`` (fine-tuned model
+ context, i.e. both) — and their median latency. Two accuracies are "different" only when they
differ by more than the noise of the measurement:

    margin = max(3 points, 1.96 × sqrt(2 p (1 − p) / n))

the half-width of a 95 % confidence interval for the difference of two proportions measured on
``n`` questions each (``p`` their mean accuracy). On 160 questions at p = 0.5 that is 11 points:
small evaluations cannot separate close approaches, and the recommendation says so. When the
summary has the *paired* comparison of two modes (``summary["paired"]``: the same questions
answered by both, see :mod:`eval.summary`), its tighter McNemar half-width replaces the margin
for that pair (still at least 3 points): two modes that fail on the same hard questions differ
by their discordant answers only.

The decision table (first matching row wins):

====  ====================================================================  ==============
row   condition                                                             decision
====  ====================================================================  ==============
1     hybrid beats both RAG and fine-tuned alone by more than the margin    both
2     fine-tuned is as accurate as RAG (within the margin, and above 0)     fine-tuning
      and its median latency is at most 75 % of RAG's
3     RAG beats fine-tuned by more than the margin                          RAG
4     fine-tuned beats RAG by more than the margin                          fine-tuning
5     no difference beyond the margin                                       RAG (no training to
                                                                            run or redo; answers
                                                                            follow catalog updates)
====  ====================================================================  ==============

Approaches that were not measured are left out of the rows that need them. The mode to deploy
is the winner's mode, or ``auto`` (Dyag's router: exact field answers, refusals, then the winner)
when ``auto`` is at least as accurate as the winner within the margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MIN_MARGIN = 0.03
FASTER = 0.75
APPROACH_MODE = {"rag": "rag", "fine-tuning": "finetuned", "both": "hybrid"}
LABELS = {"rag": "RAG", "fine-tuning": "fine-tuning", "both": "both (fine-tuned model + RAG)", "insufficient": "no recommendation"}
DECISION_TABLE = (
    ("hybrid beats both RAG and fine-tuned alone by more than the margin", "both"),
    ("fine-tuned as accurate as RAG (within the margin) and at most 75 % of its median latency", "fine-tuning"),
    ("RAG beats fine-tuned by more than the margin", "rag"),
    ("fine-tuned beats RAG by more than the margin", "fine-tuning"),
    ("no difference beyond the margin: the cheaper one, with no training and always current", "rag"),
)


@dataclass
class Recommendation:
    decision: str  # rag | fine-tuning | both | insufficient
    deploy_mode: str | None
    headline: str
    evidence: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    fired_rule: int | None = None  # 1-based row of DECISION_TABLE
    margin: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision, "deploy_mode": self.deploy_mode, "headline": self.headline, "evidence": self.evidence,
            "caveats": self.caveats, "fired_rule": self.fired_rule, "margin": self.margin,
        }


def margin_for(p: float, n: int) -> float:
    """Half-width of the 95 % interval of a difference of two accuracies ``p`` on ``n`` questions (floor 3 points)."""
    if n <= 0:
        return 1.0
    return max(MIN_MARGIN, 1.96 * math.sqrt(2 * p * (1 - p) / n))


def _gap(summary: dict[str, Any], acc: dict[str, float], a: str, b: str, margin: float) -> tuple[float, float]:
    """Accuracy of ``a`` minus ``b`` and the noise half-width it must exceed: paired when measured."""
    pairs = summary.get("paired", {})
    if f"{a}-{b}" in pairs:
        pair = pairs[f"{a}-{b}"]
        return pair["difference"], max(MIN_MARGIN, pair["half_width"])
    if f"{b}-{a}" in pairs:
        pair = pairs[f"{b}-{a}"]
        return -pair["difference"], max(MIN_MARGIN, pair["half_width"])
    return acc[a] - acc[b], margin


def _beats(summary: dict[str, Any], acc: dict[str, float], a: str, b: str, margin: float) -> bool:
    gap, noise = _gap(summary, acc, a, b, margin)
    return gap > noise


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _ms(x: float | None) -> str:
    return "n/a" if x is None else (f"{x / 1000:.1f} s" if x >= 1000 else f"{x:.0f} ms")


def recommend(summary: dict[str, Any]) -> Recommendation:
    """Apply the decision table of the module docstring to ``summary["by_mode"]``."""
    by_mode = summary.get("by_mode", {})
    measured = {m: s for m, s in by_mode.items() if m in ("rag", "finetuned", "hybrid") and s.get("accuracy") is not None and s.get("n")}
    if not measured:
        return Recommendation("insufficient", None, "No RAG, fine-tuned or hybrid results to compare: evaluate with --modes rag,finetuned,hybrid.")
    acc = {m: s["accuracy"] for m, s in measured.items()}
    lat = {m: s.get("latency_p50_ms") for m, s in measured.items()}
    n = min(s["n"] for s in measured.values())
    margin = margin_for(sum(acc.values()) / len(acc), n)
    evidence = [
        "Accuracy on the same " + str(n) + " questions: " + ", ".join(f"{m} {_pct(a)} (median {_ms(lat[m])})" for m, a in acc.items())
        + f"; differences under {_pct(margin)} are within measurement noise (95 % interval)."
    ]
    for a, b in (("hybrid", "rag"), ("hybrid", "finetuned"), ("rag", "finetuned")):
        pair = summary.get("paired", {}).get(f"{a}-{b}")
        if a in acc and b in acc and pair:
            evidence.append(
                f"Paired on {pair['n']} questions: {a} − {b} = {100 * pair['difference']:+.1f} points ± {100 * max(MIN_MARGIN, pair['half_width']):.1f} "
                f"({pair['a_only']} right only in {a}, {pair['b_only']} only in {b})."
            )
    rag, ft, hy = acc.get("rag"), acc.get("finetuned"), acc.get("hybrid")
    singles = [a for a in (rag, ft) if a is not None]
    single_modes = [m for m in ("rag", "finetuned") if m in acc]
    if not singles:
        # Hybrid alone cannot say whether retrieval, fine-tuning or both earn its accuracy.
        return Recommendation(
            "insufficient", None,
            f"Only hybrid was measured ({_pct(acc['hybrid'])}): evaluate --modes rag,finetuned,hybrid to compare the approaches.",
            evidence,
        )
    decision: str | None = None
    rule: int | None = None
    if hy is not None and singles and all(_beats(summary, acc, "hybrid", m, margin) for m in single_modes):
        decision, rule = "both", 1
        evidence.append(f"Hybrid is {_pct(hy - max(singles))} more accurate than the best single approach.")
    elif rag is not None and ft is not None:
        rag_gap, rag_noise = _gap(summary, acc, "rag", "finetuned", margin)
        if ft > 0 and rag_gap <= rag_noise and lat["finetuned"] is not None and lat["rag"] and lat["finetuned"] <= FASTER * lat["rag"]:
            decision, rule = "fine-tuning", 2
            evidence.append(f"Fine-tuned is as accurate as RAG ({_pct(ft)} vs {_pct(rag)}) and faster (median {_ms(lat['finetuned'])} vs {_ms(lat['rag'])}).")
        elif rag_gap > rag_noise:
            decision, rule = "rag", 3
            evidence.append(f"RAG is {_pct(rag - ft)} more accurate than the fine-tuned model alone: retrieval supplies facts a small fine-tune does not memorise.")
        elif -rag_gap > rag_noise:
            decision, rule = "fine-tuning", 4
            evidence.append(f"Fine-tuned is {_pct(ft - rag)} more accurate than RAG.")
        else:
            decision, rule = "rag", 5
            evidence.append(f"RAG and fine-tuned are within the margin ({_pct(rag)} vs {_pct(ft)}): RAG needs no training and follows catalog updates.")
    else:
        # Only one single approach (plus perhaps hybrid, which did not beat it by the margin).
        only = "rag" if rag is not None else "fine-tuning"
        decision, rule = only, (5 if only == "rag" else 4)
        if hy is not None:
            evidence.append(f"Hybrid ({_pct(hy)}) does not beat {only} by more than the margin.")
        evidence.append("Only " + ("RAG" if only == "rag" else "the fine-tuned model") + " was measured among the single approaches.")
    mode = APPROACH_MODE[decision]
    deploy = mode
    auto = by_mode.get("auto")
    if auto and auto.get("accuracy") is not None and not _beats(summary, {**acc, "auto": auto["accuracy"]}, mode, "auto", margin):
        deploy = "auto"
        evidence.append(
            f"The auto router reaches {_pct(auto['accuracy'])} (median {_ms(auto.get('latency_p50_ms'))}): exact field answers and "
            "refusals without a model, generation for the rest — deploy it."
        )
    caveats = []
    chosen = by_mode.get(deploy, {})
    if chosen.get("refusal_accuracy") is not None and chosen["refusal_accuracy"] < 0.8:
        caveats.append(f"Refusal accuracy of {deploy} is {_pct(chosen['refusal_accuracy'])}: it answers questions it should refuse, or the reverse.")
    if decision in ("fine-tuning", "both"):
        caveats.append("A fine-tuned model knows the catalog as it was at training time: retrain when the catalog changes.")
    base = by_mode.get("base", {}).get("accuracy")
    if base is not None and acc[mode] - base <= margin:
        caveats.append(f"The winner ({_pct(acc[mode])}) is not clearly better than the base model alone ({_pct(base)}).")
    if margin > 0.1:
        caveats.append(f"With {n} questions only differences above {_pct(margin)} are meaningful: evaluate more questions to separate close approaches.")
    headline = f"Recommendation: {LABELS[decision]} — deploy mode `{deploy}`."
    return Recommendation(decision, deploy, headline, evidence, caveats, rule, round(margin, 4))
