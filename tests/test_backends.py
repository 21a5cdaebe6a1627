"""Every generation backend, for real: llama.cpp on the packaged Gemma-3-270M GGUF, transformers on a
tiny random Gemma-3 with a LoRA adapter, Ollama and OpenAI-compatible endpoints through LangChain's
ChatOllama/ChatOpenAI against local servers that speak the real wire protocols (tests/fakes)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Iterator

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk

from assistant.backends import clear_model_cache, load_chat_model
from assistant.chat_common import BackendError, generated_tokens
from core.prompts import SYSTEM_PROMPT, build_messages
from tests.conftest import make_settings
from tests.fakes.llm_servers import DEFAULT_TOKENS, FakeOllama, FakeOpenAI

QUESTION = "Quel est le statut de ADES ?"


@pytest.fixture(autouse=True, scope="module")
def _release_models() -> Iterator[None]:
    yield
    clear_model_cache()


def stream_text(model: BaseChatModel, messages: list, **kwargs) -> tuple[list[str], AIMessageChunk]:
    """The non-empty streamed pieces and the aggregated message."""
    pieces, total = [], None
    for chunk in model.stream(messages, **kwargs):
        if chunk.content:
            pieces.append(chunk.content)
        total = chunk if total is None else total + chunk
    return pieces, total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Ollama ---------------------------------------------------------------------------------------


def test_ollama_streams_and_sends_model_system_prompt_and_options(tmp_path: Path) -> None:
    ChatOllama = pytest.importorskip("langchain_ollama").ChatOllama

    with FakeOllama(model="dyag-gemma:latest") as server:
        settings = make_settings(
            tmp_path, backend="ollama", generator_model="dyag-gemma", ollama_host=server.url, max_new_tokens=5, temperature=0.0
        )
        model = load_chat_model(settings)
        assert isinstance(model, ChatOllama)
        assert load_chat_model(settings) is model  # cached

        pieces, total = stream_text(model, build_messages(QUESTION))
        assert pieces == list(DEFAULT_TOKENS[:5])  # token by token, cut at num_predict by the server
        assert generated_tokens(total) == 5
        message = model.invoke(build_messages(QUESTION))
        assert message.content == "".join(DEFAULT_TOKENS[:5])
        assert generated_tokens(message) == 5

        chats = [r["body"] for r in server.requests if r["path"] == "/api/chat"]
        assert len(chats) == 2
        for body in chats:
            assert body["model"] == "dyag-gemma"
            assert body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
            assert body["messages"][1] == {"role": "user", "content": QUESTION}
            assert body["options"]["temperature"] == 0.0
            assert body["options"]["num_predict"] == 5


def test_ollama_unreachable_or_unknown_model_says_what_to_do(tmp_path: Path) -> None:
    pytest.importorskip("langchain_ollama")
    settings = make_settings(tmp_path, backend="ollama", ollama_host=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(BackendError, match="ollama serve"):
        load_chat_model(settings)
    with FakeOllama(model="other") as server:
        settings = make_settings(tmp_path, backend="ollama", generator_model="dyag-gemma", ollama_host=server.url)
        with pytest.raises(BackendError, match="ollama pull dyag-gemma"):
            load_chat_model(settings)


# --- OpenAI-compatible ----------------------------------------------------------------------------


def test_openai_streams_and_sends_model_system_prompt_and_options(tmp_path: Path) -> None:
    ChatOpenAI = pytest.importorskip("langchain_openai").ChatOpenAI

    with FakeOpenAI(model="dyag-served") as server:
        settings = make_settings(
            tmp_path, backend="openai", generator_model="dyag-served", openai_base_url=server.url + "/v1",
            max_new_tokens=4, temperature=0.0,
        )
        model = load_chat_model(settings)
        assert isinstance(model, ChatOpenAI)

        pieces, total = stream_text(model, build_messages(QUESTION), stream_usage=True)
        assert pieces == list(DEFAULT_TOKENS[:4])
        assert generated_tokens(total) == 4
        message = model.invoke(build_messages(QUESTION))
        assert message.content == "".join(DEFAULT_TOKENS[:4])
        assert generated_tokens(message) == 4

        chats = [r["body"] for r in server.requests if r["path"] == "/v1/chat/completions"]
        assert [body.get("stream", False) for body in chats] == [True, False]
        for body in chats:
            assert body["model"] == "dyag-served"
            assert body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
            assert body["temperature"] == 0.0
            assert body["max_completion_tokens"] == body["max_tokens"] == 4  # both names: llama_cpp.server reads only max_tokens


def test_openai_unreachable_says_what_to_set(tmp_path: Path) -> None:
    pytest.importorskip("langchain_openai")
    settings = make_settings(tmp_path, backend="openai", openai_base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(BackendError, match="openai_base_url"):
        load_chat_model(settings)


# --- fine-tuned mode without what it needs ---------------------------------------------------------


def test_finetuned_without_run_or_export_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="--run"):
        load_chat_model(make_settings(tmp_path), finetuned=True)
    with pytest.raises(BackendError, match="not found"):
        load_chat_model(make_settings(tmp_path, run=tmp_path / "nope"), finetuned=True)
    run = tmp_path / "runs" / "r1"
    (run / "adapter").mkdir(parents=True)
    with pytest.raises(BackendError, match=r"dyag export --run r1 --format gguf"):
        load_chat_model(make_settings(tmp_path, run="r1"), finetuned=True)  # a name under <workdir>/runs
    with pytest.raises(BackendError, match="no adapter"):
        load_chat_model(make_settings(tmp_path, run="r1", backend="transformers"), finetuned=True)


# --- llama.cpp on the packaged Gemma-3-270M ---------------------------------------------------------


@pytest.fixture(scope="module")
def gemma_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    return tmp_path_factory.mktemp("llamacpp")


@pytest.fixture(scope="module")
def gemma(gemma_workdir: Path) -> BaseChatModel:
    return load_chat_model(make_settings(gemma_workdir, generator_model="gemma3-270m", max_new_tokens=12))


# Generation tests send the question alone: llama.cpp re-reads the whole prompt on every call, and the
# ~130-token system prompt would cost seconds per call on 2 shared cores. The full prompt's rendering
# is checked, without generating, by test_llamacpp_prompt_is_the_training_rendering.
SHORT = [{"role": "user", "content": QUESTION}]


def test_llamacpp_invoke_equals_stream_and_counts_tokens(gemma: BaseChatModel) -> None:
    message = gemma.invoke(SHORT)
    pieces, total = stream_text(gemma, SHORT)
    assert message.content.strip()
    assert "".join(pieces) == message.content  # greedy: the same text, streamed in several pieces
    assert len(pieces) > 1
    assert message.response_metadata["finish_reason"] in ("length", "stop")
    if message.response_metadata["finish_reason"] == "length":
        assert generated_tokens(message) == 12
    assert generated_tokens(total) == generated_tokens(message)
    assert message.usage_metadata["input_tokens"] == total.usage_metadata["input_tokens"] > 10


def test_llamacpp_respects_stop_sequences(gemma: BaseChatModel) -> None:
    text = gemma.invoke(SHORT).content
    words = text.split()
    assert len(words) >= 3, text
    stop = words[2]
    expected = text[: text.index(stop)]
    assert gemma.invoke(SHORT, stop=[stop]).content == expected
    pieces, total = stream_text(gemma, SHORT, stop=[stop])
    assert "".join(pieces) == expected
    assert total.response_metadata["finish_reason"] == "stop"


def test_llamacpp_prompt_is_the_training_rendering(gemma: BaseChatModel, tmp_path: Path) -> None:
    """The llama.cpp prompt is what finetune renders with the tokenizer's GEMMA_TEMPLATE, byte for byte."""
    from transformers import GemmaTokenizer

    from finetune.chat_format import GEMMA_TEMPLATE, render_prompt
    from tests.test_finetune_tiny import train_sentencepiece

    train_sentencepiece(tmp_path)
    tokenizer = GemmaTokenizer.from_pretrained(tmp_path)
    tokenizer.chat_template = GEMMA_TEMPLATE
    messages = build_messages(QUESTION, context=["ADES (id 12) — statut : en production"])
    assert gemma.chat_template.render(messages) == render_prompt(messages, tokenizer)
    assert gemma.chat_template.turn_end == "<eos>"


