"""Merge a run's LoRA adapter into its base weights: ``runs/NAME/merged/`` (safetensors).

W' = W + (alpha / r) * B @ A for every adapted matrix (PEFT's ``merge_and_unload``): the merged
model computes what base + adapter computed, with no PEFT at inference and no extra latency.
It is what the GGUF export converts. Runs trained with QLoRA are merged into the base loaded
in full precision (fp32 on CPU), not into the 4-bit weights, which would round the sum again.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from finetune.query import load_run
from finetune.runs import Run

log = logging.getLogger(__name__)

# Tokenizer side files that AutoTokenizer.save_pretrained may not rewrite but the llama.cpp
# converter reads (tokenizer.model makes it take its SentencePiece path).
_SIDE_FILES = ("tokenizer.model",)


def merge_run(run: Run, models_dir: Path) -> Path:
    """Write ``run/merged`` and return it (rebuilt if it exists)."""
    loaded = load_run(run, models_dir)
    merged = loaded.model.merge_and_unload()
    target = run.merged_dir
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)  # fp32 on CPU, bf16 on CUDA: both convert to GGUF
    loaded.tokenizer.save_pretrained(tmp)
    if loaded.base.is_local:
        for name in _SIDE_FILES:
            source = Path(loaded.base.location) / name
            if source.is_file() and not (tmp / name).exists():
                shutil.copyfile(source, tmp / name)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    log.info("Merged %s into %s.", run.adapter_dir, target)
    return target
