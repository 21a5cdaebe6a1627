"""``dyag demo``: the whole product on a catalog in one command, each step skipped when up to date.

Steps (outputs under ``--workdir``, default ``.dyag``):

1. **ingest** the catalog → ``index/`` (skipped when the live index was built from the same catalog
   bytes with the same embedding model);
2. **datasets**: ``dyag generate-training --seed 0`` → ``datasets/`` (skipped when its manifest
   names the same catalog hash and seed);
3. **fine-tune** the embedded Gemma-3-270M with the CPU quick profile (30 steps, batch 4) on a
   balanced 120-example subset of the training split → ``runs/demo-gemma3-270m-quick/`` (skipped
   when a completed run exists for exactly that subset; an interrupted one is resumed);
4. **export** the run to GGUF q8_0 for llama.cpp (skipped when the GGUF is newer than the adapter);
5. **evaluate** a category-balanced sample of the held-out test split (for the example catalog, the
   first rounds of ``examples/questions/test.jsonl``, which is the 120-question sample) and the hand-written edge cases in
   every mode → ``eval/demo/`` (resumable; started afresh when the questions, the run or the
   generation settings change);
6. **report** → ``reports/demo/report.{md,html}``, and print the headline numbers.

If fine-tuning or export fails (or ``--skip-finetune``), the demo goes on without the
``finetuned`` and ``hybrid`` modes and says so in the report. Durations of every step go to
``demo/timings.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ingestion.config import Settings
from eval.questions import balanced_subset
from ingestion.dataset_formats import QARow, read_dataset, write_dataset

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_CATALOG = ROOT / "examples" / "catalog.json"
EDGE_CASES = ROOT / "examples" / "questions" / "edge_cases.jsonl"
RUN_NAME = "demo-gemma3-270m-quick"
BASE_MODEL = "gemma3-270m"
TRAIN_EXAMPLES = 120  # the quick profile sees 30 steps x 4 = 120 examples: exactly one pass over the subset
VALID_EXAMPLES = 24
# ~3 per question type: with the 41 edge cases, ~100 questions x 5 modes fit the demo's CPU budget.
TEST_QUESTIONS = 60
DEMO_MODES = ("auto", "rag", "finetuned", "hybrid", "base")

# step(name, status, detail): status is "start", "done", "skipped" or "failed".
StepReporter = Callable[[str, str, str], None]


@dataclass
class DemoOptions:
    catalog: Path = EXAMPLE_CATALOG
    edge_cases: Path | None = EDGE_CASES
    test_questions: int = TEST_QUESTIONS
    modes: tuple[str, ...] = DEMO_MODES
    skip_finetune: bool = False
    # Generation budget of the evaluation (a 270M model's useful answers are short).
    max_new_tokens: int = 40
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


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _write_if_changed(rows: list[QARow], path: Path, fmt: str) -> Path:
    """Write the rows; keep the old file (and its mtime) when the content is identical."""
    tmp = path.with_name(path.name + ".new")
    write_dataset(rows, tmp, fmt)
    if path.is_file() and path.read_bytes() == tmp.read_bytes():
        tmp.unlink()
    else:
        tmp.replace(path)
    return path


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
        self.catalog_sha = sha256(options.catalog)

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
        from ingestion.index import IndexManifest, current_generation_dir

        gen = current_generation_dir(self.settings.index_dir)
        if gen is None:
            return False
        manifest = IndexManifest.model_validate_json((gen / "manifest.json").read_text())
        return manifest.catalog_sha256 == self.catalog_sha and manifest.embedding_model == self.settings.embedding_model

    def ingest(self) -> str:
        from ingestion.ingest import ingest_catalog

        summary = ingest_catalog(self.options.catalog, self.settings)
        return f"{summary.applications} applications, {summary.chunks} chunks, {summary.embedded} embedded"

    # ------------------------------------------------------------ 2. datasets

    def datasets_up_to_date(self) -> bool:
        manifest = self.settings.datasets_dir / "manifest.json"
        if not manifest.is_file() or not (self.settings.datasets_dir / "test.eval.jsonl").is_file():
            return False
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return data.get("catalog_sha256") == self.catalog_sha and data.get("seed") == 0

    def datasets(self) -> str:
        out = self.settings.datasets_dir
        command = [sys.executable, "-m", "assistant.cli", "generate-training", str(self.options.catalog), "--seed", "0",
                   "--output", str(out), "--formats", "messages,eval", "--workdir", str(self.settings.workdir)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError("generate-training failed: " + "\n".join((done.stderr or done.stdout).strip().splitlines()[-6:]))
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return f"{manifest['examples']} examples ({', '.join(f'{k} {v}' for k, v in manifest['by_split'].items())})"

    # ------------------------------------------------------------ 3. fine-tune

    def training_files(self) -> tuple[Path, Path]:
        """The demo's fine-tuning subset: balanced over question type and flavour (closed book / context)."""
        datasets = self.settings.datasets_dir
        train_rows, _ = read_dataset(datasets / "train.jsonl")
        valid_rows, _ = read_dataset(datasets / "valid.jsonl")
        by_type = lambda r: (r.category, r.flavour)  # noqa: E731
        train = _write_if_changed(balanced_subset(train_rows, TRAIN_EXAMPLES, 0, by_type), self.state_dir / "finetune_train.jsonl", "messages")
        valid = _write_if_changed(balanced_subset(valid_rows, VALID_EXAMPLES, 0, by_type), self.state_dir / "finetune_valid.jsonl", "messages")
        return train, valid

    @property
    def run_dir(self) -> Path:
        return self.settings.runs_dir / RUN_NAME

    def finetune_up_to_date(self, train: Path) -> bool:
        manifest = self.run_dir / "manifest.json"
        if not manifest.is_file() or not (self.run_dir / "adapter" / "adapter_config.json").is_file():
            return False
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return data.get("status") == "completed" and data.get("datasets", {}).get("train", {}).get("sha256") == sha256(train)

    def finetune(self, train: Path, valid: Path) -> str:
        from finetune.train import CHECKPOINTS_DIR, TrainOptions, train as run_training

        manifest = self.run_dir / "manifest.json"
        same_data = manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")).get("datasets", {}).get("train", {}).get("sha256") == sha256(train)
        resume = same_data and (self.run_dir / CHECKPOINTS_DIR).is_dir() and any((self.run_dir / CHECKPOINTS_DIR).glob("checkpoint-*"))
        if self.run_dir.exists() and not resume:
            shutil.rmtree(self.run_dir)  # a run on other data, or one that never checkpointed: start over
        result = run_training(
            TrainOptions(dataset=train, output=self.run_dir, base_model=BASE_MODEL, valid=valid, quick=True, resume=resume, extra={"source": "dyag demo"}),
            self.settings.models_dir,
        )
        if result.status != "completed":
            raise RuntimeError("training was interrupted; run the demo again to resume it")
        final = result.metrics.get("final", {})
        losses = ", ".join(f"{name} loss {final[key]:.3f}" for name, key in (("train", "train_loss"), ("eval", "eval_loss")) if final.get(key) is not None)
        return f"{final.get('steps_done')} steps, {losses}"

    # ------------------------------------------------------------ 4. export

    def gguf(self) -> Path | None:
        found = sorted((self.run_dir / "export").glob("model-*.gguf"), key=lambda p: p.stat().st_mtime) if (self.run_dir / "export").is_dir() else []
        return found[-1] if found else None

    def export_up_to_date(self) -> bool:
        gguf = self.gguf()
        adapter = self.run_dir / "adapter" / "adapter_model.safetensors"
        return gguf is not None and adapter.is_file() and gguf.stat().st_mtime >= adapter.stat().st_mtime

    def export(self) -> str:
        from finetune.export import export_gguf

        # A stale merged model (from an earlier adapter) would be converted as is: merge afresh.
        shutil.rmtree(self.run_dir / "merged", ignore_errors=True)
        path = export_gguf(self.run_dir, self.settings.models_dir, self.settings.workdir / "tools", "q8_0")
        return f"{path} ({path.stat().st_size / 1e6:.0f} MB)"

    # ------------------------------------------------------------ 5. evaluate

    def question_files(self) -> dict[str, Path]:
        """``{set name: file}``: the balanced test sample (written under demo/) and the edge cases."""
        rows, _ = read_dataset(self.settings.datasets_dir / "test.eval.jsonl")
        test = _write_if_changed(balanced_subset(rows, self.options.test_questions), self.state_dir / "test.jsonl", "eval")
        files = {"test": test}
        if self.options.edge_cases is not None and self.options.edge_cases.is_file():
            files["edge_cases"] = self.options.edge_cases
        return files

    def eval_key(self, files: dict[str, Path], run: Path | None) -> str:
        parts = [f"{name}={sha256(path)}" for name, path in sorted(files.items())]
        gguf = self.gguf() if run else None
        parts.append(f"run={sha256(gguf) if gguf else 'none'}")
        parts.append(f"modes={','.join(self.options.modes)} tokens={self.options.max_new_tokens} context={self.options.context_tokens}")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def evaluate(self, files: dict[str, Path], run: Path | None, out: Path) -> str:
        from assistant.answering import Assistant
        from eval.questions import load_questions
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
            raise RuntimeError("ingestion failed; see the message above")
        if not self._step("datasets", self.datasets_up_to_date(), "synthetic Q&A, seed 0", self.datasets):
            raise RuntimeError("dataset generation failed; see the message above")
        run: Path | None = None
        if self.options.skip_finetune:
            self.notes.append("fine-tuning skipped (--skip-finetune): no finetuned/hybrid modes")
        else:
            train, valid = self.training_files()
            trained = self._step("finetune", self.finetune_up_to_date(train), f"{BASE_MODEL}, CPU quick profile, {TRAIN_EXAMPLES} examples",
                                 lambda: self.finetune(train, valid))
            if trained and self._step("export", self.export_up_to_date(), "GGUF q8_0 for llama.cpp", self.export):
                run = self.run_dir.resolve()
            else:
                self.notes.append("no fine-tuned GGUF: the finetuned and hybrid modes are not evaluated")
        files = self.question_files()
        out = self.settings.workdir / "eval" / "demo"
        key = self.eval_key(files, run)
        key_file = out / "demo_key.txt"
        if out.exists() and (not key_file.is_file() or key_file.read_text() != key):
            shutil.rmtree(out)  # results of other questions, another model or other settings: stale
        out.mkdir(parents=True, exist_ok=True)
        key_file.write_text(key)
        marker = out / "complete"
        if not self._step("evaluate", marker.is_file(), ", ".join(f"{n}: {p.name}" for n, p in files.items()), lambda: self.evaluate(files, run, out)):
            raise RuntimeError("evaluation failed; see the message above")
        marker.touch()  # every (question, mode) pair answered: a second demo run skips the step
        report_dir = self.settings.reports_dir / "demo"
        paths = write_report([out], report_dir)
        self.timings["total"] = round(time.perf_counter() - started, 1)
        (self.state_dir / "timings.json").write_text(json.dumps(self.timings, indent=2), encoding="utf-8")
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        return DemoResult(paths.markdown, paths.html, out, summary, paths.recommendation, self.timings, self.notes)
