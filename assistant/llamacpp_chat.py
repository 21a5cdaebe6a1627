"""A LangChain chat model that runs a GGUF in process with llama-cpp-python (Dyag's embedded default).

How a call works:

1. the LangChain messages are rendered with the model's chat template — the template stored in
   the GGUF if it has one (a fine-tuned export carries the template it was trained with), else
   the family template of :mod:`finetune.chat_format` (the packaged Gemma-3-270M is a base model
   without one: it gets ``GEMMA_TEMPLATE``, exactly what training gives its tokenizer). Rendering
   goes through transformers' own Jinja renderer, the code ``apply_chat_template`` runs at
   training time, so the prompt text is identical;
2. the prompt is tokenized piece by piece (:func:`assistant.chat_common.prompt_segments`): the
   template's markup with special tokens parsed, the message contents as plain text — so a
   catalog record holding ``<|im_end|>`` or ``<end_of_turn>`` cannot end a turn — and *no* BOS
   added (the template writes ``<bos>`` itself), the same ids as training's tokenization;
3. the KV cache keeps the system prompt: every call starts from the state right after it (computed
   once, always the same way), so only the user turn is read again. Answers therefore never depend
   on the question asked before. Not for sliding-window models (Gemma-3), whose cache cannot be
   cut back: they re-read the whole prompt, as before;
4. ``Llama.create_completion`` generates, greedily at temperature 0, until an end-of-generation
   token (llama.cpp knows ``<eos>``/``<end_of_turn>``), the template's turn end, a caller's stop
   sequence or ``max_tokens``.

Usage outside Dyag::

    model = LlamaCppChatModel.from_gguf("gemma-3-270m-q4_k_m.gguf", family="gemma", max_tokens=64)
    model.invoke([SystemMessage("…"), HumanMessage("Quel est le statut de ADES ?")])
    for chunk in model.stream("Bonjour"):
        print(chunk.content, end="")
    model.close()

One ``Llama`` context serves one generation at a time: calls are serialised by a lock, so the
model can be shared by the threads of a web server. At most :data:`MAX_CALLS_IN_LINE` calls wait
for it (beyond, :class:`~assistant.chat_common.GeneratorBusyError` at once), and ``close()`` stops
the running generation at its next token.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from assistant.chat_common import BackendError, GeneratorBusyError, PromptTooLongError, prompt_segments, to_chat_messages

log = logging.getLogger(__name__)

# The models handle 32k tokens; 4096 holds the system prompt, the facts and the answer with room
# to spare, and costs only a few MB of KV cache on a sub-1B model.
DEFAULT_N_CTX = 4096

# Calls in line for one model (the one generating included); more are refused at once: an endless
# line would hold every thread of a web server, and with them the answers that need no model.
MAX_CALLS_IN_LINE = 4

_ANSWER_SLOT = "DYAGANSWERSLOT"
_FAMILY_BY_ARCHITECTURE = {"gemma": "gemma", "gemma2": "gemma", "gemma3": "gemma", "qwen2": "chatml", "qwen3": "chatml"}


def available_cores() -> int:
    """CPU cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _LlamaHandle:
    """The loaded ``Llama`` and its lock, shared by copies of a chat model; closed once."""

    def __init__(self, llama: Any, prefix_cache: bool) -> None:
        self.llama = llama
        self.lock = threading.Lock()
        self.prefix_cache = prefix_cache
        self.closing = threading.Event()
        self._in_line = 0
        self._line_lock = threading.Lock()

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Hold the model for one call, after the calls before it; :class:`GeneratorBusyError` if the line is full."""
        with self._line_lock:
            if self._in_line >= MAX_CALLS_IN_LINE:
                raise GeneratorBusyError(f"{MAX_CALLS_IN_LINE} answers already wait for the model; try again in a few seconds.")
            self._in_line += 1
        try:
            with self.lock:
                yield
        finally:
            with self._line_lock:
                self._in_line -= 1

    def close(self) -> None:
        # Set before taking the lock: the generation holding it stops at its next token, and the
        # calls queued behind it find the model closed, instead of each generating in turn first.
        self.closing.set()
        with self.lock:
            if self.llama is not None:
                self.llama.close()
                self.llama = None

    def __del__(self) -> None:
        # llama-cpp-python frees native memory only in close(); do it when the last user is gone.
        llama = getattr(self, "llama", None)
        if llama is not None:
            llama.close()


class ChatTemplate:
    """A Jinja chat template with the special-token strings it needs, rendered like transformers does."""

    def __init__(self, template: str, bos_token: str, eos_token: str) -> None:
        self.template = template
        self.tokens = {"bos_token": bos_token, "eos_token": eos_token}

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        from transformers.utils.chat_template_utils import render_jinja_template

        rendered, _ = render_jinja_template(
            conversations=[messages], chat_template=self.template, add_generation_prompt=add_generation_prompt, **self.tokens
        )
        return rendered[0]

    @cached_property
    def turn_end(self) -> str:
        """The text closing an assistant turn (``<eos>`` for Dyag's Gemma template), as in training."""
        messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": _ANSWER_SLOT}]
        end = self.render(messages, add_generation_prompt=False).split(_ANSWER_SLOT, 1)[1].strip()
        if not end:
            raise BackendError("The model's chat template does not close assistant turns with a token; it would never stop.")
        return end


class LlamaCppChatModel(BaseChatModel):
    """A GGUF model served in process by llama-cpp-python; build it with :meth:`from_gguf`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    chat_template: ChatTemplate = Field(exclude=True)
    max_tokens: int = 96
    temperature: float = 0.0
    stop: list[str] = Field(default_factory=list, description="Stop sequences added to the template's turn end.")
    _handle: _LlamaHandle = PrivateAttr()

    @classmethod
    def from_gguf(
        cls,
        path: str | Path,
        *,
        family: str | None = None,
        max_tokens: int = 96,
        temperature: float = 0.0,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
    ) -> "LlamaCppChatModel":
        """Load ``path``; ``family`` (``gemma``, ``chatml``, ``zephyr``) picks the template if the GGUF has none.

        ``n_threads``: generation and prompt threads (default: every core this process may use).
        """
        try:
            from llama_cpp import Llama
        except ImportError:
            raise BackendError(
                "The llama.cpp backend needs llama-cpp-python: pip install llama-cpp-python "
                "(it compiles llama.cpp, ~6 min on 2 cores), or use `--backend transformers`."
            ) from None
        started = time.perf_counter()
        # All the cores we may use, for generation as for the prompt: on an idle 2-core machine two
        # threads generate 1.55x faster than llama.cpp's default of half the cores (46.6 vs 30.0
        # tokens/s, Qwen2.5-0.5B). llama.cpp's workers spin while they wait, so on a machine shared
        # with a busy neighbour fewer threads are faster: set generator_threads (DYAG_GENERATOR_THREADS).
        threads = n_threads or available_cores()
        try:
            llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"llama.cpp cannot load {path}: {exc}. Is it a complete GGUF file?") from exc
        architecture = llama.metadata.get("general.architecture", "")
        handle = _LlamaHandle(llama, prefix_cache=f"{architecture}.attention.sliding_window" not in llama.metadata)
        try:
            template = _template_for(llama, family, path)
        except BackendError:
            handle.close()
            raise
        model = cls(model_path=str(path), chat_template=template, max_tokens=max_tokens, temperature=temperature)
        model._handle = handle
        log.info("Loaded %s with llama.cpp in %.2f s.", path, time.perf_counter() - started)
        return model

    @property
    def _llm_type(self) -> str:
        return "dyag-llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "max_tokens": self.max_tokens, "temperature": self.temperature}

    def close(self) -> None:
        """Free the model's native memory now; this model (and its copies) can no longer generate."""
        self._handle.close()

    def tokenize(self, messages: list[dict[str, str]]) -> tuple[list[int], int]:
        """The prompt's token ids, and how many of them precede the first user content (the cached prefix)."""
        llama = self._handle.llama
        tokens: list[int] = []
        prefix = 0
        for text, markup, role in prompt_segments(self.chat_template.render, messages):
            if role == "user" and not prefix:
                prefix = len(tokens)
            # The template writes <bos> itself; special=True turns it (and <|im_start|>…) into their ids.
            tokens += llama.tokenize(text.encode("utf-8"), add_bos=False, special=markup)
        return tokens, prefix

    def _completion_args(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> tuple[list[int], dict[str, Any]]:
        llama = self._handle.llama
        if llama is None or self._handle.closing.is_set():
            raise BackendError("This llama.cpp model was closed (the server is stopping, or clear_model_cache() ran).")
        tokens, prefix = self.tokenize(to_chat_messages(messages))
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if len(tokens) + max_tokens > llama.n_ctx():
            raise PromptTooLongError(
                f"The prompt is {len(tokens)} tokens long: with {max_tokens} tokens to generate it exceeds the model's "
                f"context of {llama.n_ctx()} tokens. Ask a shorter question, or lower context_tokens."
            )
        self._start_from_prefix(tokens[:prefix])
        from llama_cpp import StoppingCriteriaList  # loaded already: this model was loaded by it

        closing = self._handle.closing
        args = {
            "max_tokens": max_tokens,
            "temperature": kwargs.get("temperature", self.temperature),
            "stop": [self.chat_template.turn_end, *self.stop, *(stop or [])],
            "stopping_criteria": StoppingCriteriaList([lambda _ids, _logits: closing.is_set()]),
        }
        return tokens, args

    def _start_from_prefix(self, prefix: list[int]) -> None:
        """Leave the KV cache holding exactly ``prefix`` (the system prompt), evaluated alone.

        llama-cpp-python reuses the longest cached prefix of the next prompt. Left to itself, that
        prefix would depend on the previous question, and so — through float rounding — could the
        answer. Cutting the cache back to the system prompt, always evaluated by itself, makes
        every answer a function of its own prompt only, and saves re-reading ~100 tokens per call.
        """
        llama = self._handle.llama
        if not (self._handle.prefix_cache and prefix):
            llama.reset()
            return
        cached = llama.n_tokens >= len(prefix) and llama.input_ids[: len(prefix)].tolist() == prefix
        if not cached:
            llama.reset()
            llama.eval(prefix)
        llama.n_tokens = len(prefix)

    def _raise_if_cut(self) -> None:
        # A generation stopped by close() is cut short: it must not pass for a complete answer.
        if self._handle.closing.is_set():
            raise BackendError("The answer was cut short: the llama.cpp model was closed (the server is stopping).")

    def _generated(self, prompt_tokens: list[int]) -> int:
        # llama.cpp evaluates every sampled token but the last, so the context grows by n - 1: this
        # counts sampled tokens (the end-of-turn token included) alike for streamed and plain calls.
        return self._handle.llama.n_tokens - len(prompt_tokens) + 1

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._handle.turn():
            tokens, args = self._completion_args(messages, stop, **kwargs)
            output = self._handle.llama.create_completion(tokens, stream=False, **args)
            generated = self._generated(tokens)
            self._raise_if_cut()
        choice = output["choices"][0]
        message = AIMessage(
            content=choice["text"],
            response_metadata=_metadata(self.model_path, choice["finish_reason"], generated),
            usage_metadata=_usage(len(tokens), generated),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with self._handle.turn():
            tokens, args = self._completion_args(messages, stop, **kwargs)
            finish_reason = None
            for part in self._handle.llama.create_completion(tokens, stream=True, **args):
                choice = part["choices"][0]
                finish_reason = choice["finish_reason"] or finish_reason
                if choice["text"]:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=choice["text"]))
                    if run_manager:
                        run_manager.on_llm_new_token(choice["text"], chunk=chunk)
                    yield chunk
            generated = self._generated(tokens)
            self._raise_if_cut()
        # The counts travel in a last, empty chunk so that the aggregated message carries them once.
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                response_metadata=_metadata(self.model_path, finish_reason, generated),
                usage_metadata=_usage(len(tokens), generated),
                chunk_position="last",
            )
        )


