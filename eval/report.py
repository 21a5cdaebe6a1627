"""``dyag compare``: one report from one or more evaluation folders, as Markdown and as HTML.

``REPORT/report.md`` (charts as PNG files in ``REPORT/charts/``) and ``REPORT/report.html``, a
single self-contained page (CSS inline, charts as base64 ``data:`` images) that can be mailed or
opened offline. Both are rendered from the same list of blocks, so they always say the same
thing. Sections: the recommendation and its evidence, the scores per mode, the four charts,
accuracy per category / difficulty / question set, the retriever alone, the cost side (training
time, model size, latency), what each approach gets right and wrong with examples, and the
decision table with the row that applied.

Modes from several folders are labelled ``mode`` when the name is unique, else ``folder:mode``.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.choices import get_mode
from eval import charts
from eval.recommendation import DECISION_TABLE, LABELS, Recommendation, recommend
from eval.results import META, RESULTS, RETRIEVAL, NoResultsError, read_results
from eval.summary import summarize, write_summary

MAX_EXAMPLES = 3
_STAT_COLUMNS = (
    ("n", "n", "int"), ("accuracy", "accuracy", "pct"), ("fact_coverage", "fact cov.", "pct"), ("token_f1", "token F1", "pct"),
    ("rouge_l", "ROUGE-L", "pct"), ("semantic", "semantic", "num"), ("refusal_accuracy", "refusal acc.", "pct"),
    ("recall_at_k", "recall@k", "pct"), ("mrr", "MRR", "num"), ("latency_p50_ms", "p50", "ms"), ("latency_p95_ms", "p95", "ms"),
    ("tokens_per_s", "tok/s", "num"), ("errors", "errors", "int"),
)


@dataclass
class Block:
    kind: str  # h1 | h2 | h3 | p | ul | table | img | quote
    text: str = ""
    items: list[str] | None = None
    header: list[str] | None = None
    rows: list[list[str]] | None = None
    png: bytes | None = None
    name: str = ""


@dataclass
class Evaluated:
    """One evaluation folder: its summary, its result rows and the label prefix of its modes."""

    path: Path
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    prefix: str = ""

    def label(self, mode: str) -> str:
        return f"{self.prefix}{mode}"


def fmt(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "pct":
        return f"{100 * value:.1f} %"
    if kind == "ms":
        return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"
    if kind == "num":
        return f"{value:.2f}" if isinstance(value, float) else str(value)
    return str(value)


def common_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the questions answered in every mode: an unfinished evaluation compares its
    modes on the same questions only."""
    modes = {r["mode"] for r in rows}
    per_question: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        per_question.setdefault((r.get("set", ""), r["id"]), set()).add(r["mode"])
    return [r for r in rows if per_question[(r.get("set", ""), r["id"])] == modes]


def load_evaluations(dirs: list[Path]) -> list[Evaluated]:
    """Summaries (re)computed from each folder's results; label prefixes only where modes collide.

    When some questions lack some modes (an evaluation still running or interrupted), the report
    uses only the questions answered in every mode and says how many were left out.
    """
    evaluated = []
    for d in dirs:
        if not (d / RESULTS).is_file():
            raise NoResultsError(f"{d} holds no {RESULTS}; run `dyag evaluate ... --out {d}` first.")
        summary = write_summary(d)
        rows = read_results(d / RESULTS)
        common = common_rows(rows)
        if len(common) < len(rows):
            meta = json.loads((d / META).read_text(encoding="utf-8")) if (d / META).is_file() else {}
            retrieval = json.loads((d / RETRIEVAL).read_text(encoding="utf-8")) if (d / RETRIEVAL).is_file() else {}
            summary = {**summarize(common, meta, retrieval), "dir": str(d), "incomplete": len(rows) - len(common)}
            rows = common
        evaluated.append(Evaluated(d, summary, rows))
    all_modes = [m for e in evaluated for m in e.summary["modes"]]
    if len(all_modes) != len(set(all_modes)):
        for e in evaluated:
            e.prefix = f"{e.path.name}:"
    return evaluated


def _mode_table(evaluated: list[Evaluated]) -> Block:
    rows = []
    for e in evaluated:
        for mode in e.summary["modes"]:
            s = e.summary["by_mode"][mode]
            rows.append([e.label(mode), *(fmt(s.get(key), kind) for key, _, kind in _STAT_COLUMNS)])
    return Block("table", header=["mode", *(title for _, title, _ in _STAT_COLUMNS)], rows=rows)


def _group_table(evaluated: list[Evaluated], key: str, metric: str = "accuracy") -> Block:
    labels = [(e, m) for e in evaluated for m in e.summary["modes"]]
    groups = sorted({g for e, m in labels for g in e.summary[key].get(m, {})})
    rows = []
    for group in groups:
        cells = []
        for e, m in labels:
            s = e.summary[key].get(m, {}).get(group)
            cells.append(f"{fmt(s.get(metric), 'pct')} ({s['n']})" if s else "–")
        rows.append([group, *cells])
    return Block("table", header=[key.removeprefix("by_mode_"), *(e.label(m) for e, m in labels)], rows=rows)


