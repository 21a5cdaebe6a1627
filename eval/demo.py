"""``dyag demo``: the whole product on a catalog in one command, each step skipped when up to date.

Steps (outputs under ``--workdir``, default ``.dyag``):

1. **ingest** the catalog → ``index/`` (skipped when the live index was built from the same catalog
   bytes with the same embedding model);
2. **datasets**: ``dyag generate-training --seed 0`` → ``datasets/`` (skipped when its manifest
   names the same catalog hash and seed);
3. **fine-tune** the packaged Qwen2.5-Coder-0.5B-Instruct with LoRA, CPU quick profile
   (40 steps of batch 4, :func:`finetune.train.apply_quick_profile`), on the RAFT subset of the training split
   (:mod:`finetune.raft`: question + catalog facts → the verbatim answer, most facts shaped as the
   assistant gives them for a named application, a tenth without the right record → the refusal;
   no row about an evaluated question or its answer)
   → ``runs/demo-qwen2.5-coder-0.5b-quick/`` (skipped when a completed run exists for exactly
   that subset; an interrupted one is resumed);
4. **export** the run to GGUF q8_0 and q4_K_M for llama.cpp (skipped when the GGUF is newer than
   the adapter); the q4_K_M, the quantisation of the packaged base model, is the one evaluated;
5. **evaluate**, in every mode, a category-balanced sample of the held-out test split (for the
   example catalog, the first rounds of ``examples/questions/test.jsonl``, the 120-question
   sample), the hand-written edge cases and a sample of the natural questions written by other
   people (``examples/questions/natural_holdout.jsonl``, balanced over how they are phrased)
   → ``eval/demo/`` (resumable; started afresh when the questions, the run or the generation
   settings change);
6. **report** → ``reports/demo/report.{md,html}``, and print the headline numbers.

If fine-tuning or export fails (or ``--skip-finetune``), the demo goes on without the
``finetuned`` and ``hybrid`` modes and says so in the report. Durations of every step go to
``demo/timings.json``.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from core.config import Settings
from core.errors import DyagError
from core.hashing import file_sha256, text_sha256
from core.sampling import balanced_subset
from eval.questions import load_questions
from examples import CATALOG as EXAMPLE_CATALOG
from examples import EDGE_CASES, NATURAL_HOLDOUT
from finetune.raft import raft_subset
from finetune.registry import DEFAULT_MODEL
from finetune.runs import Run
from finetune.train import QUICK_BATCH, QUICK_STEPS
from ingestion.catalog import load_catalog
from ingestion.dataset_formats import QARow, read_dataset, write_dataset

log = logging.getLogger(__name__)

RUN_NAME = "demo-qwen2.5-coder-0.5b-quick"
BASE_MODEL = DEFAULT_MODEL
# The quick profile (finetune.train.apply_quick_profile) sees exactly one pass over the subset.
TRAIN_EXAMPLES = QUICK_STEPS * QUICK_BATCH
VALID_EXAMPLES = 24
# ~3 per question type: with the 41 edge cases and the natural sample, ~140 questions x 5 modes
# fit the demo's CPU budget.
TEST_QUESTIONS = 60
NATURAL_QUESTIONS = 40
DEMO_MODES = ("auto", "rag", "finetuned", "hybrid", "base")

# step(name, status, detail): status is "start", "done", "skipped" or "failed".
StepReporter = Callable[[str, str, str], None]


@dataclass
class DemoOptions:
    catalog: Path = EXAMPLE_CATALOG
    edge_cases: Path | None = EDGE_CASES
    natural: Path | None = NATURAL_HOLDOUT
    test_questions: int = TEST_QUESTIONS
    natural_questions: int = NATURAL_QUESTIONS
    modes: tuple[str, ...] = DEMO_MODES
    skip_finetune: bool = False
    # Generation budget of the evaluation: a contacts answer with three names and e-mails takes ~80.
    max_new_tokens: int = 96
    context_tokens: int = 500


@dataclass
class DemoResult:
    report_md: Path
    report_html: Path
    eval_dir: Path
    summary: dict[str, Any]
    recommendation: Any
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class DemoError(DyagError):
    """A demo step that cannot go on; the message says which and why."""


def _replace_if_changed(tmp: Path, path: Path) -> Path:
    """Move ``tmp`` onto ``path`` unless the content is identical: the old file keeps its mtime,
    so the steps keyed on it are not redone."""
    if path.is_file() and path.read_bytes() == tmp.read_bytes():
        tmp.unlink()
    else:
        tmp.replace(path)
    return path


def _write_if_changed(rows: list[QARow], path: Path, fmt: str) -> Path:
    """Write the rows in ``fmt``, keeping the old file when identical."""
    tmp = path.with_name(path.name + ".new")
    write_dataset(rows, tmp, fmt)
    return _replace_if_changed(tmp, path)


class Demo:
    """The pipeline; :meth:`run` executes the steps in order."""

    def __init__(self, settings: Settings, options: DemoOptions, report: StepReporter, progress: Any = None) -> None:
        self.settings = settings
        self.options = options
        self.report = report
        self.progress = progress  # eval progress callback factory: total -> callback(done, total, mode)
        self.state_dir = settings.workdir / "demo"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.timings: dict[str, float] = {}
        self.notes: list[str] = []
        self.catalog_sha = file_sha256(options.catalog)

    def _step(self, name: str, up_to_date: bool, detail: str, action: Callable[[], str]) -> bool:
        """Run ``action`` unless ``up_to_date``; returns False if it failed (the error is reported)."""
        if up_to_date:
            self.report(name, "skipped", detail)
            self.timings[name] = 0.0
            return True
        self.report(name, "start", detail)
        started = time.perf_counter()
        try:
            outcome = action()
        except Exception as exc:  # noqa: BLE001 — a failed optional step is reported; the caller decides
            self.timings[name] = round(time.perf_counter() - started, 1)
            self.report(name, "failed", f"{type(exc).__name__}: {exc}")
            log.debug("Step %s failed", name, exc_info=True)
            return False
        self.timings[name] = round(time.perf_counter() - started, 1)
        self.report(name, "done", f"{outcome} ({self.timings[name]:.0f} s)")
        return True

    # ------------------------------------------------------------ 1. ingest

    def ingest_up_to_date(self) -> bool:
        from ingestion.index import live_manifest

        manifest = live_manifest(self.settings.index_dir)
        if manifest is None:
            return False
        return manifest.catalog_sha256 == self.catalog_sha and manifest.embedding_model == self.settings.embedding_model

    def ingest(self) -> str:
        from ingestion.ingest import ingest_catalog

        summary = ingest_catalog(self.options.catalog, self.settings)
        return f"{summary.applications} applications, {summary.chunks} chunks, {summary.embedded} embedded"

    # ------------------------------------------------------------ 2. datasets

    def datasets_up_to_date(self) -> bool:
        from ingestion.datasets import read_manifest

        if not (self.settings.datasets_dir / "test.eval.jsonl").is_file():
            return False
        data = read_manifest(self.settings.datasets_dir)
        return data.get("catalog_sha256") == self.catalog_sha and data.get("seed") == 0

    def datasets(self) -> str:
        from ingestion.datasets import write_datasets
        from ingestion.synthetic import GenerationConfig

        report = load_catalog(
            self.options.catalog, max_field_chars=self.settings.max_field_chars, max_list_items=self.settings.max_list_items
        )
        written = write_datasets(self.options.catalog, report, self.settings.datasets_dir, GenerationConfig(seed=0), ["messages", "eval"])
        manifest = written.manifest
        return f"{manifest['examples']} examples ({', '.join(f'{k} {v}' for k, v in manifest['by_split'].items())})"

    # ------------------------------------------------------------ 3. fine-tune

    def training_files(self, evaluated: dict[str, Path]) -> tuple[Path, Path]:
        """The demo's fine-tuning subset (:func:`finetune.raft.raft_subset`), with nothing about the
        questions in ``evaluated`` (``{set name: file}``) or their answers."""
        datasets = self.settings.datasets_dir
        train_rows, _ = read_dataset(datasets / "train.jsonl")
        valid_rows, _ = read_dataset(datasets / "valid.jsonl")
        questions = [q for name, path in evaluated.items() for q in load_questions(path, name)]
        records = load_catalog(self.options.catalog, max_field_chars=self.settings.max_field_chars, max_list_items=self.settings.max_list_items).records
        subset = raft_subset(train_rows, TRAIN_EXAMPLES, questions, records=records)
        self.notes.append(
            f"fine-tuning subset: {len(subset.rows)} examples ({subset.context_rows} with catalog facts, {subset.linked_rows} of them "
            f"shaped as for a named application, {subset.refusal_rows} refusals); {subset.excluded} training rows left out because they "
            "touch an evaluated question"
        )
        valid = raft_subset(valid_rows, VALID_EXAMPLES, questions, records=records).rows
        return (
            _write_if_changed(subset.rows, self.state_dir / "finetune_train.jsonl", "messages"),
            _write_if_changed(valid, self.state_dir / "finetune_valid.jsonl", "messages"),
        )

    @property
    def demo_run(self) -> Run:
        return Run(self.settings.runs_dir / RUN_NAME)

    def _trained_on(self, train: Path) -> bool:
        if not self.demo_run.exists():
            return False
        recorded = self.demo_run.manifest().datasets.get("train")
        return recorded is not None and recorded.sha256 == file_sha256(train)

    def finetune_up_to_date(self, train: Path) -> bool:
        return self.demo_run.has_adapter() and self._trained_on(train) and self.demo_run.manifest().status == "completed"

    def finetune(self, train: Path, valid: Path) -> str:
        from finetune.train import TrainOptions
        from finetune.train import train as run_training

        run = self.demo_run
        resume = self._trained_on(train) and run.checkpoints_dir.is_dir() and any(run.checkpoints_dir.glob("checkpoint-*"))
        if run.path.exists() and not resume:
            shutil.rmtree(run.path)  # a run on other data, or one that never checkpointed: start over
        result = run_training(
            TrainOptions(dataset=train, output=run.path, base_model=BASE_MODEL, valid=valid, quick=True, resume=resume, extra={"source": "dyag demo"}),
            self.settings.models_dir,
        )
        if result.status != "completed":
            raise DemoError("training was interrupted; run the demo again to resume it")
        final = result.metrics.get("final", {})
        losses = ", ".join(f"{name} loss {final[key]:.3f}" for name, key in (("train", "train_loss"), ("eval", "eval_loss")) if final.get(key) is not None)
        return f"{final.get('steps_done')} steps, {losses}"

    # ------------------------------------------------------------ 4. export

    def gguf(self) -> Path | None:
        return self.demo_run.latest_gguf()

    def export_up_to_date(self) -> bool:
        gguf = self.gguf()
        adapter = self.demo_run.adapter_dir / "adapter_model.safetensors"
        return gguf is not None and adapter.is_file() and gguf.stat().st_mtime >= adapter.stat().st_mtime

    def export(self) -> str:
        from finetune.export import export_gguf

        # A stale merged model (from an earlier adapter) would be converted as is: merge afresh.
        shutil.rmtree(self.demo_run.merged_dir, ignore_errors=True)
        tools = self.settings.workdir / "tools"
        q8 = export_gguf(self.demo_run, self.settings.models_dir, tools, "q8_0")
        # Written last, so the one the finetuned and hybrid modes load (Run.latest_gguf): the
        # quantisation of the packaged base model that rag and base run, for a like-for-like comparison.
        q4 = export_gguf(self.demo_run, self.settings.models_dir, tools, "q4_k_m")
        return f"{q8.name} ({q8.stat().st_size / 1e6:.0f} MB), {q4.name} ({q4.stat().st_size / 1e6:.0f} MB, evaluated)"

    # ------------------------------------------------------------ 5. evaluate

    def question_files(self) -> dict[str, Path]:
        """``{set name: file}``: the balanced test sample (written under demo/), the edge cases and
        the natural sample (written under demo/, balanced over how the questions are phrased)."""
        rows, _ = read_dataset(self.settings.datasets_dir / "test.eval.jsonl")
        test = _write_if_changed(balanced_subset(rows, self.options.test_questions), self.state_dir / "test.jsonl", "eval")
        files = {"test": test}
        if self.options.edge_cases is not None and self.options.edge_cases.is_file():
            files["edge_cases"] = self.options.edge_cases
        if self.options.natural is not None and self.options.natural.is_file() and self.options.natural_questions > 0:
            picked = {q.id for q in balanced_subset(load_questions(self.options.natural), self.options.natural_questions, 0, lambda q: q.kind)}
            # The lines themselves, not rows rewritten: the eval writer knows nothing of kind and expect_refusal.
            # split("\n"), not splitlines(): a raw U+2028 inside a question is not a line break in JSON Lines.
            text = self.options.natural.read_text(encoding="utf-8")
            lines = [line for line in text.split("\n") if line.strip() and json.loads(line).get("id") in picked]
            sample = self.state_dir / "natural.jsonl"
            tmp = sample.with_name(sample.name + ".new")
            tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
            files["natural"] = _replace_if_changed(tmp, sample)
        return files

    def eval_key(self, files: dict[str, Path], run: Path | None) -> str:
        parts = [f"{name}={file_sha256(path)}" for name, path in sorted(files.items())]
        gguf = self.gguf() if run else None
        parts.append(f"run={file_sha256(gguf) if gguf else 'none'}")
        parts.append(f"modes={','.join(self.options.modes)} tokens={self.options.max_new_tokens} context={self.options.context_tokens}")
        return text_sha256("\n".join(parts))

    def evaluate(self, files: dict[str, Path], run: Path | None, out: Path) -> str:
        from assistant.answering import Assistant
        from eval.runner import evaluate
        from eval.summary import write_summary

        settings = self.settings.model_copy(update={"run": run, "max_new_tokens": self.options.max_new_tokens, "context_tokens": self.options.context_tokens})
        assistant = Assistant(settings)
        questions = [q for name, path in files.items() for q in load_questions(path, name)]
        callback = self.progress(len(questions) * len(self.options.modes)) if self.progress else None
        outcome = evaluate(questions, assistant, list(self.options.modes), out, sources=files, embedder=assistant.retriever.embedder, progress=callback)
        write_summary(out)
        for mode, reason in outcome.skipped_modes.items():
            self.notes.append(f"mode {mode} skipped: {reason}")
        return f"{len(questions)} questions x {len(self.options.modes) - len(outcome.skipped_modes)} modes, {outcome.answered} answered now"

    # ------------------------------------------------------------ the pipeline

    def run(self) -> DemoResult:
        from eval.report import write_report

        started = time.perf_counter()
        if not self._step("ingest", self.ingest_up_to_date(), f"index {self.options.catalog.name}", self.ingest):
            raise DemoError("ingestion failed; see the message above")
        if not self._step("datasets", self.datasets_up_to_date(), "synthetic Q&A, seed 0", self.datasets):
            raise DemoError("dataset generation failed; see the message above")
        files = self.question_files()
        run: Path | None = None
        if self.options.skip_finetune:
            self.notes.append("fine-tuning skipped (--skip-finetune): no finetuned/hybrid modes")
        else:
            train, valid = self.training_files(files)
            trained = self._step("finetune", self.finetune_up_to_date(train), f"{BASE_MODEL}, CPU quick profile, {TRAIN_EXAMPLES} RAFT examples",
                                 lambda: self.finetune(train, valid))
            if trained and self._step("export", self.export_up_to_date(), "GGUF q8_0 + q4_K_M for llama.cpp", self.export):
                run = self.demo_run.path.resolve()
            else:
                self.notes.append("no fine-tuned GGUF: the finetuned and hybrid modes are not evaluated")
        out = self.settings.workdir / "eval" / "demo"
        key = self.eval_key(files, run)
        key_file = out / "demo_key.txt"
        if out.exists() and (not key_file.is_file() or key_file.read_text() != key):
            shutil.rmtree(out)  # results of other questions, another model or other settings: stale
        out.mkdir(parents=True, exist_ok=True)
        key_file.write_text(key)
        marker = out / "complete"
        if not self._step("evaluate", marker.is_file(), ", ".join(f"{n}: {p.name}" for n, p in files.items()), lambda: self.evaluate(files, run, out)):
            raise DemoError("evaluation failed; see the message above")
        marker.touch()  # every (question, mode) pair answered: a second demo run skips the step
        report_dir = self.settings.reports_dir / "demo"
        paths = write_report([out], report_dir)
        self.timings["total"] = round(time.perf_counter() - started, 1)
        (self.state_dir / "timings.json").write_text(json.dumps(self.timings, indent=2), encoding="utf-8")
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        return DemoResult(paths.markdown, paths.html, out, summary, paths.recommendation, self.timings, self.notes)
