"""The fine-tuning recipe: LoRA (or QLoRA on CUDA) on chat data, with TRL's SFTTrainer.

Read top to bottom, :func:`train` does:

1. resolve the base model (registry name, folder or HF id) and pick the device and precision;
2. tokenize the chat JSONL with assistant-only labels (the tokenizer's chat template);
3. load the model — fp32 on CPU, bf16 on CUDA, 4-bit NF4 + double quantisation (QLoRA) on CUDA
   for models of 1B parameters or more — and wrap it with LoRA adapters;
4. train with SFTTrainer, computing logits only at supervised positions (selective loss),
   batching examples of similar length together (context examples are 3-5x longer than
   closed-book ones: random batches were 1.6x padding), evaluating each epoch on the valid split
   with early stopping, checkpointing for ``--resume``;
5. save the adapter, the manifest and the metrics.

Ctrl-C during training saves a checkpoint at the end of the current step and stops cleanly;
``--resume`` continues from it. A second Ctrl-C aborts at once.
"""

from __future__ import annotations

import logging
import math
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.errors import DyagError
from core.hashing import file_sha256
from finetune import tracking
from finetune.base_models import (
    ResolvedModel,
    load_causal_lm,
    load_tokenizer,
    resolve_model,
)
from finetune.data import dataset_stats, load_tokenized
from finetune.registry import ATTENTION_MLP, DEFAULT_MODEL, PHI3_MODULES, qlora_applies
from finetune.runs import Run, RunManifest

log = logging.getLogger(__name__)

# Sustained fp32 matmul throughput per CPU thread used for the duration estimate, calibrated on
# the 2-core development machine (bench/bench_training.py): Gemma-270M selective loss, batch 4.
CPU_GFLOPS_PER_THREAD = 60.0


@dataclass
class TrainOptions:
    """Everything ``dyag finetune`` accepts. ``None`` means "the registry default for this model"."""

    dataset: Path
    output: Path
    base_model: str = DEFAULT_MODEL
    valid: Path | None = None
    epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides epochs
    lr: float | None = None  # None: 2e-4, or the quick profile's QUICK_LR
    lora_r: int | None = None
    lora_alpha: int | None = None  # default 2 * r
    lora_dropout: float = 0.05
    # LoRA on this top share of the transformer layers (None: all, or the quick profile's half).
    # Backward stops at the lowest adapted layer: with the top half, half the layers need no
    # gradients at all.
    lora_top_fraction: float | None = None
    target_modules: tuple[str, ...] | None = None
    batch_size: int | None = None
    grad_accum: int = 1
    gradient_checkpointing: bool = False
    max_length: int = 1024
    seed: int = 42
    early_stopping_patience: int = 2
    resume: bool = False
    quick: bool = False
    selective_loss: bool = True
    qlora: Literal["auto", "on", "off"] = "auto"
    show_progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # recorded in the manifest as is


@dataclass
class TrainResult:
    run_dir: Path
    adapter_dir: Path
    status: str  # completed | interrupted
    metrics: dict[str, Any]


class TrainingError(DyagError, RuntimeError):
    """A training setup the user must change (existing run, nothing to resume, QLoRA without CUDA)."""


QUICK_STEPS = 40
QUICK_BATCH = 4
QUICK_MAX_LENGTH = 512
QUICK_TOP_FRACTION = 0.5
# 40 steps are few: at 2e-4 the first demo run still answered in the base model's own words
# ("Statut de BNPE : En construction.") on its own training examples.
QUICK_LR = 5e-4
DEFAULT_LR = 2e-4