def _charts(evaluated: list[Evaluated]) -> list[Block]:
    labels, acc, cov, p50, lat = [], [], [], [], []
    for e in evaluated:
        for mode in e.summary["modes"]:
            s = e.summary["by_mode"][mode]
            labels.append(e.label(mode))
            acc.append(s["accuracy"] or 0.0)
            cov.append(s["fact_coverage"] or 0.0)
            p50.append(s["latency_p50_ms"] or 0.0)
            lat.append([r["latency_ms"] for r in e.rows if r["mode"] == mode and not r.get("error")])
    categories = sorted({c for e in evaluated for m in e.summary["modes"] for c in e.summary["by_mode_category"].get(m, {})})
    matrix = [
        [(e.summary["by_mode_category"].get(m, {}).get(c) or {}).get("accuracy") for c in categories]
        for e in evaluated for m in e.summary["modes"]
    ]
    return [
        Block("img", name="accuracy_by_mode", text="Accuracy by mode", png=charts.accuracy_by_mode(labels, acc, cov)),
        Block("img", name="accuracy_by_category", text="Accuracy by category", png=charts.accuracy_by_category(labels, categories, matrix)),
        Block("img", name="latency_distribution", text="Latency distribution", png=charts.latency_distribution(labels, lat)),
        Block("img", name="accuracy_vs_latency", text="Accuracy vs latency", png=charts.accuracy_vs_latency(labels, acc, p50)),
    ]


def _short(text: str, limit: int = 220) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _examples(evaluated: list[Evaluated]) -> list[Block]:
    """Per mode: how many questions only it answered right, and examples of its errors."""
    blocks: list[Block] = []
    for e in evaluated:
        modes = e.summary["modes"]
        right: dict[tuple[str, str], set[str]] = {}
        for r in e.rows:
            if r["scores"].get("correct"):
                right.setdefault((r["set"], r["id"]), set()).add(r["mode"])
        for mode in modes:
            rows = [r for r in e.rows if r["mode"] == mode]
            wrong = [r for r in rows if not r["scores"].get("correct")]
            only = sum(1 for modes_right in right.values() if modes_right == {mode})
            blocks.append(Block("h3", f"{e.label(mode)} — {len(rows) - len(wrong)} right, {len(wrong)} wrong, {only} right in no other mode"))
            # Errors from different categories first: the reader sees kinds of failure, not one kind three times.
            seen: set[str] = set()
            picked = []
            for r in wrong:
                if r["category"] not in seen:
                    seen.add(r["category"])
                    picked.append(r)
                if len(picked) == MAX_EXAMPLES:
                    break
            if picked:
                blocks.append(Block("table", header=["category", "question", "expected", "answer"], rows=[
                    [r["category"], _short(r["question"], 120), _short(r["expected"], 140), _short(r.get("error") or r["answer"] or "(empty)")]
                    for r in picked
                ]))
    return blocks


def _cost(evaluated: list[Evaluated]) -> Block:
    rows = []
    for e in evaluated:
        cost = e.summary.get("cost") or {}
        for mode in e.summary["modes"]:
            s = e.summary["by_mode"][mode]
            spec = get_mode(mode)
            uses_run = spec.finetuned or (spec.routed and cost)
            rows.append([
                e.label(mode),
                f"{cost['training_time_s']:.0f} s" if uses_run and cost.get("training_time_s") else "none",
                f"{cost['gguf_mb']} MB GGUF" if uses_run and cost.get("gguf_mb") else "base model",
                fmt(s["latency_p50_ms"], "ms"), fmt(s["latency_p95_ms"], "ms"), fmt(s["tokens_per_s"], "num"),
            ])
    return Block("table", header=["mode", "training time", "model", "latency p50", "latency p95", "tokens/s"], rows=rows)


def _run_details(evaluated: list[Evaluated]) -> list[Block]:
    items = []
    for e in evaluated:
        cost = e.summary.get("cost") or {}
        if cost.get("run"):
            items.append(
                f"{e.prefix}run {cost['run']}: base {cost.get('base_model')}, {cost.get('training_steps')} steps on "
                f"{cost.get('training_examples')} examples ({cost.get('device')}), adapter {cost.get('adapter_mb')} MB, GGUF {cost.get('gguf_mb')} MB."
            )
    return [Block("ul", items=items)] if items else []


