"""Fine-tuning end to end on tiny, randomly initialised Gemma-3 and Qwen2 models (CPU, seconds).

Each model is built in the test: a SentencePiece tokenizer trained on the fixture sentences
(so the llama.cpp converter takes its sentencepiece path, with no BPE pre-tokenizer hash to
match) and a 2-layer, 64-wide model of the real architecture class. Training, resuming,
merging and GGUF export then run exactly as they would on a real model.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from core.prompts import SYSTEM_PROMPT, build_messages
from finetune.chat_format import (
    CHATML_TEMPLATE,
    GEMMA_TEMPLATE,
    render_prompt,
    split_example,
    stop_token_ids,
)
from finetune.data import IGNORE_INDEX, load_tokenized
from finetune.runs import Run

# The llama.cpp converter is extracted once from the ~77 MB llama-cpp-python sdist: cache it across runs.
TOOLS_DIR = Path(os.environ.get("DYAG_TEST_CACHE", Path.home() / ".cache" / "dyag-tests")) / "tools"

QA = [
    ("Quel est le statut de ADES ?", "Le statut de ADES est : en production [ADES]."),
    ("Qui contacter pour 6Tzen ?", "Contactez jean.dupont@example.fr pour 6Tzen [6Tzen]."),
    ("Quel est le statut de GIDAF ?", "Le statut de GIDAF est : en construction [GIDAF]."),
    ("Quelle est la portée de Mélodie ?", "La portée de Mélodie est nationale [Mélodie]."),
    ("Qui contacter pour ADES ?", "Contactez marie.martin@example.fr pour ADES [ADES]."),
    ("Quel est le statut de 6Tzen ?", "Le statut de 6Tzen est : en production [6Tzen]."),
    ("Quelle est la portée de GIDAF ?", "La portée de GIDAF est régionale [GIDAF]."),
    ("Qui contacter pour Mélodie ?", "Contactez paul.durand@example.fr pour Mélodie [Mélodie]."),
]


def write_jsonl(path: Path, pairs: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for question, answer in pairs:
            handle.write(json.dumps({"messages": build_messages(question, answer=answer), "meta": {}}, ensure_ascii=False) + "\n")
    return path


def train_sentencepiece(folder: Path) -> None:
    """A 512-piece SentencePiece BPE model with Gemma's special-token ids (pad 0, eos 1, bos 2, unk 3)."""
    import sentencepiece as spm

    corpus = [SYSTEM_PROMPT] + [text for pair in QA for text in pair]
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus * 20), model_writer=buffer, vocab_size=512, model_type="bpe",
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
        user_defined_symbols=["<start_of_turn>", "<end_of_turn>", "<|im_start|>", "<|im_end|>"],
        byte_fallback=True, character_coverage=1.0, minloglevel=2,
    )
    (folder / "tokenizer.model").write_bytes(buffer.getvalue())


