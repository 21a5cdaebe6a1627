"""The generator behind the assistant: one LangChain chat model per backend, chosen by configuration.

Every backend is a LangChain :class:`~langchain_core.language_models.BaseChatModel`, so Dyag's
assistant can use any LangChain chat model, and Dyag's models can be used in any LangChain app:

================  ================================================================================
``backend``       What :func:`load_chat_model` returns
================  ================================================================================
``llamacpp``      :class:`~assistant.llamacpp_chat.LlamaCppChatModel`: a GGUF run in process by
                  llama-cpp-python (the embedded default: sub-second loads, ~50 tokens/s on 2 cores).
                  Base mode: the packaged Qwen2.5-Coder-0.5B-Instruct (``generator_model =
                  "qwen2.5-coder:0.5b"``, the default), another packaged model or a ``.gguf`` path. Fine-tuned mode: the GGUF that ``dyag export --format gguf`` wrote
                  into the run folder.
``transformers``  :class:`~assistant.transformers_chat.TransformersChatModel`: a transformers model
                  (registry name, local folder or hub id), plus the run's LoRA adapter in fine-tuned
                  mode — no export needed, so it serves a run straight after training.
``ollama``        ``langchain_ollama.ChatOllama`` talking to a server the user runs
                  (``ollama_host``; ``generator_model`` is the served model name).
``openai``        ``langchain_openai.ChatOpenAI`` talking to any OpenAI-compatible endpoint
                  (``openai_base_url``, ``openai_api_key``; vLLM, llama.cpp's server, LM Studio…).
================  ================================================================================

All of them generate greedily at ``temperature = 0`` (the default), stop at ``max_new_tokens``,
accept LangChain's ``stop=[...]`` sequences and stream with ``.stream()``. The two in-process
models render prompts with the model's chat template — the same one training used
(:mod:`finetune.chat_format`) — and stop at its turn end; the served models apply their own
template (Dyag's export writes it into the Ollama Modelfile).

Token counts, for tokens/s: every returned message has ``usage_metadata["output_tokens"]``
(Ollama: ``eval_count``; OpenAI-compatible servers: ``usage.completion_tokens`` — on invoke; in
streams only when the server sends usage). Use :func:`assistant.chat_common.generated_tokens` to read it.

Models are cached per process (:func:`load_chat_model` returns the same object for the same
backend, model and adapter); :func:`clear_model_cache` releases them.

Problems the user can fix — no run, no GGUF export, server unreachable, model not pulled —
raise :class:`~assistant.chat_common.BackendError` with a message that says what to run or set.
The served backends' loaders are in :mod:`assistant.served_chat`.
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path
from typing import Any, Callable

from langchain_core.language_models import BaseChatModel

from assistant.chat_common import BackendError
from assistant.served_chat import load_ollama, load_openai
from core.config import Settings
from finetune.base_models import BaseModelError, assemble_packaged_gguf
from finetune.registry import get_entry
from finetune.runs import Run, RunError

log = logging.getLogger(__name__)

_CACHE: dict[tuple[str, ...], BaseChatModel] = {}  # key: backend, model, adapter (or endpoint)
_CACHE_LOCK = threading.Lock()


# --- model files --------------------------------------------------------------------------------


def resolve_run(settings: Settings) -> Run:
    """The fine-tuning run ``settings.run`` (a path, or a name under ``<workdir>/runs``)."""
    if settings.run is None:
        raise BackendError(
            "The fine-tuned and hybrid modes need a fine-tuning run: pass --run RUN (or set `run` in dyag.toml / "
            "DYAG_RUN). Train one with `dyag finetune`; `dyag runs` lists them."
        )
    try:
        return Run.find(settings.run, settings.runs_dir)
    except RunError as exc:
        raise BackendError(str(exc)) from None


def resolve_gguf(settings: Settings, finetuned: bool) -> tuple[Path, str | None]:
    """The GGUF file the llama.cpp backend loads, and the chat family to use if it has no template.

    * fine-tuned: the run's exported model GGUF (:meth:`finetune.runs.Run.latest_gguf`);
    * a path ending in ``.gguf``;
    * a packaged registry model (``qwen2.5-coder:0.5b``): assembled once under ``<workdir>/models/gguf``.
    """
    if finetuned:
        run = resolve_run(settings)
        gguf = run.latest_gguf()
        if gguf is None:
            raise BackendError(
                f"The run {run.name} has no GGUF export for the llama.cpp backend. "
                f"Run `dyag export --run {settings.run} --format gguf`, or use `--backend transformers` "
                "to serve the run's adapter without exporting."
            )
        return gguf, run.base_family() if run.exists() else None
    spec = settings.generator_model
    if spec.lower().endswith(".gguf"):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise BackendError(f"GGUF file {path} not found; set generator_model to an existing .gguf file.")
        return path, None
    return _packaged_gguf(spec, settings.models_dir)


@functools.lru_cache(maxsize=None)
def _packaged_gguf(spec: str, models_dir: Path) -> tuple[Path, str | None]:
    # Memoised: assembling checks the package chunks and the file's sha256 (~1 s), too slow per question.
    entry = get_entry(spec)
    if entry is None or not entry.packaged:
        raise BackendError(
            f"The llama.cpp backend needs a GGUF model, and {spec!r} is neither a packaged model nor a .gguf file. "
            "Set generator_model to a packaged model (`dyag models`) or to a .gguf path, or use `--backend transformers`."
        )
    try:
        return assemble_packaged_gguf(entry, models_dir / "gguf"), entry.family
    except BaseModelError as exc:
        raise BackendError(str(exc)) from exc


# --- the loaders, one per backend of core.choices.BACKENDS ------------------------------------------


def _generation(settings: Settings) -> dict[str, Any]:
    return {"max_tokens": settings.max_new_tokens, "temperature": settings.temperature}


def _llamacpp(settings: Settings, finetuned: bool) -> BaseChatModel:
    gguf, family = resolve_gguf(settings, finetuned)

    def load() -> BaseChatModel:
        from assistant.llamacpp_chat import LlamaCppChatModel

        return LlamaCppChatModel.from_gguf(gguf, family=family, n_threads=settings.generator_threads)

    # The path as given, not resolved: a run's exported GGUF is its own model even if it is a link.
    return _cached_local(("llamacpp", str(gguf.absolute()), str(settings.generator_threads)), _generation(settings), load)


def _transformers(settings: Settings, finetuned: bool) -> BaseChatModel:
    run = resolve_run(settings) if finetuned else None
    try:
        adapter = run.require_adapter() if run is not None else None
        base = run.base_model_spec() if run is not None else settings.generator_model
    except RunError as exc:
        raise BackendError(str(exc)) from None

    def load() -> BaseChatModel:
        try:
            import peft  # noqa: F401  (fail here, with the install command, rather than mid-load)
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError as exc:
            raise BackendError(
                f"The transformers backend needs {exc.name}: pip install torch==2.13.0 first, then pip install 'dyag[llm]'."
            ) from None
        from assistant.transformers_chat import TransformersChatModel

        return TransformersChatModel.load(base, models_dir=settings.models_dir, adapter=adapter)

    key = ("transformers", base, str(adapter.absolute()) if adapter else "")
    return _cached_local(key, _generation(settings), load)


def _ollama(settings: Settings, finetuned: bool) -> BaseChatModel:
    # The served backends are cheap HTTP clients: one per configuration.
    key = ("ollama", settings.generator_model, settings.ollama_host, *map(str, _generation(settings).values()))
    return _cached(key, lambda: load_ollama(settings))


def _openai(settings: Settings, finetuned: bool) -> BaseChatModel:
    key = ("openai", settings.generator_model, settings.openai_base_url, *map(str, _generation(settings).values()))
    return _cached(key, lambda: load_openai(settings))


LOADERS: dict[str, Callable[[Settings, bool], BaseChatModel]] = {
    "llamacpp": _llamacpp,
    "transformers": _transformers,
    "ollama": _ollama,
    "openai": _openai,
}


def load_chat_model(settings: Settings, *, finetuned: bool = False) -> BaseChatModel:
    """The LangChain chat model for ``settings.backend`` (see the module docstring), cached per process.

    ``finetuned=True`` serves the fine-tuning run ``settings.run``: its exported GGUF (llama.cpp)
    or its LoRA adapter on its base model (transformers). The served backends (Ollama, OpenAI)
    ignore it: the served model name *is* the choice of model.

    Generation settings come from ``max_new_tokens`` and ``temperature``; they can also be
    overridden per call (``model.invoke(messages, max_tokens=32, stop=["\\n"])``).
    """
    return LOADERS[settings.backend](settings, finetuned)


def clear_model_cache() -> None:
    """Forget every cached model, closing llama.cpp models now (their memory is freed at once)."""
    with _CACHE_LOCK:
        models = list(_CACHE.values())
        _CACHE.clear()
    for model in models:
        close = getattr(model, "close", None)
        if callable(close):
            close()


def _cached(key: tuple[str, ...], load: Callable[[], BaseChatModel]) -> BaseChatModel:
    # Loading under the lock: two threads asking for the same model must not load it twice.
    with _CACHE_LOCK:
        model = _CACHE.get(key)
        if model is None:
            model = _CACHE[key] = load()
        return model


def _cached_local(
    weights_key: tuple[str, ...], generation: dict[str, Any], load: Callable[[], BaseChatModel]
) -> BaseChatModel:
    """An in-process model: weights loaded once per ``weights_key``, one (cheap) copy per generation setting.

    Copies share the loaded weights (and, for llama.cpp, the native handle and its lock).
    """
    key = (*weights_key, *map(str, generation.values()))
    with _CACHE_LOCK:
        model = _CACHE.get(key)
        if model is None:
            loaded = next((m for k, m in _CACHE.items() if k[: len(weights_key)] == weights_key), None) or load()
            model = _CACHE[key] = loaded.model_copy(update=generation)
        return model