def _retrieval(evaluated: list[Evaluated]) -> list[Block]:
    rows = []
    for e in evaluated:
        for set_name, per_mode in (e.summary.get("retrieval") or {}).items():
            for mode, s in per_mode.items():
                rows.append([f"{e.prefix}{set_name}", mode, str(s["questions"]), fmt(s["recall_at_1"], "pct"), fmt(s["recall_at_k"], "pct"), fmt(s["mrr"], "num"), fmt(s["median_ms"], "ms")])
    if not rows:
        return []
    return [
        Block("h2", "Retrieval alone"),
        Block("p", "The retriever on each set's single-application questions, entity linking off (assistant.retrieval_eval): "
                   "is the expected application among the first k retrieved?"),
        Block("table", header=["set", "retriever", "questions", "recall@1", "recall@k", "MRR", "median"], rows=rows),
    ]


def _recommendation_blocks(evaluated: list[Evaluated]) -> tuple[list[Block], Recommendation | None]:
    blocks: list[Block] = [Block("h2", "Recommendation: RAG, fine-tuning, or both?")]
    primary: Recommendation | None = None
    for e in evaluated:
        rec = recommend(e.summary)
        primary = primary or (rec if rec.decision != "insufficient" else None)
        prefix = f"{e.path.name}: " if len(evaluated) > 1 else ""
        blocks.append(Block("quote", prefix + rec.headline))
        if rec.evidence:
            blocks.append(Block("p", "Evidence:"))
            blocks.append(Block("ul", items=rec.evidence))
        if rec.caveats:
            blocks.append(Block("p", "Caveats:"))
            blocks.append(Block("ul", items=rec.caveats))
        if rec.fired_rule:
            blocks.append(Block("table", header=["row", "condition", "decision", "applied"], rows=[
                [str(i), cond, LABELS[dec], "**yes**" if i == rec.fired_rule else ""] for i, (cond, dec) in enumerate(DECISION_TABLE, 1)
            ]))
    return blocks, primary


CLOSED_BOOK_NOTE = (
    "A fine-tuned model answering closed book (mode finetuned) can only state what its weights hold. "
    "A LoRA run of minutes sees each catalog fact a few times at most, and the demo's run never sees the "
    "facts it is tested on (finetune/raft.py leaves them out), so its right answers come from the question "
    "itself or from chance. The literature finds the same at every scale: fine-tuning injects new facts "
    "slowly and unreliably, and retrieval beats it for knowledge (Ovadia et al., 2024, \"Fine-Tuning or "
    "Retrieval? Comparing Knowledge Injection in LLMs\"); facts new to the model are learned much later "
    "than the answer format, and learning them raises hallucination (Gekhman et al., 2024, \"Does "
    "Fine-Tuning LLMs on New Knowledge Encourage Hallucinations?\"). What a short fine-tune can teach is "
    "the answer style and how to read a context (RAFT: Zhang et al., 2024): that is what hybrid measures."
)


def _paired_table(evaluated: list[Evaluated]) -> list[Block]:
    rows = [
        [f"{e.prefix}{name.replace('-', ' − ')}", str(p["n"]), f"{100 * p['difference']:+.1f}", f"± {100 * p['half_width']:.1f}", str(p["a_only"]), str(p["b_only"])]
        for e in evaluated for name, p in (e.summary.get("paired") or {}).items()
    ]
    if not rows:
        return []
    return [
        Block("h2", "Paired comparisons"),
        Block("p", "Both modes on the same questions: the gap in accuracy points, its 95 % noise band (McNemar, from the "
                   "questions only one of the two got right), and those counts. A gap inside its band is not a difference."),
        Block("table", header=["A − B", "questions", "gap (points)", "95 % band", "right only in A", "right only in B"], rows=rows),
    ]