def test_llamacpp_cache_copies_and_close(gemma_workdir: Path, gemma: BaseChatModel) -> None:
    assert load_chat_model(make_settings(gemma_workdir, generator_model="gemma3-270m", max_new_tokens=12)) is gemma
    short = load_chat_model(make_settings(gemma_workdir, generator_model="gemma3-270m", max_new_tokens=3))
    assert short is not gemma and short.max_tokens == 3  # same weights, other generation settings
    assert generated_tokens(short.invoke(QUESTION)) <= 3


def test_llamacpp_finetuned_loads_the_runs_gguf(gemma_workdir: Path, gemma: BaseChatModel) -> None:
    run = gemma_workdir / "runs" / "exported"
    (run / "export").mkdir(parents=True)
    (run / "export" / "model-q8_0.gguf").symlink_to(gemma.model_path)
    (run / "export" / "adapter-f16.gguf").write_bytes(b"")  # an Ollama ADAPTER file is not the model
    (run / "manifest.json").write_text(json.dumps({"base_model": {"name": "gemma3-270m", "family": "gemma"}}))
    model = load_chat_model(make_settings(gemma_workdir, generator_model="gemma3-270m", run="exported", max_new_tokens=4), finetuned=True)
    assert model.model_path.endswith("model-q8_0.gguf")
    assert 0 < generated_tokens(model.invoke(QUESTION)) <= 4
    clear_model_cache()
    with pytest.raises(BackendError, match="closed"):
        model.invoke(QUESTION)