def apply_quick_profile(opts: TrainOptions) -> None:
    """The CPU quick profile: 40 steps of batch 4 at learning rate 5e-4, sequences up to 512
    tokens, LoRA on the top half of the layers, evaluation at the end — under 10 minutes for
    Qwen2.5-0.5B on 2 cores.

    The arithmetic, measured on RAFT examples (mean 290 Qwen tokens; bench/RESULTS.md): LoRA on
    all 24 layers costs 22.8 s per step of 4, on the top 12 layers 12.5 s (backward stops at
    layer 12), so 40 steps take ~8.5 min, and 40 x 4 = 160 examples are seen once each. 512
    tokens keep all but ~4 % of the context examples (a 384 cap dropped a quarter of them, the
    longest: exactly the ones with most distractors to read past).
    """
    if opts.max_steps <= 0:
        opts.max_steps = QUICK_STEPS
    opts.batch_size = opts.batch_size or QUICK_BATCH
    opts.max_length = min(opts.max_length, QUICK_MAX_LENGTH)
    if opts.lora_top_fraction is None:
        opts.lora_top_fraction = QUICK_TOP_FRACTION
    if opts.lr is None:
        opts.lr = QUICK_LR


def detect_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def estimate_params_b(resolved: ResolvedModel) -> float:
    """Parameter count in billions without loading weights: registry value, else from the config.

    Per layer: attention 4*H^2 (fewer with grouped KV, ignored) + MLP 3*H*I; plus V*H embeddings.
    """
    if resolved.params_b is not None:
        return resolved.params_b
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(resolved.location).get_text_config()
    except (OSError, ValueError):
        return 0.0
    hidden, layers = config.hidden_size, config.num_hidden_layers
    inter = getattr(config, "intermediate_size", 4 * hidden)
    return (layers * (4 * hidden * hidden + 3 * hidden * inter) + config.vocab_size * hidden) / 1e9


def find_target_modules(model: Any) -> list[str]:
    """LoRA targets for a model not in the registry: the usual projection names it contains."""
    import torch

    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    targets = [n for n in ATTENTION_MLP + PHI3_MODULES if n in names]
    if not targets:
        raise TrainingError(f"Cannot guess LoRA target modules; linear layers are named {sorted(names)[:12]}.")
    return targets


def estimate_step_seconds(model: Any, stats: dict[str, float], batch: int, selective: bool, adapted_share: float = 1.0) -> float:
    """A-priori CPU seconds per optimizer step, from FLOPs.

    Forward costs 2 x params FLOPs per token through the transformer layers (P_layers); backward
    ~2x forward, but only through the layers at and above the lowest LoRA layer
    (``adapted_share`` of them): (2 + 4 x share) x P_layers per token. The LM head (V x H) costs
    6 x V x H per *projected* token — all tokens for a plain loss, only supervised ones with the
    selective loss.
    """
    import torch

    config = model.config.get_text_config()
    head = config.vocab_size * config.hidden_size
    layers = sum(p.numel() for p in model.parameters()) - head * (1 if config.tie_word_embeddings else 2)
    tokens = batch * stats["mean_tokens"]
    projected = batch * (stats["mean_supervised_tokens"] if selective else stats["mean_tokens"])
    flops = (2 + 4 * adapted_share) * layers * tokens + 6 * head * projected
    return flops / (CPU_GFLOPS_PER_THREAD * 1e9 * torch.get_num_threads())


def load_model(resolved: ResolvedModel, device: str, use_qlora: bool, gradient_checkpointing: bool) -> Any:
    """The base model in the precision that suits the device (see the module docstring)."""
    import torch

    if use_qlora:
        try:
            import bitsandbytes  # noqa: F401  (fail early with a clear message)
            from transformers import BitsAndBytesConfig
        except ImportError:
            raise TrainingError("QLoRA needs bitsandbytes: pip install bitsandbytes") from None
        from peft import prepare_model_for_kbit_training

        quantization = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,  # quantises the quantisation constants too: ~0.4 bit/param saved
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        model = load_causal_lm(resolved, quantization_config=quantization, device_map={"": 0}, dtype=torch.bfloat16)
        return prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
    if device == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return load_causal_lm(resolved, dtype=dtype, device_map={"": 0})
    # CPU: fp32. Trainer's bf16 autocast on CPU measured no faster here (bench/RESULTS.md).
    return load_causal_lm(resolved, dtype=torch.float32)


