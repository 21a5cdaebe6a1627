"""A fine-tuning run, as one object: where its files are, what its manifest says, what it exports.

Everything that touches a run — training, merge, export, the transformers and llama.cpp
backends, the evaluation's cost table, the demo — goes through :class:`Run`, so the folder layout
is written down once, here::

    runs/NAME/
      manifest.json       RunManifest: base model, datasets (path + sha256), hyperparameters, versions, status
      metrics.json        per-step losses and token accuracy, throughput, memory, wall time
      adapter/            the LoRA adapter (PEFT) and the tokenizer with its training chat template
      checkpoints/        Trainer checkpoints (for --resume)
      merged/             adapter merged into the base weights (dyag merge)
      export/             model-QUANT.gguf, Modelfile (dyag export)
      eval_scores.json    flat {metric: value} written by `dyag evaluate --run`

A run is named on the command line by its folder or by its name under ``<workdir>/runs``
(:meth:`Run.find`); both work for every command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import DyagError
from finetune.base_models import ResolvedModel, resolve_model


class RunError(DyagError, RuntimeError):
    """The run folder is missing, unfinished or lacks what the command needs; the message says what to run."""


class BaseModelInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    location: str | None = None
    family: str | None = None
    params_b: float | None = None


class DatasetInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    path: str
    sha256: str
    examples: int | None = None
    tokens: int | None = None
    mean_tokens: float | None = None
    mean_supervised_tokens: float | None = None


class RunManifest(BaseModel):
    """``manifest.json``: what the run was. Unknown keys (recorded by other versions) are kept."""

    model_config = ConfigDict(extra="allow")

    run: str | None = None
    status: str = Field("unknown", description="running, completed or interrupted.")
    created_at: str | None = None
    base_model: BaseModelInfo
    datasets: dict[str, DatasetInfo] = Field(default_factory=dict)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    device: str | None = None
    hardware: dict[str, Any] = Field(default_factory=dict)
    libraries: dict[str, str] = Field(default_factory=dict)
    finished_at: str | None = None
    resumed_at: list[str] = Field(default_factory=list)
    adapter: str | None = None


@dataclass(frozen=True)
class Run:
    """One run folder (it may not exist yet: training creates it)."""

    path: Path

    @classmethod
    def find(cls, spec: str | Path, runs_dir: Path) -> "Run":
        """The run named ``spec``: a folder, or a name under ``runs_dir``."""
        for candidate in (Path(spec).expanduser(), runs_dir / str(spec)):
            if candidate.is_dir():
                return cls(candidate)
        raise RunError(
            f"Fine-tuning run {spec} not found (looked for the folder {spec} and for {runs_dir / str(spec)}). "
            "`dyag runs` lists the runs; train one with `dyag finetune`."
        )

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    @property
    def eval_scores_path(self) -> Path:
        return self.path / "eval_scores.json"

    @property
    def adapter_dir(self) -> Path:
        return self.path / "adapter"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def merged_dir(self) -> Path:
        return self.path / "merged"

    @property
    def export_dir(self) -> Path:
        return self.path / "export"

    # ------------------------------------------------------------------ state

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def has_adapter(self) -> bool:
        return (self.adapter_dir / "adapter_config.json").is_file()

    def has_merged(self) -> bool:
        return (self.merged_dir / "config.json").is_file()

    def manifest(self) -> RunManifest:
        if not self.manifest_path.is_file():
            raise RunError(f"{self.path} is not a fine-tuning run (it has no manifest.json).")
        try:
            return RunManifest.model_validate_json(self.manifest_path.read_text(encoding="utf-8"))
        except ValidationError as exc:
            raise RunError(f"{self.manifest_path} is not a valid run manifest: {exc.errors()[0]['msg']} ({exc.errors()[0]['loc']}).") from None

    def metrics(self) -> dict[str, Any]:
        return _read_json(self.metrics_path)

    def eval_scores(self) -> dict[str, Any]:
        return _read_json(self.eval_scores_path)

    def require_adapter(self) -> Path:
        if not self.has_adapter():
            raise RunError(
                f"The run {self.path} holds no adapter ({self.adapter_dir}/adapter_config.json is missing): its training "
                "did not finish. Resume it with `dyag finetune --resume`, or choose another --run."
            )
        return self.adapter_dir

    def latest_gguf(self) -> Path | None:
        """The model GGUF ``dyag export`` wrote (``export/model-QUANT.gguf``), newest first.

        The export folder may also hold ``adapter-f16.gguf`` (a LoRA for Ollama's ADAPTER) and
        ``base-QUANT.gguf``: neither is the fine-tuned model, so only ``model-*`` files count.
        """
        found = [p for p in self.export_dir.glob("model-*.gguf") if p.is_file()] if self.export_dir.is_dir() else []
        return max(found, key=lambda p: p.stat().st_mtime) if found else None

    # ------------------------------------------------------------------ base model

    def base_model_spec(self) -> str:
        """What to load as the base: the recorded folder if it still exists, else the recorded name."""
        base = self.manifest().base_model
        return base.location if base.location and Path(base.location).is_dir() else base.name

    def base_family(self) -> str | None:
        return self.manifest().base_model.family

    def base(self, models_dir: Path) -> ResolvedModel:
        """The base model the run was trained from, resolved (a packaged model is converted if needed)."""
        recorded = self.manifest().base_model
        resolved = resolve_model(self.base_model_spec(), models_dir)
        return ResolvedModel(recorded.name, resolved.location, resolved.entry, resolved.family or recorded.family, resolved.params_b)

    def cost(self) -> dict[str, Any]:
        """Training time, steps, adapter and exported model sizes: the cost side of the evaluation report."""
        manifest = self.manifest() if self.exists() else None
        final = self.metrics().get("final") or {}
        gguf = self.latest_gguf()
        adapter_bytes = sum(f.stat().st_size for f in self.adapter_dir.rglob("*") if f.is_file()) if self.adapter_dir.is_dir() else None
        train = manifest.datasets.get("train") if manifest else None
        return {
            "run": str(self.path),
            "base_model": manifest.base_model.name if manifest else None,
            "training_time_s": self.metrics().get("wall_time_s"),
            "training_steps": final.get("steps_done"),
            "training_examples": train.examples if train else None,
            "device": manifest.device if manifest else None,
            "adapter_mb": round(adapter_bytes / 1e6, 1) if adapter_bytes is not None else None,
            "gguf_mb": round(gguf.stat().st_size / 1e6, 1) if gguf else None,
            "gguf": str(gguf) if gguf else None,
        }


def list_runs(runs_dir: Path) -> list[Run]:
    return sorted((Run(p.parent) for p in runs_dir.glob("*/manifest.json")), key=lambda r: r.name) if runs_dir.is_dir() else []


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