# --- transformers on a tiny random Gemma-3 + LoRA ------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny Gemma-3 folder and a run holding a LoRA adapter (random, non-zero B) trained "on" it."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tests.test_finetune_tiny import build_tiny_model

    root = tmp_path_factory.mktemp("transformers")
    base = build_tiny_model(root / "tiny-gemma", "gemma3")
    run = root / "runs" / "tiny-run"
    torch.manual_seed(1)
    lora = LoraConfig(r=8, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], init_lora_weights=False)
    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(base), lora)
    peft_model.save_pretrained(run / "adapter")
    AutoTokenizer.from_pretrained(base).save_pretrained(run / "adapter")
    (run / "manifest.json").write_text(json.dumps({"base_model": {"name": str(base), "family": "gemma"}}))
    return base, run


def test_transformers_invoke_stream_and_stop(tiny_run: tuple[Path, Path], tmp_path: Path) -> None:
    base, _ = tiny_run
    model = load_chat_model(make_settings(tmp_path, backend="transformers", generator_model=str(base), max_new_tokens=10))
    message = model.invoke(build_messages(QUESTION))
    pieces, total = stream_text(model, build_messages(QUESTION))
    assert message.content and "".join(pieces) == message.content
    assert generated_tokens(message) == generated_tokens(total) <= 10

    stop = message.content.strip()[3:6]
    expected = message.content[: message.content.index(stop)]
    assert model.invoke(build_messages(QUESTION), stop=[stop]).content == expected
    pieces, total = stream_text(model, build_messages(QUESTION), stop=[stop])
    assert "".join(pieces) == expected
    assert total.response_metadata["finish_reason"] == "stop"


def test_transformers_finetuned_applies_the_adapter(tiny_run: tuple[Path, Path], tmp_path: Path) -> None:
    base, run = tiny_run
    settings = make_settings(tmp_path, backend="transformers", generator_model=str(base), run=run, max_new_tokens=10)
    base_text = load_chat_model(settings).invoke(build_messages(QUESTION)).content
    tuned = load_chat_model(settings, finetuned=True)
    assert tuned.adapter_path == str(run / "adapter")
    tuned_text = tuned.invoke(build_messages(QUESTION)).content
    assert tuned_text != base_text
    pieces, _ = stream_text(tuned, build_messages(QUESTION))
    assert "".join(pieces) == tuned_text


def test_transformers_abandoned_stream_frees_the_model(tiny_run: tuple[Path, Path], tmp_path: Path) -> None:
    base, _ = tiny_run
    model = load_chat_model(make_settings(tmp_path, backend="transformers", generator_model=str(base), max_new_tokens=10))
    stream = model.stream(QUESTION)
    next(stream)
    stream.close()  # the reader goes away mid-answer: generation stops and the lock is released
    assert model.invoke(QUESTION).content