class _GracefulInterrupt:
    """First Ctrl-C: ask Trainer to save a checkpoint after this step and stop. Second: abort."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def __enter__(self) -> "_GracefulInterrupt":
        self._previous = signal.getsignal(signal.SIGINT)
        try:
            signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not in the main thread (e.g. some test runners): keep the default
            self._previous = None
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning("Interrupted: saving a checkpoint after the current step (Ctrl-C again to abort now).")

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _callbacks(interrupt: _GracefulInterrupt, show_progress: bool) -> list[Any]:
    from transformers import TrainerCallback

    class StopOnInterrupt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[override]
            if interrupt.requested:
                control.should_save = True
                control.should_training_stop = True
            return control

    callbacks: list[Any] = [StopOnInterrupt()]
    if show_progress:
        callbacks.append(RichProgressCallback())
    return callbacks


def RichProgressCallback() -> Any:  # noqa: N802 — a factory standing in for a class
    """A rich progress bar: step, loss, tokens/s (since this process started) and ETA."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from transformers import TrainerCallback

    class _RichProgress(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):  # type: ignore[override]
            self.progress = Progress(
                TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=True),
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step, info="")
            self.start, self.start_tokens, self.tokens = time.perf_counter(), None, 0

        def on_step_end(self, args, state, control, **kwargs):  # type: ignore[override]
            self.progress.update(self.task, completed=state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[override]
            logs = logs or {}
            if "num_tokens" in logs:
                if self.start_tokens is None:
                    self.start_tokens = logs["num_tokens"]
                    self.start = time.perf_counter()
                self.tokens = logs["num_tokens"] - self.start_tokens
            parts = []
            if "loss" in logs:
                parts.append(f"loss {logs['loss']:.3f}")
            if "eval_loss" in logs:
                parts.append(f"eval {logs['eval_loss']:.3f}")
            elapsed = time.perf_counter() - self.start
            if self.tokens and elapsed > 0:
                parts.append(f"{self.tokens / elapsed:.0f} tok/s")
            if parts:
                self.progress.update(self.task, info=" · ".join(parts))

        def on_train_end(self, args, state, control, **kwargs):  # type: ignore[override]
            self.progress.stop()

    return _RichProgress()


def _prepare_output(opts: TrainOptions) -> Run:
    run = Run(opts.output)
    if opts.resume:
        if not run.checkpoints_dir.is_dir():
            raise TrainingError(f"Nothing to resume: {run.checkpoints_dir} does not exist.")
        return run
    if run.manifest_path.exists() or run.checkpoints_dir.exists():
        raise TrainingError(f"{run.path} already holds a run: add --resume to continue it, or choose another --output.")
    run.path.mkdir(parents=True, exist_ok=True)
    return run


def train(opts: TrainOptions, models_dir: Path) -> TrainResult:
    """Fine-tune ``opts.base_model`` on ``opts.dataset``; see the module docstring for the steps."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import EarlyStoppingCallback, set_seed
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTConfig, SFTTrainer

    from finetune.selective_loss import make_selective_trainer_class

    if opts.quick:
        apply_quick_profile(opts)
    opts.lr = opts.lr or DEFAULT_LR
    run = _prepare_output(opts)
    set_seed(opts.seed)
    started = time.perf_counter()

    # 1. Base model, device, precision.
    resolved = resolve_model(opts.base_model, models_dir)
    device = detect_device()
    params_b = estimate_params_b(resolved)
    use_qlora = opts.qlora == "on" or (opts.qlora == "auto" and qlora_applies(params_b, device))
    if use_qlora and device != "cuda":
        raise TrainingError("QLoRA (--qlora on) needs a CUDA GPU; on CPU, LoRA in fp32 is used.")
    entry = resolved.entry
    lora_r = opts.lora_r or (entry.lora_r if entry else 16)
    lora_alpha = opts.lora_alpha or 2 * lora_r
    batch_size = opts.batch_size or (entry.batch_size if entry else 4)

    # 2. Data: chat template rendering + assistant-only labels.
    tokenizer = load_tokenizer(resolved)
    train_set = load_tokenized(opts.dataset, tokenizer, opts.max_length)
    valid_set = load_tokenized(opts.valid, tokenizer, opts.max_length) if opts.valid else None
    stats = dataset_stats(train_set)

    # 3. Model + LoRA.
    model = load_model(resolved, device, use_qlora, opts.gradient_checkpointing)
    targets = list(opts.target_modules or (entry.target_modules if entry else find_target_modules(model)))
    n_layers = model.config.get_text_config().num_hidden_layers
    adapted = n_layers if opts.lora_top_fraction is None else max(1, math.ceil(n_layers * opts.lora_top_fraction))
    layers = list(range(n_layers - adapted, n_layers)) if adapted < n_layers else None
    lora = LoraConfig(
        r=lora_r, lora_alpha=lora_alpha, lora_dropout=opts.lora_dropout, target_modules=targets, layers_to_transform=layers, task_type="CAUSAL_LM"
    )
    model = get_peft_model(model, lora)
    trainable, total = model.get_nb_trainable_parameters()

    steps_per_epoch = math.ceil(stats["examples"] / (batch_size * opts.grad_accum))
    total_steps = opts.max_steps if opts.max_steps > 0 else math.ceil(opts.epochs * steps_per_epoch)
    evaluate_each_epoch = valid_set is not None and not opts.quick

    # 4. Trainer.
    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    config = SFTConfig(
        output_dir=str(run.checkpoints_dir),
        num_train_epochs=opts.epochs,
        max_steps=opts.max_steps,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        gradient_accumulation_steps=opts.grad_accum,
        gradient_checkpointing=opts.gradient_checkpointing,
        learning_rate=opts.lr,
        lr_scheduler_type="linear",
        warmup_steps=max(1, total_steps // 20),  # 5 % warm-up: LoRA B starts at zero, so little is needed
        logging_steps=1,
        train_sampling_strategy="group_by_length",
        eval_strategy="epoch" if evaluate_each_epoch else "no",
        save_strategy="epoch" if evaluate_each_epoch else "steps",
        save_steps=max(steps_per_epoch, 10),
        save_total_limit=2,
        load_best_model_at_end=evaluate_each_epoch,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        prediction_loss_only=True,  # eval needs the loss only; anything else recomputes full logits
        bf16=bf16,
        fp16=device == "cuda" and not bf16,
        max_length=opts.max_length,
        seed=opts.seed,
        data_seed=opts.seed,
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    interrupt = _GracefulInterrupt()
    callbacks = _callbacks(interrupt, opts.show_progress)
    if evaluate_each_epoch and opts.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=opts.early_stopping_patience))
    trainer_class = make_selective_trainer_class() if opts.selective_loss else SFTTrainer
    trainer = trainer_class(
        model=model, args=config, train_dataset=train_set, eval_dataset=valid_set, processing_class=tokenizer, callbacks=callbacks
    )
    # Metrics go to metrics.json and the rich bar; Trainer's own printer would repeat them on stdout.
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)

    manifest = {
        "run": opts.output.name,
        "status": "running",
        "created_at": tracking.now_iso(),
        "base_model": {"name": resolved.name, "location": resolved.location, "family": resolved.family, "params_b": round(params_b, 3)},
        "datasets": {
            "train": {"path": str(opts.dataset.resolve()), "sha256": file_sha256(opts.dataset), **stats},
            **({"valid": {"path": str(opts.valid.resolve()), "sha256": file_sha256(opts.valid), **dataset_stats(valid_set)}} if opts.valid else {}),
        },
        "hyperparameters": {
            "method": "qlora" if use_qlora else "lora",
            "precision": "nf4+bf16" if use_qlora else ("bf16" if bf16 else "fp16" if device == "cuda" else "fp32"),
            "epochs": opts.epochs, "max_steps": opts.max_steps, "total_steps": total_steps, "lr": opts.lr,
            "lora_r": lora_r, "lora_alpha": lora_alpha, "lora_dropout": opts.lora_dropout, "target_modules": targets, "lora_layers": layers or "all",
            "batch_size": batch_size, "grad_accum": opts.grad_accum, "gradient_checkpointing": opts.gradient_checkpointing,
            "max_length": opts.max_length, "early_stopping_patience": opts.early_stopping_patience if evaluate_each_epoch else None,
            "selective_loss": opts.selective_loss, "quick": opts.quick, **opts.extra,
        },
        "seed": opts.seed,
        "device": device,
        "hardware": tracking.hardware(),
        "libraries": tracking.library_versions(),
    }
    if opts.resume and run.exists():
        previous = run.manifest()
        manifest["created_at"] = previous.created_at
        manifest["resumed_at"] = [*previous.resumed_at, tracking.now_iso()]
    tracking.write_json(run.manifest_path, RunManifest.model_validate(manifest).model_dump(mode="json"))

    if device == "cpu":
        per_step = estimate_step_seconds(model, stats, batch_size * opts.grad_accum, opts.selective_loss, adapted / n_layers)
        log.warning(
            "Training on CPU (%d threads): %d steps x ~%.1f s ≈ %.0f min (estimate; the progress bar shows the measured ETA).",
            torch.get_num_threads(), total_steps, per_step, total_steps * per_step / 60,
        )

    # 5. Train (resumable), save, record.
    resume_from = get_last_checkpoint(str(run.checkpoints_dir)) if opts.resume else None
    if opts.resume and resume_from is None:
        raise TrainingError(f"No checkpoint in {run.checkpoints_dir} to resume from.")
    with interrupt:
        train_out = trainer.train(resume_from_checkpoint=resume_from)
    status = "interrupted" if interrupt.requested else "completed"
    if valid_set is not None and status == "completed":
        trainer.evaluate()  # final held-out loss/accuracy, whatever the schedule did
    adapter_dir = run.adapter_dir
    if adapter_dir.exists():
        shutil.rmtree(adapter_dir)
    trainer.model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)

    wall = time.perf_counter() - started
    history = tracking.summarize_history(trainer.state.log_history)
    tokens_seen = history["final"].get("tokens_seen") or 0
    runtime = train_out.metrics.get("train_runtime", wall)
    history["final"].update({"epochs_done": round(trainer.state.epoch or 0, 2), "steps_done": trainer.state.global_step})
    metrics = {
        **history,
        "trainable_params": trainable,
        "total_params": total,
        "trainable_pct": round(100 * trainable / total, 4),
        "tokens_seen": tokens_seen,
        "samples_per_s": train_out.metrics.get("train_samples_per_second"),
        "tokens_per_s": round(tokens_seen / runtime, 1) if runtime and tokens_seen else None,
        "steps_per_s": train_out.metrics.get("train_steps_per_second"),
        **tracking.peak_memory_mb(),
        "wall_time_s": round(wall, 1),
        "train_runtime_s": round(runtime, 1),
    }
    tracking.write_json(run.metrics_path, metrics)
    manifest.update(status=status, finished_at=tracking.now_iso(), adapter=str(adapter_dir))
    tracking.write_json(run.manifest_path, RunManifest.model_validate(manifest).model_dump(mode="json"))
    if status == "interrupted":
        log.warning("Stopped at step %d; continue with --resume.", trainer.state.global_step)
    return TrainResult(opts.output, adapter_dir, status, metrics)

