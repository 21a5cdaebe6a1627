"""Experiment tracking: what a run records about itself while it trains (versions, hardware,
memory, the loss curves of metrics.json), and the table that compares runs (``dyag runs``).

The run folder's layout and its typed manifest are :mod:`finetune.runs`. Plain JSON on purpose:
readable, diffable, and no tracking server to run.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from finetune.runs import Run

_LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes", "gguf", "llama-cpp-python")


def library_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def hardware() -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1) if hasattr(os, "sysconf") else None,
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_memory_gb"] = round(torch.cuda.get_device_properties(0).total_memory / 1e9, 1)
    return info


def peak_memory_mb() -> dict[str, float]:
    """Peak resident memory of this process (ru_maxrss is in KiB on Linux), and of the GPU if used."""
    import torch

    peaks = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if torch.cuda.is_available():
        peaks["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return peaks


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (temp file + rename): a Ctrl-C never leaves half a manifest."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def summarize_history(log_history: list[dict[str, Any]]) -> dict[str, Any]:
    """Split Trainer's log history into train and eval curves and pick the final values."""
    train = [
        {k: row[k] for k in ("step", "epoch", "loss", "mean_token_accuracy", "entropy", "num_tokens", "learning_rate", "grad_norm") if k in row}
        for row in log_history
        if "loss" in row
    ]
    evals = [
        {k: row[k] for k in ("step", "epoch", "eval_loss", "eval_mean_token_accuracy", "eval_entropy") if k in row}
        for row in log_history
        if "eval_loss" in row
    ]
    summary = next((row for row in reversed(log_history) if "train_runtime" in row), {})
    final: dict[str, Any] = {}
    if train:
        final["train_loss"] = train[-1]["loss"]
        final["train_mean_token_accuracy"] = train[-1].get("mean_token_accuracy")
        final["train_entropy"] = train[-1].get("entropy")
        final["tokens_seen"] = train[-1].get("num_tokens")
    if evals:
        final["eval_loss"] = evals[-1]["eval_loss"]
        final["eval_mean_token_accuracy"] = evals[-1].get("eval_mean_token_accuracy")
        final["best_eval_loss"] = min(row["eval_loss"] for row in evals)
    for key in ("train_runtime", "train_samples_per_second", "train_steps_per_second"):
        if key in summary:
            final[key] = summary[key]
    return {"train": train, "eval": evals, "final": final}


# ---------------------------------------------------------------------------------------------
# The runs table


def run_row(run: Run) -> dict[str, Any]:
    """One line of the experiment table."""
    manifest, metrics, scores = read_json(run.manifest_path), run.metrics(), run.eval_scores()
    hp = manifest.get("hyperparameters", {})
    final = metrics.get("final", {})
    datasets = manifest.get("datasets", {})
    train_file = datasets.get("train", {}).get("path", "")
    return {
        "run": run.name,
        "model": manifest.get("base_model", {}).get("name", "?"),
        "dataset": Path(train_file).name if train_file else "?",
        "examples": datasets.get("train", {}).get("examples"),
        "epochs": final.get("epochs_done"),
        "steps": final.get("steps_done"),
        "lora": f"{hp.get('lora_r', '?')}/{hp.get('lora_alpha', '?')}",
        "train_loss": final.get("train_loss"),
        "eval_loss": final.get("eval_loss"),
        "token_acc": final.get("eval_mean_token_accuracy", final.get("train_mean_token_accuracy")),
        "scores": ", ".join(f"{k}={_fmt(v)}" for k, v in scores.items()) or None,
        "duration_s": metrics.get("wall_time_s"),
        "status": manifest.get("status", "?"),
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


TABLE_COLUMNS = ("run", "model", "dataset", "examples", "epochs", "steps", "lora", "train_loss", "eval_loss", "token_acc", "scores", "duration_s", "status")
HEADERS = {"lora": "LoRA r/α", "train_loss": "train loss", "eval_loss": "eval loss", "token_acc": "token acc", "duration_s": "duration (s)"}


def runs_markdown(rows: list[dict[str, Any]]) -> str:
    """The experiment table as GitHub Markdown (for reports and issue notes)."""
    head = [HEADERS.get(c, c) for c in TABLE_COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row[c]) for c in TABLE_COLUMNS) + " |")
    return "\n".join(lines)


def runs_rich_table(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title="Fine-tuning runs")
    for column in TABLE_COLUMNS:
        table.add_column(HEADERS.get(column, column), justify="right" if column not in ("run", "model", "dataset", "scores", "status") else "left")
    for row in rows:
        table.add_row(*(_fmt(row[c]) for c in TABLE_COLUMNS))
    return table
