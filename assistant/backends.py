"""The generator behind the assistant: one LangChain chat model per backend, chosen by configuration.

Every backend is a LangChain :class:`~langchain_core.language_models.BaseChatModel`, so Dyag's
assistant can use any LangChain chat model, and Dyag's models can be used in any LangChain app:

================  ================================================================================
``backend``       What :func:`load_chat_model` returns
================  ================================================================================
``llamacpp``      :class:`~assistant.llamacpp_chat.LlamaCppChatModel`: a GGUF run in process by
                  llama-cpp-python (the embedded default: sub-second loads, ~50 tokens/s on 2 cores).
                  Base mode: the packaged Gemma-3-270M (``generator_model = "gemma3-270m"``) or a
                  ``.gguf`` path. Fine-tuned mode: the GGUF that ``dyag export --format gguf`` wrote
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
streams only when the server sends usage). Use :func:`generated_tokens` to read it.

Models are cached per process (:func:`load_chat_model` returns the same object for the same
backend, model and adapter); :func:`clear_model_cache` releases them.

Problems the user can fix — no run, no GGUF export, server unreachable, model not pulled —
raise :class:`BackendError` with a message that says what to run or set.
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from ingestion.config import Settings

log = logging.getLogger(__name__)

_CACHE: dict[tuple[str, ...], BaseChatModel] = {}  # key: backend, model, adapter (or endpoint)
_CACHE_LOCK = threading.Lock()


class BackendError(RuntimeError):
    """A generator cannot be loaded or reached; the message says which command to run or what to set."""


# --- helpers shared by the in-process chat models -------------------------------------------------

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def to_chat_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as the ``{"role", "content"}`` dicts that chat templates (and training data) use.

    Only system, human and AI messages exist in Dyag's prompt contract (:mod:`ingestion.prompts`);
    tool or function messages would be silently mis-rendered by a chat template, so they are refused.
    """
    converted = []
    for message in messages:
        role = _ROLES.get(message.type)
        if role is None:
            raise ValueError(f"{message.type!r} messages are not supported by Dyag's local chat models.")
        converted.append({"role": role, "content": message.text})
    return converted


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the earliest stop sequence, and whether one was found."""
    positions = [text.find(s) for s in stops if s and s in text]
    if not positions:
        return text, False
    return text[: min(positions)], True


def generated_tokens(message: BaseMessage) -> int | None:
    """How many tokens the model generated for ``message`` (any backend), or ``None`` if unknown.

    Dyag's own models put it in ``response_metadata["generated_tokens"]`` and ``usage_metadata``;
    ChatOllama and ChatOpenAI fill ``usage_metadata["output_tokens"]`` from the server's counters.
    """
    count = message.response_metadata.get("generated_tokens")
    if count is None and isinstance(message, AIMessage) and message.usage_metadata:
        count = message.usage_metadata.get("output_tokens")
    return count


# --- model files --------------------------------------------------------------------------------


def resolve_run(settings: Settings) -> Path:
    """The folder of the fine-tuning run ``settings.run`` (a path, or a name under ``<workdir>/runs``)."""
    if settings.run is None:
        raise BackendError(
            "The fine-tuned mode needs a fine-tuning run: pass --run RUN (or set `run` in dyag.toml / DYAG_RUN). "
            "Train one with `dyag finetune`."
        )
    for candidate in (Path(settings.run).expanduser(), settings.runs_dir / settings.run):
        if candidate.is_dir():
            return candidate
    raise BackendError(
        f"Fine-tuning run {settings.run} not found (looked in the current directory and in {settings.runs_dir}). "
        "Train one with `dyag finetune`, or pass the path of an existing run with --run."
    )


def find_run_gguf(run_dir: Path) -> Path | None:
    """The model GGUF that ``dyag export`` wrote for a run (``<run>/export/model-QUANT.gguf``); newest wins.

    The export folder may also hold ``adapter-f16.gguf`` (a LoRA for Ollama's ADAPTER) and
    ``base-QUANT.gguf``: neither is the fine-tuned model, so only ``model-*`` files count.
    """
    from finetune.export import EXPORT_DIR

    found = [p for p in (run_dir / EXPORT_DIR).glob("model-*.gguf") if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def run_base_model(run_dir: Path) -> str:
    """The base model a run was trained on, as its manifest records it (folder if it still exists, else name)."""
    from finetune.tracking import MANIFEST, read_json

    base = (read_json(run_dir / MANIFEST) or {}).get("base_model") or {}
    location, name = base.get("location"), base.get("name")
    if location and Path(location).is_dir():
        return str(location)
    if name:
        return str(name)
    raise BackendError(f"Cannot tell which base model the run {run_dir} was trained on: it has no manifest.json.")


def _run_family(run_dir: Path) -> str | None:
    from finetune.tracking import MANIFEST, read_json

    return ((read_json(run_dir / MANIFEST) or {}).get("base_model") or {}).get("family")


def resolve_gguf(settings: Settings, finetuned: bool) -> tuple[Path, str | None]:
    """The GGUF file the llama.cpp backend loads, and the chat family to use if it has no template.

    * fine-tuned: the run's exported model GGUF (see :func:`find_run_gguf`);
    * a path ending in ``.gguf``;
    * a packaged registry model (``gemma3-270m``): assembled once under ``<workdir>/models/gguf``.
    """
    if finetuned:
        run_dir = resolve_run(settings)
        gguf = find_run_gguf(run_dir)
        if gguf is None:
            raise BackendError(
                f"The run {run_dir.name} has no GGUF export for the llama.cpp backend. "
                f"Run `dyag export --run {settings.run} --format gguf`, or use `--backend transformers` "
                "to serve the run's adapter without exporting."
            )
        return gguf, _run_family(run_dir)
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
    from finetune.base_models import BaseModelError, assemble_packaged_gguf
    from finetune.registry import get_entry

    entry = get_entry(spec)
    if entry is None or not entry.packaged:
        raise BackendError(
            f"The llama.cpp backend needs a GGUF model, and {spec!r} is neither a packaged model nor a .gguf file. "
            "Set generator_model to 'gemma3-270m' or to a .gguf path, or use `--backend transformers`."
        )
    try:
        return assemble_packaged_gguf(entry, models_dir / "gguf"), entry.family
    except BaseModelError as exc:
        raise BackendError(str(exc)) from exc


# --- the factory ----------------------------------------------------------------------------------


def load_chat_model(settings: Settings, *, finetuned: bool = False) -> BaseChatModel:
    """The LangChain chat model for ``settings.backend`` (see the module docstring), cached per process.

    ``finetuned=True`` serves the fine-tuning run ``settings.run``: its exported GGUF (llama.cpp)
    or its LoRA adapter on its base model (transformers). The served backends (Ollama, OpenAI)
    ignore it: the served model name *is* the choice of model.

    Generation settings come from ``max_new_tokens`` and ``temperature``; they can also be
    overridden per call (``model.invoke(messages, max_tokens=32, stop=["\\n"])``).
    """
    backend = settings.backend
    generation = {"max_tokens": settings.max_new_tokens, "temperature": settings.temperature}
    if backend == "llamacpp":
        gguf, family = resolve_gguf(settings, finetuned)
        # The path as given, not resolved: a run's exported GGUF is its own model even if it is a link.
        return _cached_local((backend, str(gguf.absolute()), ""), generation, lambda: _load_llamacpp(gguf, family))
    if backend == "transformers":
        run_dir = resolve_run(settings) if finetuned else None
        adapter = _adapter_dir(run_dir) if run_dir is not None else None
        base = run_base_model(run_dir) if run_dir is not None else settings.generator_model
        key = (backend, base, str(adapter.absolute()) if adapter else "")
        return _cached_local(key, generation, lambda: _load_transformers(base, adapter, settings.models_dir))
    # The served backends are cheap HTTP clients: one per configuration.
    if backend == "ollama":
        key = (backend, settings.generator_model, settings.ollama_host, *map(str, generation.values()))
        return _cached(key, lambda: _load_ollama(settings))
    if backend == "openai":
        key = (backend, settings.generator_model, settings.openai_base_url, *map(str, generation.values()))
        return _cached(key, lambda: _load_openai(settings))
    raise BackendError(f"Unknown backend {backend!r}: use llamacpp, transformers, ollama or openai.")


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


def _adapter_dir(run_dir: Path) -> Path:
    from finetune.train import ADAPTER_DIR

    adapter = run_dir / ADAPTER_DIR
    if not (adapter / "adapter_config.json").is_file():
        raise BackendError(
            f"The run {run_dir} holds no adapter ({adapter}/adapter_config.json is missing): "
            "its training did not finish. Resume it with `dyag finetune --resume`, or choose another --run."
        )
    return adapter


def _load_llamacpp(gguf: Path, family: str | None) -> BaseChatModel:
    from assistant.llamacpp_chat import LlamaCppChatModel

    return LlamaCppChatModel.from_gguf(gguf, family=family)


def _load_transformers(base: str, adapter: Path | None, models_dir: Path) -> BaseChatModel:
    try:
        import peft  # noqa: F401  (fail here, with the install command, rather than mid-load)
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise BackendError(
            f"The transformers backend needs {exc.name}: pip install torch==2.13.0 first, then pip install 'dyag[llm]'."
        ) from None
    from assistant.transformers_chat import TransformersChatModel

    return TransformersChatModel.load(base, models_dir=models_dir, adapter=adapter)


def _load_ollama(settings: Settings) -> BaseChatModel:
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        raise BackendError("The Ollama backend needs langchain-ollama: pip install 'dyag[serve]'.") from None

    try:
        # validate_model_on_init asks the server for its model list: an unreachable host or a model
        # that was never pulled/created fails here, with a message, rather than mid-answer.
        return ChatOllama(
            model=settings.generator_model,
            base_url=settings.ollama_host,
            temperature=settings.temperature,
            num_predict=settings.max_new_tokens,
            validate_model_on_init=True,
        )
    except (ValueError, ConnectionError) as exc:
        # langchain-ollama turns most failures into ValueError, but lets the ollama client's own
        # ConnectionError (raised for an unreachable host) through.
        cause = str(exc)
        if isinstance(exc, ConnectionError) or "Failed to connect" in cause:
            raise BackendError(
                f"Cannot reach the Ollama server at {settings.ollama_host}. Start it with `ollama serve`, "
                "or set ollama_host (DYAG_OLLAMA_HOST) to the address of a running server."
            ) from exc
        if "not found" in cause:
            raise BackendError(
                f"The Ollama server at {settings.ollama_host} has no model {settings.generator_model!r}. "
                f"Run `ollama pull {settings.generator_model}` (or `ollama create` with the Modelfile of "
                "`dyag export --format ollama`), or set generator_model to a model it serves."
            ) from exc
        raise BackendError(f"The Ollama server at {settings.ollama_host} answered with an error: {cause}") from exc


def _load_openai(settings: Settings) -> BaseChatModel:
    try:
        import openai
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise BackendError("The OpenAI-compatible backend needs langchain-openai: pip install 'dyag[serve]'.") from None

    model = ChatOpenAI(
        model=settings.generator_model,
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key,
        temperature=settings.temperature,
        max_tokens=settings.max_new_tokens,
    )
    # One cheap request now (no retries) turns "server down" and "bad key" into a clear message at
    # load time; servers that do not implement /models are accepted as they are.
    try:
        model.root_client.with_options(max_retries=0, timeout=10).models.list()
    except openai.APIConnectionError as exc:
        raise BackendError(
            f"Cannot reach the OpenAI-compatible endpoint at {settings.openai_base_url}. Start the server, "
            "or set openai_base_url (DYAG_OPENAI_BASE_URL) to its address (ending in /v1)."
        ) from exc
    except openai.AuthenticationError as exc:
        raise BackendError(
            f"The endpoint at {settings.openai_base_url} refused the API key: set openai_api_key (DYAG_OPENAI_API_KEY)."
        ) from exc
    except openai.APIStatusError as exc:
        log.debug("%s/models answered %s; not checking the model list.", settings.openai_base_url, exc.status_code)
    return model
