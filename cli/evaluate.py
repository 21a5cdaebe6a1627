"""``dyag evaluate``, ``dyag compare`` and ``dyag demo``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Callable

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from cli.console import console
from cli.options import (
    BackendOption,
    ConfigOption,
    RunOption,
    WorkdirOption,
    query_settings,
    settings_from,
)
from core.choices import MODE_NAMES, get_mode, parse_modes
from finetune.runs import Run

ALL_MODES = ",".join(MODE_NAMES)


def _progress_bar() -> tuple[Progress, Callable[[int], Callable[[int, int, str], None]]]:
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), console=console,
    )

    def factory(total: int) -> Callable[[int, int, str], None]:
        task = progress.add_task("evaluating", total=total)
        resumed = {"at": None}

        def update(done: int, total: int, mode: str) -> None:
            if resumed["at"] is None:
                resumed["at"] = done  # answers found on disk do not count in the ETA
                progress.reset(task, total=total - done)
            progress.update(task, completed=done - resumed["at"], description=f"evaluating [cyan]{mode}[/]")

        return update

    return progress, factory


def _mode_table(summary: dict[str, Any], title: str) -> Table:
    table = Table(title=title)
    for column in ("mode", "n", "accuracy", "fact cov.", "token F1", "refusal acc.", "recall@k", "p50", "p95", "tok/s"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    from eval.report import fmt

    for mode in summary["modes"]:
        s = summary["by_mode"][mode]
        table.add_row(
            mode, str(s["n"]), fmt(s["accuracy"], "pct"), fmt(s["fact_coverage"], "pct"), fmt(s["token_f1"], "pct"),
            fmt(s["refusal_accuracy"], "pct"), fmt(s["recall_at_k"], "pct"), fmt(s["latency_p50_ms"], "ms"),
            fmt(s["latency_p95_ms"], "ms"), fmt(s["tokens_per_s"], "num"),
        )
    return table


def evaluate(
    questions: Annotated[list[Path], typer.Argument(help="Question sets (JSONL): eval {question, expected_answer, …}, prompt/completion, chat messages, Alpaca.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Results folder (results.jsonl, summary.json). Re-run to resume.")],
    modes: Annotated[str, typer.Option("--modes", help=f"Comma-separated modes among {ALL_MODES}.")] = "auto,rag,finetuned,hybrid",
    run: RunOption = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many questions per set, balanced over categories.")] = None,
    max_new_tokens: Annotated[int | None, typer.Option("--max-new-tokens", min=1, help="Generation budget per answer.")] = None,
    k: Annotated[int, typer.Option("--k", min=1, help="k of recall@k.")] = 5,
    judge: Annotated[bool, typer.Option("--judge", help="Also score with an LLM judge: the configured backend's base model (off by default).")] = False,
    no_semantic: Annotated[bool, typer.Option("--no-semantic", help="Skip the embedding-based semantic similarity.")] = False,
    backend: BackendOption = None,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """Ask every question in every mode; write DIR/results.jsonl (resumable) and DIR/summary.json."""
    from assistant.answering import Assistant
    from core.sampling import balanced_subset
    from eval.questions import load_questions
    from eval.runner import evaluate as run_evaluation
    from eval.summary import write_summary

    chosen = parse_modes(modes)
    settings = query_settings(config, workdir=workdir, max_new_tokens=max_new_tokens, backend=backend)
    if run is not None:
        settings = settings.model_copy(update={"run": Run.find(run, settings.runs_dir).path.resolve()})
    sets: dict[str, Path] = {}
    loaded = []
    for path in questions:
        name = path.name.removesuffix(".jsonl").removesuffix(".json").removesuffix(".eval")
        if name in sets:
            name = f"{name}-{len(sets)}"
        sets[name] = path
        items = load_questions(path, name)
        if limit:
            items = balanced_subset(items, limit)
        loaded.extend(items)
    assistant = Assistant(settings)
    judge_model = assistant.chat_model(finetuned=False) if judge else None
    progress, factory = _progress_bar()
    with progress:
        outcome = run_evaluation(
            loaded, assistant, chosen, out, sources=sets, embedder=None if no_semantic else assistant.retriever.embedder,
            judge_model=judge_model, k=k, progress=factory(len(loaded) * len(chosen)),
        )
    summary = write_summary(out)
    if settings.run is not None:
        _record_on_run(Run(settings.run), summary)
    for mode, reason in outcome.skipped_modes.items():
        console.print(f"[yellow]Mode {mode} skipped:[/] {reason}")
    console.print(_mode_table(summary, f"{len(loaded)} questions — {outcome.answered} answered now, {outcome.already_done} resumed"))
    console.print(f"Results: {out / 'results.jsonl'}\nSummary: {out / 'summary.json'}\nReport: [bold]dyag compare {out} --out {out / 'report'}[/]")


def _record_on_run(run: Run, summary: dict[str, Any]) -> None:
    """Flat scores in the run's eval_scores.json, which `dyag runs` shows beside the losses."""
    scores = {f"{mode}_accuracy": s["accuracy"] for mode, s in summary["by_mode"].items() if get_mode(mode).finetuned}
    if scores and run.path.is_dir():
        run.eval_scores_path.write_text(json.dumps({**run.eval_scores(), **scores}, indent=2), encoding="utf-8")