def build_tiny_model(folder: Path, arch: str) -> Path:
    """A saved tiny ``Gemma3ForCausalLM`` or ``Qwen2ForCausalLM`` with tokenizer and chat template."""
    from transformers import (
        Gemma3ForCausalLM,
        Gemma3TextConfig,
        GemmaTokenizer,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    folder.mkdir(parents=True)
    train_sentencepiece(folder)
    tokenizer = GemmaTokenizer.from_pretrained(folder)
    tokenizer.chat_template = GEMMA_TEMPLATE if arch == "gemma3" else CHATML_TEMPLATE
    common = dict(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=1024, pad_token_id=0, eos_token_id=1, bos_token_id=2, tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    if arch == "gemma3":
        model = Gemma3ForCausalLM(Gemma3TextConfig(head_dim=32, query_pre_attn_scalar=32, sliding_window=512, **common))
    else:
        model = Qwen2ForCausalLM(Qwen2Config(**common))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def data_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("data")
    return write_jsonl(root / "train.jsonl", QA * 2), write_jsonl(root / "valid.jsonl", QA[:4])


@pytest.fixture(scope="module", params=["gemma3", "qwen2"])
def tiny(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp(request.param) / "model", request.param)


def test_prompt_tokens_are_masked(tiny: Path, data_files: tuple[Path, Path]) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    rows = [json.loads(line)["messages"] for line in data_files[0].read_text(encoding="utf-8").splitlines()]
    dataset = load_tokenized(data_files[0], tokenizer, max_length=1024)
    for messages, example in zip(rows, dataset):
        ids, labels = example["input_ids"], example["labels"]
        prompt_ids = tokenizer(render_prompt(messages, tokenizer), add_special_tokens=False)["input_ids"]
        # The whole prompt (system, question, turn markers) is masked, the answer is supervised…
        assert ids[: len(prompt_ids)] == prompt_ids
        assert labels[: len(prompt_ids)] == [IGNORE_INDEX] * len(prompt_ids)
        assert labels[len(prompt_ids):] == ids[len(prompt_ids):]
        assert labels[len(prompt_ids):] == tokenizer(split_example(messages, tokenizer)[1], add_special_tokens=False)["input_ids"]
        if tiny.parent.name.startswith("gemma3"):
            # (transformers forces Qwen2Tokenizer, byte-level, on any qwen2 folder: over our SentencePiece
            # vocabulary its text round trip is lossy, though ids — all that training and GGUF use — are exact.)
            assert tokenizer.decode(labels[len(prompt_ids):-1]).strip() == messages[-1]["content"]
        # …and ends with the template's turn end, so the model learns to stop.
        assert ids[-1] in stop_token_ids(tokenizer)


@pytest.fixture(scope="module")
def trained(tiny: Path, data_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-step run (3 epochs of 2 steps), evaluated each epoch, checkpointed."""
    from finetune.train import TrainOptions, train

    run = tmp_path_factory.mktemp("runs") / "tiny"
    opts = TrainOptions(
        dataset=data_files[0], valid=data_files[1], output=run, base_model=str(tiny),
        epochs=3, batch_size=8, lr=5e-3, lora_r=8, show_progress=False,
    )
    result = train(opts, models_dir=tmp_path_factory.mktemp("models"))
    assert result.status == "completed"
    return run


def test_training_writes_adapter_manifest_and_metrics(trained: Path) -> None:
    manifest = json.loads((trained / "manifest.json").read_text())
    metrics = json.loads((trained / "metrics.json").read_text())
    assert (trained / "adapter" / "adapter_config.json").is_file()
    assert manifest["status"] == "completed"
    assert manifest["datasets"]["train"]["sha256"] and manifest["libraries"]["torch"]
    assert manifest["hyperparameters"]["lora_r"] == 8 and manifest["seed"] == 42
    assert len(metrics["train"]) == 6 and len(metrics["eval"]) >= 3
    assert metrics["train"][-1]["loss"] < metrics["train"][0]["loss"]  # lr 5e-3 on 16 examples: it learns
    for key in ("trainable_params", "trainable_pct", "tokens_seen", "tokens_per_s", "peak_rss_mb", "wall_time_s"):
        assert metrics[key], key
    assert 0 <= metrics["final"]["eval_mean_token_accuracy"] <= 1  # a random 64-wide model may still get none right


def test_quick_profile_adapts_the_top_half_of_the_layers_only(tiny: Path, data_files: tuple[Path, Path], tmp_path: Path) -> None:
    from safetensors import safe_open

    from finetune.train import TrainOptions, train

    run = tmp_path / "quick"
    result = train(TrainOptions(dataset=data_files[0], output=run, base_model=str(tiny), quick=True, max_steps=1, show_progress=False), tmp_path / "models")
    manifest = json.loads((run / "manifest.json").read_text())
    assert result.status == "completed" and manifest["hyperparameters"]["lora_layers"] == [1]
    with safe_open(str(run / "adapter" / "adapter_model.safetensors"), "pt") as saved:
        layers = {key.split(".layers.")[1].split(".")[0] for key in saved.keys()}
    assert layers == {"1"}  # of the two layers, the top one


def test_resume_continues_from_the_last_checkpoint(trained: Path, data_files: tuple[Path, Path], tiny: Path, tmp_path: Path) -> None:
    """Copy a finished run, ask for 2 more epochs with --resume: it restarts at step 6, not 0."""
    from finetune.train import TrainingError, TrainOptions, train

    run = tmp_path / "tiny"
    shutil.copytree(trained, run)
    opts = TrainOptions(dataset=data_files[0], output=run, base_model=str(tiny), epochs=5, batch_size=8, lr=5e-3, lora_r=8, show_progress=False, resume=True)
    train(opts, models_dir=tmp_path / "models")
    steps = [row["step"] for row in json.loads((run / "metrics.json").read_text())["train"]]
    assert steps[0] == 1 and steps[-1] == 10 and steps == sorted(set(steps))  # history carried over, steps 7-10 added
    assert json.loads((run / "manifest.json").read_text())["resumed_at"]
    with pytest.raises(TrainingError, match="--resume"):
        train(TrainOptions(dataset=data_files[0], output=run, base_model=str(tiny), show_progress=False), models_dir=tmp_path / "models")


@pytest.fixture(scope="module")
def merged(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from finetune.merge import merge_run

    return merge_run(Run(trained), tmp_path_factory.mktemp("models"))


def test_merged_model_equals_base_plus_adapter(trained: Path, merged: Path) -> None:
    from transformers import AutoModelForCausalLM

    from finetune.query import load_run

    loaded = load_run(Run(trained), trained.parent)
    ids = loaded.tokenizer(render_prompt(build_messages("Quel est le statut de ADES ?"), loaded.tokenizer), add_special_tokens=False, return_tensors="pt")["input_ids"]
    plain = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32).eval()
    with torch.no_grad():
        adapter_logits = loaded.model(input_ids=ids).logits
        merged_logits = plain(input_ids=ids).logits
        base_logits = AutoModelForCausalLM.from_pretrained(loaded.base.location, dtype=torch.float32)(input_ids=ids).logits
    assert torch.allclose(adapter_logits, merged_logits, atol=1e-4)
    assert not torch.allclose(base_logits, merged_logits, atol=1e-3)  # the adapter did change something
    assert (merged / "tokenizer.model").is_file()  # carried over for the llama.cpp converter


def test_gguf_export_gives_the_same_greedy_tokens(trained: Path, merged: Path) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from finetune.export import export_gguf

    gguf = export_gguf(Run(trained), trained.parent, tools_dir=TOOLS_DIR, quant="f32")
    tokenizer = AutoTokenizer.from_pretrained(merged)
    model = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32).eval()
    stops = stop_token_ids(tokenizer)
    llm = llama_cpp.Llama(model_path=str(gguf), n_ctx=512, verbose=False)
    try:
        for question, _ in QA[:3]:
            prompt_ids = tokenizer(render_prompt(build_messages(question), tokenizer), add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                out = model.generate(torch.tensor([prompt_ids]), max_new_tokens=10, do_sample=False, eos_token_id=stops, pad_token_id=0)
            expected = out[0, len(prompt_ids):].tolist()
            # Token ids in and out: the comparison is about weights and architecture, not tokenizers.
            got: list[int] = []
            for token in llama_cpp_greedy(llm, prompt_ids):
                got.append(token)
                if len(got) == len(expected):
                    break
            assert got == expected, question
    finally:
        llm.close()


def llama_cpp_greedy(llm, prompt_ids: list[int]):  # type: ignore[no-untyped-def]
    return llm.generate(prompt_ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True)