def _metadata(model_path: str, finish_reason: str | None, generated: int) -> dict[str, Any]:
    return {"model_name": Path(model_path).name, "finish_reason": finish_reason, "generated_tokens": generated}


def _usage(prompt_tokens: int, generated: int) -> UsageMetadata:
    return UsageMetadata(input_tokens=prompt_tokens, output_tokens=generated, total_tokens=prompt_tokens + generated)


def _template_for(llama: Any, family: str | None, path: str | Path) -> ChatTemplate:
    """The GGUF's own chat template, else the family's (given, or guessed from the architecture)."""
    from finetune.chat_format import FAMILY_TEMPLATES

    bos = llama.detokenize([llama.token_bos()], special=True).decode("utf-8", errors="replace")
    eos = llama.detokenize([llama.token_eos()], special=True).decode("utf-8", errors="replace")
    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        family = family or _FAMILY_BY_ARCHITECTURE.get(llama.metadata.get("general.architecture", ""))
        template = FAMILY_TEMPLATES.get(family or "")
    if not template:
        raise BackendError(
            f"{path} has no chat template and its model family is unknown; export it from a tokenizer that has "
            f"one, or use a model of the families {sorted(FAMILY_TEMPLATES)}."
        )
    return ChatTemplate(template, bos, eos)
