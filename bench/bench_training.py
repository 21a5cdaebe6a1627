"""Training throughput on CPU: Dyag's selective loss vs plain TRL, same model, data and run.

    python bench/bench_training.py [--model qwen2.5-coder:0.5b] [--steps 6] [--batch 4] [--workdir .dyag]

Both variants train the same LoRA (r=16, the model's registry targets: attention + MLP for
Qwen) on the same context-QA examples (built from examples/catalog.json by finetune.demo_data),
with the same seed and batch, one after the other in this process. The first step of each is
warm-up and not timed. Prints a Markdown table and, with --record, writes it into the
"## Training throughput" section of bench/RESULTS.md.

Plain TRL = ``trl.SFTTrainer`` as shipped: on CPU its fused LM head scores every position.
Selective = ``finetune.selective_loss``: the LM head only at supervised positions.
Peak RSS is the process's high-water mark so far: the second variant cannot show less than the
first.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finetune.demo_data import catalog_qa, write_jsonl  # noqa: E402
from finetune.train import TrainOptions, train  # noqa: E402

PLAIN, SELECTIVE = "plain TRL (all positions)", "selective loss"


def bench(model: str, steps: int, batch: int, workdir: Path) -> dict[str, dict[str, float]]:
    examples = [messages for _, messages in catalog_qa(ROOT / "examples" / "catalog.json")][: steps * batch]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = write_jsonl(examples, Path(tmp) / "train.jsonl")
        for i, (label, selective) in enumerate(((PLAIN, False), (SELECTIVE, True))):
            run = Path(tmp) / f"variant-{i}"
            timer = _StepTimer()
            opts = TrainOptions(
                dataset=data, output=run, base_model=model, max_steps=steps, batch_size=batch, lora_r=16,
                selective_loss=selective, show_progress=False,
            )
            result = _train_timed(opts, workdir / "models", timer)
            timed = timer.durations[1:]  # step 1 is warm-up (allocations, lazy init)
            per_step = sum(timed) / len(timed)
            cpu_per_step = sum(timer.cpu[1:]) / len(timed)
            tokens_per_step = result.metrics["tokens_seen"] / steps
            results[label] = {
                "s_per_step": per_step,
                "cpu_s_per_step": cpu_per_step,
                "steps_per_s": 1 / per_step,
                "tokens_per_s": tokens_per_step / per_step,
                "final_loss": result.metrics["final"]["train_loss"],
                "peak_rss_mb": result.metrics["peak_rss_mb"],
            }
    return results


class _StepTimer:
    """Wall and process-CPU seconds per step. CPU time is the fairer measure on a shared machine:
    other users' processes stretch wall time but not the CPU seconds this process spends."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.cpu: list[float] = []
        self._start = self._cpu_start = 0.0


def _train_timed(opts: TrainOptions, models_dir: Path, timer: _StepTimer):  # type: ignore[no-untyped-def]
    """train() with a callback timing each optimizer step."""
    from transformers import TrainerCallback

    import finetune.train as recipe

    class Timing(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):  # type: ignore[override]
            timer._start, timer._cpu_start = time.perf_counter(), time.process_time()

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[override]
            timer.durations.append(time.perf_counter() - timer._start)
            timer.cpu.append(time.process_time() - timer._cpu_start)

    original = recipe._callbacks
    recipe._callbacks = lambda interrupt, show: original(interrupt, show) + [Timing()]
    try:
        return train(opts, models_dir)
    finally:
        recipe._callbacks = original


def markdown(model: str, steps: int, batch: int, results: dict[str, dict[str, float]]) -> str:
    import torch

    plain, selective = results[PLAIN], results[SELECTIVE]
    lines = [
        f"Model `{model}`, LoRA r=16 on the registry's target modules, batch {batch}, {steps} steps (first not timed), fp32, "
        f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, torch {torch.__version__}.",
        "",
        "| variant | wall s/step | CPU s/step | steps/s | tokens/s | final loss | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        lines.append(f"| {label} | {r['s_per_step']:.2f} | {r['cpu_s_per_step']:.2f} | {r['steps_per_s']:.3f} | {r['tokens_per_s']:.0f} | {r['final_loss']:.3f} | {r['peak_rss_mb']:.0f} |")
    lines += [
        "",
        f"**Speed-up of the selective loss over plain TRL: {plain['s_per_step'] / selective['s_per_step']:.2f}x wall, "
        f"{plain['cpu_s_per_step'] / selective['cpu_s_per_step']:.2f}x CPU time** (same data, same run). "
        f"Machine load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.",
    ]
    return "\n".join(lines)


def record(text: str, path: Path) -> None:
    """Replace (or add) the '## Training throughput' section of RESULTS.md, leaving the others alone."""
    section = "## Training throughput\n\nMeasured by `python bench/bench_training.py --record`.\n\n" + text + "\n"
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(r"## Training throughput\n.*?(?=\n## |\Z)", re.S)
    updated = pattern.sub(lambda _: section.rstrip("\n"), current) if pattern.search(current) else current.rstrip("\n") + "\n\n" + section
    path.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder:0.5b")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=Path(".dyag"))
    parser.add_argument("--record", action="store_true", help="Write the table into bench/RESULTS.md.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    results = bench(args.model, args.steps, args.batch, args.workdir)
    text = markdown(args.model, args.steps, args.batch, results)
    print(text)
    if args.record:
        record(text, ROOT / "bench" / "RESULTS.md")


if __name__ == "__main__":
    main()
