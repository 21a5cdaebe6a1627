"""``dyag models``, ``finetune``, ``runs``, ``query-finetuned``, ``merge`` and ``export``: the fine-tuning commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.console import console, err_console
from cli.options import ConfigOption, RequiredRunOption, WorkdirOption, settings_from
from core.errors import DyagError
from finetune.registry import DEFAULT_MODEL
from finetune.runs import Run


def models(workdir: WorkdirOption = None, config: ConfigOption = None) -> None:
    """List the registry's models (generators and fine-tuning bases), the default, and what fits this machine."""
    import importlib.util
    import os

    import torch

    from finetune.registry import MODELS, estimate_memory_gb, qlora_applies

    settings = settings_from(config, workdir=workdir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        available = torch.cuda.get_device_properties(0).total_memory / 1e9
    else:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    table = Table(title=f"Base models — this machine: {device}, {available:.0f} GB {'GPU ' if device == 'cuda' else ''}memory")
    for column in ("name", "params", "source", "languages", "gated", "batch / r", "method here", "needs", "fits"):
        table.add_column(column, overflow="fold")
    for entry in MODELS:
        need = estimate_memory_gb(entry.params_b, device)
        method = "QLoRA nf4" if qlora_applies(entry.params_b, device) else ("LoRA bf16" if device == "cuda" else "LoRA fp32")
        cached = entry.packaged and (settings.models_dir / entry.name).is_dir()
        source = entry.source + (" (converted)" if cached else "")
        if entry.packaged and not _package_present(entry.package or "", importlib.util.find_spec):
            source += f" [yellow](not installed: {entry.install})[/]"
        fits = "[green]yes[/]" if need <= available * 0.9 else "[red]no[/]"
        name = f"[bold]{entry.name}[/] (default)" if entry.name == DEFAULT_MODEL else entry.name
        table.add_row(
            name, f"{entry.params_b:g}B", source, " ".join(entry.languages), "yes (HF_TOKEN)" if entry.gated else "no",
            f"{entry.batch_size} / {entry.lora_r}", method, f"{need:g} GB", fits,
        )
    console.print(table)
    for entry in MODELS:
        if entry.notes:
            console.print(f"  [bold]{entry.name}[/]: {entry.notes}", highlight=False)
    console.print(
        f"Default generator and fine-tuning base: [bold]{DEFAULT_MODEL}[/] — the smallest packaged model that is "
        "instruction-tuned and reads French: it answers from the catalog facts offline (set generator_model or "
        "--base-model to choose another). Any Hugging Face id (org/name) or local transformers folder also works."
    )


def _package_present(package: str, find_spec) -> bool:  # type: ignore[no-untyped-def]
    """Whether a packaged model's (first) package is installed, without importing it."""
    module = package.replace("-", "_")
    return any(find_spec(name) is not None for name in (module, f"{module}_part1"))


def finetune(
    dataset: Annotated[Path, typer.Option("--dataset", help="Training chat JSONL ({\"messages\": [...]} per line).")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Run folder. Default: <workdir>/runs/<model>-<dataset>.")] = None,
    valid: Annotated[Path | None, typer.Option("--valid", help="Validation JSONL: eval loss and token accuracy each epoch, early stopping.")] = None,
    base_model: Annotated[str, typer.Option("--base-model", help="Registry name (dyag models), HF id or local folder.")] = DEFAULT_MODEL,
    epochs: Annotated[float, typer.Option(help="Passes over the training data.")] = 3.0,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Stop after this many optimizer steps (overrides --epochs).")] = -1,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate (linear decay, 5% warm-up). Default: 2e-4; --quick: 5e-4.")] = None,
    lora_r: Annotated[int | None, typer.Option("--lora-r", help="LoRA rank. Default: the registry's (16).")] = None,
    lora_alpha: Annotated[int | None, typer.Option("--lora-alpha", help="LoRA alpha. Default: 2 x rank.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Examples per step. Default: the registry's.")] = None,
    grad_accum: Annotated[int, typer.Option("--grad-accum", help="Gradient accumulation steps (effective batch = batch x this).")] = 1,
    gradient_checkpointing: Annotated[bool, typer.Option("--gradient-checkpointing", help="Recompute activations in backward: less memory, ~30% slower.")] = False,
    max_length: Annotated[int, typer.Option("--max-length", help="Longest example in tokens; longer ones are skipped.")] = 1024,
    seed: Annotated[int, typer.Option(help="Random seed (data order, LoRA init).")] = 42,
    patience: Annotated[int, typer.Option("--patience", help="Early stopping: epochs without eval-loss improvement (0: off).")] = 2,
    qlora: Annotated[str, typer.Option("--qlora", help="auto (CUDA and >= 1B params), on, off.")] = "auto",
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run from its last checkpoint.")] = False,
    lora_top_fraction: Annotated[float | None, typer.Option("--lora-top-fraction", min=0.01, max=1.0, help="LoRA on this top share of the layers only (backward stops below: 0.5 is ~1.8x faster). Default: all (1.0); --quick: 0.5.")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="CPU quick profile: 40 steps, batch 4, <= 512 tokens, LoRA on the top half of the layers, eval at the end (Qwen-0.5B: ~9 min on 2 cores).")] = False,
    full_logits: Annotated[bool, typer.Option("--full-logits", help="Plain TRL loss over all positions (slower; for comparison).")] = False,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """Fine-tune a base model with LoRA (QLoRA on CUDA for >= 1B) on chat JSONL; Ctrl-C saves a checkpoint."""
    from finetune.train import TrainOptions, train

    if qlora not in ("auto", "on", "off"):
        raise DyagError("--qlora must be auto, on or off.")
    settings = settings_from(config, workdir=workdir)
    model_label = Path(base_model).name if Path(base_model).is_dir() else base_model.replace("/", "_").replace(":", "-")
    name = f"{model_label}-{dataset.stem}"
    run = output or settings.runs_dir / name
    opts = TrainOptions(
        dataset=dataset, output=run, base_model=base_model, valid=valid, epochs=epochs, max_steps=max_steps, lr=lr,
        lora_r=lora_r, lora_alpha=lora_alpha, lora_top_fraction=lora_top_fraction, batch_size=batch_size, grad_accum=grad_accum,
        gradient_checkpointing=gradient_checkpointing, max_length=max_length, seed=seed, early_stopping_patience=patience,
        resume=resume, quick=quick, selective_loss=not full_logits, qlora=qlora,  # type: ignore[arg-type]
    )
    result = train(opts, settings.models_dir)
    final = result.metrics["final"]
    table = Table(title=f"Run {run} ({result.status})", show_header=False)
    for label, value in (
        ("train loss", final.get("train_loss")), ("eval loss", final.get("eval_loss")),
        ("eval token accuracy", final.get("eval_mean_token_accuracy")), ("steps", final.get("steps_done")),
        ("tokens/s", result.metrics.get("tokens_per_s")), ("trainable params", f"{result.metrics['trainable_params']:,} ({result.metrics['trainable_pct']}%)"),
        ("peak memory (MB)", result.metrics.get("peak_gpu_mb", result.metrics.get("peak_rss_mb"))), ("wall time (s)", result.metrics["wall_time_s"]),
        ("adapter", result.adapter_dir),
    ):
        table.add_row(label, "–" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    if result.status == "interrupted":
        err_console.print(f"Interrupted: continue with [bold]dyag finetune --dataset {dataset} --output {run} --base-model {base_model} --resume[/]")
        raise typer.Exit(130)


def runs(
    fmt: Annotated[str, typer.Option("--format", help="table or markdown.")] = "table",
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """The experiment table across runs: model, data, LoRA r/α, losses, token accuracy, eval scores, duration."""
    from finetune.runs import list_runs
    from finetune.tracking import run_row, runs_markdown, runs_rich_table

    settings = settings_from(config, workdir=workdir)
    rows = [run_row(run) for run in list_runs(settings.runs_dir)]
    if not rows:
        raise DyagError(f"No runs under {settings.runs_dir}; start one with `dyag finetune`.")
    if fmt == "markdown":
        typer.echo(runs_markdown(rows))
    elif fmt == "table":
        console.print(runs_rich_table(rows))
    else:
        raise DyagError("--format must be table or markdown.")


def query_finetuned(
    question: Annotated[str, typer.Argument(help="The question, in French.")],
    run: RequiredRunOption,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens")] = 96,
    merged: Annotated[bool, typer.Option("--merged", help="Use the merged model (dyag merge) instead of base + adapter.")] = False,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """Answer a question with a fine-tuned run (base + adapter), prompted exactly as in training."""
    from finetune.query import answer, load_run

    settings = settings_from(config, workdir=workdir)
    loaded = load_run(Run.find(run, settings.runs_dir), settings.models_dir, merged=merged)
    console.print(answer(loaded, question, max_new_tokens=max_new_tokens), highlight=False, markup=False)


def merge(run: RequiredRunOption, workdir: WorkdirOption = None, config: ConfigOption = None) -> None:
    """Merge the run's LoRA adapter into the base weights: runs/NAME/merged (safetensors)."""
    from finetune.merge import merge_run

    settings = settings_from(config, workdir=workdir)
    console.print(f"Merged model: {merge_run(Run.find(run, settings.runs_dir), settings.models_dir)}")


def export(
    run: RequiredRunOption,
    fmt: Annotated[str, typer.Option("--format", help="gguf or ollama (GGUF + Modelfile).")] = "ollama",
    quant: Annotated[str, typer.Option("--quant", help="q8_0 (default), q4_k_m, f16, bf16 or f32.")] = "q8_0",
    name: Annotated[str | None, typer.Option("--name", help="Ollama model name. Default: dyag-<run>.")] = None,
    sdist: Annotated[Path | None, typer.Option("--llama-cpp-sdist", help="A downloaded llama_cpp_python-0.3.36.tar.gz (offline).")] = None,
    workdir: WorkdirOption = None,
    config: ConfigOption = None,
) -> None:
    """Export a run to GGUF (llama.cpp's converter) and an Ollama Modelfile; prints the `ollama create` command."""
    from finetune.export import export_gguf, export_ollama

    settings = settings_from(config, workdir=workdir)
    found = Run.find(run, settings.runs_dir)
    tools = settings.workdir / "tools"
    if fmt == "gguf":
        console.print(f"GGUF: {export_gguf(found, settings.models_dir, tools, quant, sdist)}")
        return
    if fmt != "ollama":
        raise DyagError("--format must be gguf or ollama.")
    result = export_ollama(found, settings.models_dir, tools, quant, sdist, name)
    console.print(f"GGUF: {result.gguf}\nModelfile: {result.modelfile}\n\nImport it into Ollama with:\n  [bold]{result.command}[/]")
    if result.adapter_command:
        console.print(f"\nUnmerged variant (base GGUF + LoRA ADAPTER):\n  [bold]{result.adapter_command}[/]")
    for note in result.notes:
        console.print(f"[dim]{note}[/]")