def compare(
    dirs: Annotated[list[Path], typer.Argument(help="Evaluation folders written by `dyag evaluate` (one or more).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder: report.md, report.html, charts/.")],
) -> None:
    """Compare evaluations: Markdown + self-contained HTML report with charts and a recommendation."""
    from eval.report import write_report

    with console.status("Writing the report…"):
        paths = write_report(dirs, out)
    for e in paths.evaluated:
        console.print(_mode_table(e.summary, str(e.path)))
    if paths.recommendation:
        console.print(f"[bold]{paths.recommendation.headline}[/]")
        for line in paths.recommendation.evidence:
            console.print(f"  • {line}", highlight=False)
    console.print(f"Report: {paths.html} (and {paths.markdown})")


def demo(
    catalog: Annotated[Path | None, typer.Option("--catalog", help="Catalog to run the demo on. Default: examples/catalog.json.")] = None,
    test_questions: Annotated[int, typer.Option("--test-questions", min=1, help="Held-out test questions evaluated (balanced over categories; 120 = all of examples/questions/test.jsonl).")] = 60,
    natural_questions: Annotated[int, typer.Option("--natural-questions", min=0, help="Questions of examples/questions/natural_holdout.jsonl (written by other people; balanced over how they are phrased) evaluated with the example catalog. 0: none.")] = 40,
    modes: Annotated[str, typer.Option("--modes", help="Modes to evaluate.")] = ALL_MODES,
    skip_finetune: Annotated[bool, typer.Option("--skip-finetune", help="No fine-tuning/export: evaluate auto, rag and base only.")] = False,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """The end-to-end demo: ingest → datasets → fine-tune (CPU quick) → GGUF → evaluate all modes → report."""
    from eval.demo import EDGE_CASES, EXAMPLE_CATALOG, NATURAL_HOLDOUT, Demo, DemoOptions

    settings = settings_from(config, workdir=workdir)
    chosen = tuple(parse_modes(modes))
    if skip_finetune:
        chosen = tuple(m for m in chosen if not get_mode(m).finetuned)
    catalog = catalog or EXAMPLE_CATALOG
    # The hand-written sets are about the example catalog's applications.
    example = catalog.resolve() == EXAMPLE_CATALOG.resolve()
    options = DemoOptions(
        catalog=catalog, edge_cases=EDGE_CASES if example else None, natural=NATURAL_HOLDOUT if example else None,
        test_questions=test_questions, natural_questions=natural_questions, modes=chosen, skip_finetune=skip_finetune,
    )
    icons = {"start": "[bold blue]▶[/]", "done": "[bold green]✓[/]", "skipped": "[dim]↷[/]", "failed": "[bold red]✗[/]"}

    def step(name: str, status: str, detail: str) -> None:
        suffix = " [dim](up to date)[/]" if status == "skipped" else ""
        console.print(f"{icons[status]} [bold]{name}[/] — {detail}{suffix}", highlight=False)

    progress, factory = _progress_bar()

    def eval_progress(total: int) -> Callable[[int, int, str], None]:
        progress.start()
        return factory(total)

    console.rule(f"Dyag demo on {catalog} (workdir {settings.workdir})")
    try:
        result = Demo(settings, options, step, eval_progress).run()
    finally:
        progress.stop()
    console.rule("Result")
    console.print(_mode_table(result.summary, "Accuracy and latency per mode"))
    if result.recommendation:
        console.print(f"[bold]{result.recommendation.headline}[/]")
        for line in result.recommendation.evidence:
            console.print(f"  • {line}", highlight=False)
    for note in result.notes:
        console.print(f"[yellow]Note:[/] {note}")
    durations = ", ".join(f"{k} {v:.0f} s" for k, v in result.timings.items())
    console.print(f"Durations: {durations}")
    console.print(f"Report: [bold]{result.report_html}[/] (Markdown: {result.report_md})")
