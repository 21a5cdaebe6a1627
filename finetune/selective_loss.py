"""Compute the LM head only where the loss needs it — the CPU training-speed lever.

Gemma-3-270M has a 262,144-token vocabulary and hidden size 640: its LM head is a
640 x 262,144 matmul, 168M multiply-adds *per token*, while the 18 transformer layers cost
~100M. A plain causal-LM step projects every position (prompt included) through the head, and
on CPU TRL's fused head does too (it only compacts on Triton devices). With assistant-only
labels ~80 % of positions are prompt tokens whose logits are thrown away.

:func:`selective_lm_loss` runs the backbone, keeps the hidden states whose *next-token label*
is supervised (label != -100), and projects only those:

    hidden (B, T, H) ─shift─▶ (B, T-1, H) ─gather mask─▶ (N, H) ─lm_head─▶ (N, V) ─CE─▶ loss

The result is the same loss (same tokens, same normalisation) as the full computation, up to
float rounding; tests assert it. bench/bench_training.py measures the speed-up against plain TRL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from finetune.data import IGNORE_INDEX


@dataclass
class SelectiveOutput:
    loss: torch.Tensor
    num_tokens: int  # supervised tokens in this micro-batch
    num_correct: int  # of which the argmax prediction is the label
    entropy_sum: float  # summed next-token entropy (nats) at supervised positions


def _causal_lm(model: Any) -> Any:
    """The transformers CausalLM inside a PEFT wrapper (LoRA layers stay injected in it)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def selective_lm_loss(model: Any, inputs: dict[str, torch.Tensor], num_items_in_batch: Any = None) -> SelectiveOutput:
    """Next-token cross-entropy over supervised positions, computing logits only there.

    ``num_items_in_batch`` (given by Trainer under gradient accumulation) is the supervised-token
    count of the whole accumulated batch: dividing by it makes the accumulated gradient equal to
    one big batch's. Without it the loss is the mean over this micro-batch.
    """
    causal_lm = _causal_lm(model)
    backbone = causal_lm.base_model  # the decoder stack (Gemma3TextModel, Qwen2Model, …)
    labels = inputs["labels"]
    backbone_inputs = {k: v for k, v in inputs.items() if k in ("input_ids", "attention_mask", "position_ids")}
    hidden = backbone(**backbone_inputs, use_cache=False).last_hidden_state

    # Position t predicts token t+1.
    targets = labels[:, 1:]
    mask = targets != IGNORE_INDEX
    selected = hidden[:, :-1][mask]  # (N, H)
    targets = targets[mask]  # (N,)

    logits = causal_lm.get_output_embeddings()(selected).float()  # (N, V): the only logits computed
    softcap = getattr(causal_lm.config.get_text_config(), "final_logit_softcapping", None)
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap

    nll = F.cross_entropy(logits, targets, reduction="sum")
    denominator = num_items_in_batch if num_items_in_batch is not None else max(int(mask.sum()), 1)
    loss = nll / torch.as_tensor(denominator, device=nll.device).clamp(min=1)

    with torch.no_grad():
        num_correct = int((logits.argmax(dim=-1) == targets).sum())
        log_probs = torch.log_softmax(logits, dim=-1)
        entropy_sum = float(-(log_probs.exp() * log_probs).sum())
    return SelectiveOutput(loss=loss, num_tokens=int(mask.sum()), num_correct=num_correct, entropy_sum=entropy_sum)


def make_selective_trainer_class() -> type:
    """An ``SFTTrainer`` subclass whose loss is :func:`selective_lm_loss`.

    Built on demand so importing this module does not import TRL. The subclass logs the same
    metrics as TRL (``mean_token_accuracy``, ``entropy``, ``num_tokens``) into TRL's own metric
    store, so logs, progress and tracking read identically with or without the saving.
    """
    from trl import SFTTrainer

    class SelectiveLossSFTTrainer(SFTTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # type: ignore[override]
            mode = "train" if self.model.training else "eval"
            out = selective_lm_loss(model, inputs, num_items_in_batch)
            if num_items_in_batch is not None and self.args.average_tokens_across_devices:
                # Same correction as Trainer.compute_loss: DDP averages gradients across ranks.
                out.loss = out.loss * self.accelerator.num_processes
            n = max(out.num_tokens, 1)
            self._metrics[mode]["mean_token_accuracy"].append(out.num_correct / n)
            self._metrics[mode]["entropy"].append(out.entropy_sum / n)
            if mode == "train":
                self._total_train_tokens += int(inputs["attention_mask"].sum())
            self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
            return (out.loss, out) if return_outputs else out.loss

    return SelectiveLossSFTTrainer
