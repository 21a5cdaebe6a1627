"""Evaluation page: "RAG, fine-tuning or both?" — the recommendation, scores and charts per mode,
per-category drill-down, the worst errors, the latest report, and the staff feedback so far.

It reads what :mod:`eval` writes: an evaluation folder (``dyag evaluate --out DIR``, or the
demo's ``<workdir>/eval/demo``) holds ``results.jsonl`` (one line per (question, mode)),
``meta.json`` and ``summary.json``; ``dyag compare`` writes the report (``report.html``,
``charts/``) into ``<workdir>/reports/NAME``. The numbers come from eval's own functions
(:func:`eval.summary.summarize`, :func:`eval.recommendation.recommend`, :mod:`eval.charts`), so the
page and the report always agree.

A Streamlit page script (``st.Page`` runs it as ``__main__``) whose pieces are importable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.config import Settings
from eval import charts
from eval.recommendation import recommend
from eval.results import META, RESULTS, RETRIEVAL, read_results
from eval.summary import summarize
from ui.feedback import feedback_path, load_feedback
from ui.state import app_settings

REPORT_FILE = "report.html"
WORST_SHOWN = 20
# The columns of summary STATS shown per mode, with how to show them.
STAT_COLUMNS = {
    "n": "questions", "accuracy": "exactitude", "fact_coverage": "faits couverts", "token_f1": "F1 mots",
    "refusal_accuracy": "refus corrects", "recall_at_k": "recall@k", "latency_p50_ms": "latence p50 (ms)",
    "latency_p95_ms": "latence p95 (ms)", "tokens_per_s": "tokens/s", "errors": "erreurs",
}
PERCENT_COLUMNS = ("exactitude", "faits couverts", "F1 mots", "refus corrects", "recall@k")


def find_evaluations(settings: Settings) -> list[Path]:
    """Evaluation folders under ``<workdir>/eval`` and ``<workdir>/reports``, newest results first."""
    roots = [settings.workdir / "eval", settings.reports_dir]
    found = {p.parent for root in roots if root.is_dir() for p in root.rglob(RESULTS) if p.is_file()}
    return sorted(found, key=lambda d: (d / RESULTS).stat().st_mtime, reverse=True)


def latest_report(settings: Settings) -> Path | None:
    """The newest ``report.html`` that ``dyag compare`` (or ``dyag demo``) wrote."""
    if not settings.reports_dir.is_dir():
        return None
    reports = [p for p in settings.reports_dir.rglob(REPORT_FILE) if p.is_file()]
    return max(reports, key=lambda p: p.stat().st_mtime) if reports else None


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


@st.cache_data(show_spinner=False, max_entries=8)
def load_evaluation(folder: str, _mtime: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The result rows and their summary, recomputed from ``results.jsonl`` (``_mtime``: cache key):
    a resumed evaluation appends results after its ``summary.json`` was written."""
    path = Path(folder)
    rows = read_results(path / RESULTS)
    return rows, summarize(rows, _read_json(path / META), _read_json(path / RETRIEVAL))


def mode_table(summary: dict[str, Any]) -> pd.DataFrame:
    table = pd.DataFrame.from_dict(summary["by_mode"], orient="index")
    # float: metrics without a value (None) become NaN, shown as "–".
    return table.reindex(columns=list(STAT_COLUMNS)).rename(columns=STAT_COLUMNS).astype(float)


def category_table(summary: dict[str, Any], metric: str = "accuracy") -> pd.DataFrame:
    """``metric`` per category (rows) and mode (columns); empty where a mode was not asked a category."""
    return pd.DataFrame(
        {mode: {category: stats.get(metric) for category, stats in per.items()} for mode, per in summary["by_mode_category"].items()}
    ).reindex(columns=summary["modes"]).sort_index()


def worst_errors(rows: list[dict[str, Any]], modes: list[str] | None = None, limit: int = WORST_SHOWN) -> pd.DataFrame:
    """Wrong answers, worst first: crashes, then the fewest expected facts found, then the least word overlap."""
    wrong = [r for r in rows if not r["scores"].get("correct") and (not modes or r["mode"] in modes)]
    wrong.sort(key=lambda r: (not r.get("error"), r["scores"].get("fact_coverage") or 0.0, r["scores"].get("token_f1") or 0.0))
    return pd.DataFrame(
        [
            {
                "mode": r["mode"], "catégorie": r["category"], "question": r["question"], "attendu": r["expected"],
                "réponse": r.get("error") or r["answer"], "faits couverts": r["scores"].get("fact_coverage"),
            }
            for r in wrong[:limit]
        ],
        columns=["mode", "catégorie", "question", "attendu", "réponse", "faits couverts"],
    )


@st.cache_data(show_spinner=False, max_entries=8)
def chart_images(folder: str, _mtime: float) -> dict[str, bytes]:
    """The report's four charts for this evaluation (the same functions as ``dyag compare``)."""
    rows, summary = load_evaluation(folder, _mtime)
    modes = summary["modes"]
    by_mode = summary["by_mode"]
    accuracy = [by_mode[m]["accuracy"] or 0.0 for m in modes]
    coverage = [by_mode[m]["fact_coverage"] or 0.0 for m in modes]
    categories = sorted({c for m in modes for c in summary["by_mode_category"].get(m, {})})
    matrix = [[(summary["by_mode_category"][m].get(c) or {}).get("accuracy") for c in categories] for m in modes]
    latencies = [[r["latency_ms"] for r in rows if r["mode"] == m and not r.get("error")] for m in modes]
    return {
        "Exactitude par mode": charts.accuracy_by_mode(modes, accuracy, coverage),
        "Exactitude par catégorie": charts.accuracy_by_category(modes, categories, matrix),
        "Latence par mode": charts.latency_distribution(modes, latencies),
        "Exactitude et latence": charts.accuracy_vs_latency(modes, accuracy, [by_mode[m]["latency_p50_ms"] or 0.0 for m in modes]),
    }