def build_blocks(evaluated: list[Evaluated]) -> tuple[list[Block], Recommendation | None]:
    rec_blocks, primary = _recommendation_blocks(evaluated)
    questions = ", ".join(f"{name} ({n})" for e in evaluated for name, n in e.summary["questions"].items())
    settings = evaluated[0].summary.get("settings", {})
    skipped = {f"{e.prefix}{m}": r for e in evaluated for m, r in e.summary.get("skipped_modes", {}).items()}
    blocks = [
        Block("h1", "Dyag evaluation: RAG, fine-tuning, or both?"),
        Block("p", f"Generated {time.strftime('%Y-%m-%d %H:%M')} from {', '.join(str(e.path) for e in evaluated)}. "
                   f"Questions: {questions}. Generator: {settings.get('backend')} / {settings.get('generator_model')}, "
                   f"fine-tuning run: {settings.get('run') or 'none'}, max {settings.get('max_new_tokens')} new tokens, "
                   f"context {settings.get('context_tokens')} tokens, embeddings {settings.get('embedding_model')}."),
    ]
    if skipped:
        blocks.append(Block("ul", items=[f"Mode {m} was not evaluated: {r}" for m, r in skipped.items()]))
    for e in evaluated:
        if e.summary.get("incomplete"):
            blocks.append(Block("p", f"**Unfinished evaluation** in {e.path}: {e.summary['incomplete']} answers to questions not yet asked in "
                                     "every mode are left out, so that all modes are compared on the same questions. Run the evaluation again to finish it."))
    blocks += rec_blocks
    blocks += [
        Block("h2", "Scores by mode"),
        Block("p", "accuracy = every expected fact present (emails, URLs, dates, ids verbatim) or a correct refusal; "
                   "fact cov. = share of expected facts present; refusal acc. = abstained exactly when it should; "
                   "recall@k/MRR = expected application among the answer's sources. Definitions: eval/metrics.py."),
        _mode_table(evaluated),
        *_paired_table(evaluated),
        *_charts(evaluated),
        Block("h2", "Accuracy by category"), _group_table(evaluated, "by_mode_category"),
        Block("h2", "Accuracy by difficulty"), _group_table(evaluated, "by_mode_difficulty"),
        Block("h2", "Accuracy by question set"), _group_table(evaluated, "by_mode_set"),
        *_retrieval(evaluated),
        Block("h2", "Cost"),
        Block("p", "Training time and model size of the fine-tuning run (modes that use it), and the latency each answer costs."),
        _cost(evaluated),
        *_run_details(evaluated),
        *([Block("h2", "Why fine-tuning alone does not know the facts"), Block("p", CLOSED_BOOK_NOTE)]
          if any("finetuned" in e.summary["modes"] for e in evaluated) else []),
        Block("h2", "What each approach gets right and wrong"),
        *_examples(evaluated),
    ]
    return blocks, primary


# ---------------------------------------------------------------- rendering


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks: list[Block], chart_dir: str = "charts") -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out.append(f"{'#' * int(b.kind[1])} {b.text}\n")
        elif b.kind == "p":
            out.append(b.text + "\n")
        elif b.kind == "quote":
            out.append(f"> **{b.text}**\n")
        elif b.kind == "ul":
            out.append("\n".join(f"- {item}" for item in b.items or []) + "\n")
        elif b.kind == "table":
            header = b.header or []
            lines = ["| " + " | ".join(map(_md_cell, header)) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in b.rows or []]
            out.append("\n".join(lines) + "\n")
        elif b.kind == "img":
            out.append(f"![{b.text}]({chart_dir}/{b.name}.png)\n")
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:2rem auto;padding:0 1rem;color:#111827}
h1{font-size:1.7rem}h2{margin-top:2.2rem;border-bottom:1px solid #e5e7eb;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.85rem}th,td{border:1px solid #d1d5db;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f4f6}blockquote{background:#eff6ff;border-left:4px solid #2563eb;margin:1rem 0;padding:.6rem 1rem;font-size:1.1rem}
figure{margin:1rem 0}img{max-width:100%;border:1px solid #e5e7eb}figcaption{color:#6b7280;font-size:.8rem}
"""


def _inline(text: str) -> str:
    """HTML-escape, keeping the two Markdown marks the blocks use (``code`` and **bold**)."""
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def render_html(blocks: list[Block]) -> str:
    body: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            body.append(f"<{b.kind}>{_inline(b.text)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "quote":
            body.append(f"<blockquote><strong>{_inline(b.text)}</strong></blockquote>")
        elif b.kind == "ul":
            body.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items or []) + "</ul>")
        elif b.kind == "table":
            head = "".join(f"<th>{_inline(h)}</th>" for h in b.header or [])
            rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in b.rows or [])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif b.kind == "img" and b.png:
            data = base64.b64encode(b.png).decode("ascii")
            body.append(f'<figure><img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(b.text)}</figcaption></figure>')
    return f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Dyag evaluation report</title><style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"


@dataclass
class ReportPaths:
    markdown: Path
    html: Path
    recommendation: Recommendation | None
    evaluated: list[Evaluated]


def write_report(dirs: list[Path], out: Path) -> ReportPaths:
    """Write ``out/report.md`` (+ ``out/charts/*.png``), ``out/report.html`` and ``out/recommendation.json``."""
    evaluated = load_evaluations(dirs)
    blocks, primary = build_blocks(evaluated)
    out.mkdir(parents=True, exist_ok=True)
    chart_dir = out / "charts"
    chart_dir.mkdir(exist_ok=True)
    for b in blocks:
        if b.kind == "img" and b.png:
            (chart_dir / f"{b.name}.png").write_bytes(b.png)
    md, page = out / "report.md", out / "report.html"
    md.write_text(render_markdown(blocks), encoding="utf-8")
    page.write_text(render_html(blocks), encoding="utf-8")
    (out / "recommendation.json").write_text(json.dumps(primary.to_dict() if primary else None, ensure_ascii=False, indent=2), encoding="utf-8")
    return ReportPaths(md, page, primary, evaluated)
