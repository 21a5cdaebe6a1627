"""Ask a fine-tuned run a question: base model + LoRA adapter, same prompt format as training.

The prompt is ``core.prompts.build_messages`` rendered by the run's tokenizer chat template
(:func:`finetune.chat_format.render_prompt`), i.e. byte for byte what training rendered before
each answer. Decoding is greedy by default and stops at the template's turn end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from finetune.base_models import ResolvedModel, load_causal_lm
from finetune.chat_format import render_prompt, stop_token_ids
from finetune.runs import Run

log = logging.getLogger(__name__)


@dataclass
class LoadedRun:
    model: Any
    tokenizer: Any
    run: Run
    base: ResolvedModel


def load_run(run: Run, models_dir: Path, merged: bool = False) -> LoadedRun:
    """Base + adapter (``merged=False``) or the merged folder of ``dyag merge`` (``merged=True``)."""
    import torch
    from peft import PeftModel
    from transformers import AutoTokenizer

    adapter = run.require_adapter()
    base = run.base(models_dir)
    tokenizer = AutoTokenizer.from_pretrained(adapter)  # saved with the run: holds the training chat template
    # Full precision even for QLoRA runs: the adapter is applied to (and merged into) unquantised weights.
    placement: dict[str, Any] = {"dtype": torch.float32}
    if torch.cuda.is_available():
        placement = {"dtype": torch.bfloat16, "device_map": {"": 0}}
    if merged:
        model = load_causal_lm(ResolvedModel(base.name, str(run.merged_dir), None, None, None), **placement)
    else:
        model = PeftModel.from_pretrained(load_causal_lm(base, **placement), adapter)
    model.eval()
    return LoadedRun(model, tokenizer, run, base)


def generate_ids(model: Any, tokenizer: Any, prompt: str, max_new_tokens: int) -> list[int]:
    """Greedy continuation of ``prompt`` (token ids, stop token excluded)."""
    import torch

    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(model.device)
    stops = stop_token_ids(tokenizer)
    with torch.no_grad():
        out = model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, do_sample=False,
            eos_token_id=stops, pad_token_id=tokenizer.pad_token_id,
        )
    new = out[0, ids.shape[1]:].tolist()
    return new[:-1] if new and new[-1] in stops else new


def answer(loaded: LoadedRun, question: str, context: Sequence[str] | None = None, max_new_tokens: int = 96) -> str:
    """The run's answer to ``question`` (optionally with retrieved ``context`` chunks)."""
    from core.prompts import build_messages

    prompt = render_prompt(build_messages(question, context), loaded.tokenizer)
    return loaded.tokenizer.decode(generate_ids(loaded.model, loaded.tokenizer, prompt, max_new_tokens), skip_special_tokens=True).strip()