def _percent(frame: pd.DataFrame, columns: tuple[str, ...] | None = None) -> Any:
    """Shares shown as percentages (the tables keep their 0–1 values for sorting and tests)."""
    chosen = [c for c in (columns or tuple(frame.columns)) if c in frame.columns]
    return frame.style.format(lambda v: "–" if pd.isna(v) else f"{100 * v:.1f} %", subset=chosen).format(
        lambda v: "–" if pd.isna(v) else f"{v:.0f}", subset=[c for c in frame.columns if c not in chosen]
    )


def _render_recommendation(summary: dict[str, Any]) -> None:
    advice = recommend(summary)
    (st.info if advice.decision == "insufficient" else st.success)(advice.headline)
    if advice.evidence or advice.caveats:
        st.markdown("\n".join([*(f"- {line}" for line in advice.evidence), *(f"- ⚠ {line}" for line in advice.caveats)]))
    for mode, reason in summary.get("skipped_modes", {}).items():
        st.warning(f"Mode {mode} non évalué : {reason}")


def _render_feedback(workdir: Path) -> None:
    st.header("Avis du personnel")
    rows = load_feedback(workdir)
    if not rows:
        st.caption("Aucun avis pour l'instant (pouces sous les réponses de la page Chat).")
        return
    down = [r for r in rows if r.rating == "down"]
    st.caption(
        f"{len(rows)} avis · {len(rows) - len(down)} 👍 · {len(down)} 👎 — `{feedback_path(workdir)}`, "
        "au format des questions d'évaluation : les avis qui ont une réponse attendue (👍, ou 👎 corrigé) servent de questions."
    )
    if down:
        st.dataframe(
            pd.DataFrame([{"question": r.question, "réponse": r.answer, "mode": r.mode_used, "commentaire": r.comment, "attendu": r.expected_answer or ""} for r in down]),
            hide_index=True,
        )


def no_evaluation_message(settings: Settings) -> str:
    work = settings.workdir
    return (
        f"Aucune évaluation dans `{work / 'eval'}` ni dans `{settings.reports_dir}`. Pour tout enchaîner sur le catalogue "
        f"d'exemple (index, données, entraînement, évaluation, rapport) :\n\n```\ndyag demo --workdir {work}\n```\n\n"
        f"ou, sur vos propres questions :\n\n```\ndyag evaluate QUESTIONS.jsonl --out {work / 'eval' / 'NOM'} --workdir {work}\n"
        f"dyag compare {work / 'eval' / 'NOM'} --out {settings.reports_dir / 'NOM'}\n```"
    )


def render() -> None:
    settings = app_settings()
    st.title("Évaluation : RAG, fine-tuning ou les deux ?")
    evaluations = find_evaluations(settings)
    if not evaluations:
        st.info(no_evaluation_message(settings))
        _render_feedback(settings.workdir)
        return
    folder = st.selectbox("Évaluation", evaluations, format_func=lambda p: str(p.relative_to(settings.workdir)), key="eval_folder")
    mtime = (folder / RESULTS).stat().st_mtime
    rows, summary = load_evaluation(str(folder), mtime)
    if not rows:
        st.warning(f"`{folder / RESULTS}` ne contient aucun résultat.")
        return
    report = latest_report(settings)
    if report is not None:
        st.download_button(f"Télécharger le dernier rapport ({report.parent.name}/{REPORT_FILE})", report.read_bytes(), report.name, "text/html")

    _render_recommendation(summary)
    st.header("Scores par mode")
    st.dataframe(_percent(mode_table(summary), PERCENT_COLUMNS))
    images = chart_images(str(folder), mtime)
    for left, right in zip(list(images)[::2], list(images)[1::2]):
        columns = st.columns(2)
        columns[0].image(images[left], caption=left)
        columns[1].image(images[right], caption=right)

    st.header("Par catégorie")
    st.dataframe(_percent(category_table(summary)))
    categories = sorted({c for per in summary["by_mode_category"].values() for c in per})
    category = st.selectbox("Détail d'une catégorie", categories, key="eval_category")
    st.dataframe(_percent(mode_table({"by_mode": {m: per[category] for m, per in summary["by_mode_category"].items() if category in per}}), PERCENT_COLUMNS))
    st.dataframe(
        pd.DataFrame(
            [{"mode": r["mode"], "juste": bool(r["scores"].get("correct")), "question": r["question"], "attendu": r["expected"], "réponse": r.get("error") or r["answer"]}
             for r in rows if r["category"] == category]
        ),
        hide_index=True,
    )

    st.header("Pires erreurs")
    only = st.multiselect("Modes", summary["modes"], key="eval_worst_modes", placeholder="Tous les modes")
    st.dataframe(worst_errors(rows, only), hide_index=True)
    _render_feedback(settings.workdir)


if __name__ == "__main__":
    render()
