"""A LangChain chat model over a transformers causal LM, optionally with a fine-tuning run's LoRA adapter.

This is the backend that serves a run straight after ``dyag finetune``, with no export step, and
any hub model or local folder. It is slower than llama.cpp on CPU (fp32: ~10 tokens/s for
Gemma-270M on 2 cores), so the embedded default stays ``llamacpp``.

Prompts are rendered by :func:`finetune.chat_format.render_prompt` with the tokenizer the run
saved next to its adapter — the very template and tokenizer training used — and generation stops
at the template's turn end (:func:`finetune.chat_format.stop_token_ids`). The adapter is merged
into the base weights at load time: the same outputs as ``PeftModel``, without its per-layer
overhead.

Usage outside Dyag::

    model = TransformersChatModel.load("gemma3-270m", models_dir=Path(".dyag/models"),
                                       adapter=Path(".dyag/runs/r1/adapter"), max_tokens=64)
    model.invoke("Quel est le statut de ADES ?")
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from assistant.chat_common import BackendError, cut_at_stop, prompt_segments, to_chat_messages

log = logging.getLogger(__name__)

_BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")  # SentencePiece byte fallback (Gemma, Llama 2…)


class TransformersChatModel(BaseChatModel):
    """A transformers causal LM (+ merged LoRA adapter); build it with :meth:`load`."""

    model_name: str
    adapter_path: str | None = None
    max_tokens: int = 96
    temperature: float = 0.0
    stop: list[str] = Field(default_factory=list, description="Stop sequences added to the template's turn end.")
    _model: Any = PrivateAttr()
    _tokenizer: Any = PrivateAttr()
    _stop_ids: list[int] = PrivateAttr()
    _byte_ids: frozenset[int] = PrivateAttr(default=frozenset())
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def load(
        cls,
        base: str,
        *,
        models_dir: Path,
        adapter: Path | None = None,
        max_tokens: int = 96,
        temperature: float = 0.0,
    ) -> "TransformersChatModel":
        """Load ``base`` (registry name, folder or hub id — see :mod:`finetune.base_models`) and ``adapter``.

        With an adapter, the tokenizer saved next to it is used: it holds the chat template the
        run was trained with. CPU runs in fp32 (bf16 is slower without AMX); CUDA in bf16.
        """
        import torch

        from finetune.base_models import (
            BaseModelError,
            load_causal_lm,
            load_tokenizer,
            resolve_model,
        )
        from finetune.chat_format import ensure_chat_template, stop_token_ids

        started = time.perf_counter()
        try:
            resolved = resolve_model(base, models_dir)
            if adapter is not None:
                from transformers import AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(adapter)
                ensure_chat_template(tokenizer, resolved.family)
            else:
                tokenizer = load_tokenizer(resolved)
            if torch.cuda.is_available():
                model = load_causal_lm(resolved, dtype=torch.bfloat16, device_map={"": 0})
            else:
                model = load_causal_lm(resolved, dtype=torch.float32)
        except (BaseModelError, ValueError) as exc:
            raise BackendError(str(exc)) from exc
        if adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
        model.eval()
        chat = cls(
            model_name=resolved.name, adapter_path=str(adapter) if adapter else None,
            max_tokens=max_tokens, temperature=temperature,
        )
        chat._model, chat._tokenizer, chat._stop_ids = model, tokenizer, stop_token_ids(tokenizer)
        chat._byte_ids = frozenset(i for token, i in tokenizer.get_vocab().items() if _BYTE_TOKEN.fullmatch(token))
        log.info("Loaded %s%s with transformers in %.1f s.", resolved.name, f" + {adapter}" if adapter else "", time.perf_counter() - started)
        return chat

    @property
    def _llm_type(self) -> str:
        return "dyag-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "adapter": self.adapter_path, "max_tokens": self.max_tokens, "temperature": self.temperature}

    def _prepare(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> tuple[Any, dict[str, Any], list[str]]:
        import torch
        from transformers import GenerationConfig

        from finetune.chat_format import render_prompt

        tokenizer = self._tokenizer
        ids: list[int] = []
        for text, markup, _ in prompt_segments(lambda m: render_prompt(m, tokenizer), to_chat_messages(messages)):
            # The rendered text already holds <bos>: no special tokens added. Message contents are
            # data: a "<end_of_turn>" in them stays text (split_special_tokens), as in llama.cpp.
            ids += tokenizer(text, add_special_tokens=False, split_special_tokens=not markup)["input_ids"]
        input_ids = torch.tensor([ids], device=self._model.device)
        inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
        temperature = kwargs.get("temperature", self.temperature)
        stops = [*self.stop, *(stop or [])]
        # A fresh GenerationConfig, so the checkpoint's sampling defaults (top_k, top_p…) never apply.
        config = GenerationConfig(
            max_new_tokens=kwargs.get("max_tokens", self.max_tokens),
            do_sample=temperature > 0,
            temperature=temperature if temperature > 0 else None,
            eos_token_id=self._stop_ids,
            pad_token_id=tokenizer.pad_token_id,
            stop_strings=stops or None,
        )
        generate_args = {**inputs, "generation_config": config}
        if stops:
            generate_args["tokenizer"] = tokenizer  # stop_strings needs it to match text across tokens
        return inputs["input_ids"], generate_args, stops

    def _result(self, prompt_ids: Any, output: Any, stopped: bool) -> tuple[dict[str, Any], UsageMetadata]:
        new_ids = output[0, prompt_ids.shape[1]:].tolist()
        ended = stopped or bool(new_ids and new_ids[-1] in self._stop_ids)
        metadata = {"model_name": self.model_name, "finish_reason": "stop" if ended else "length", "generated_tokens": len(new_ids)}
        prompt_len = int(prompt_ids.shape[1])
        usage = UsageMetadata(input_tokens=prompt_len, output_tokens=len(new_ids), total_tokens=prompt_len + len(new_ids))
        return metadata, usage

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        import torch

        prompt_ids, generate_args, stops = self._prepare(messages, stop, **kwargs)
        with self._lock, torch.inference_mode():
            output = self._model.generate(**generate_args)
        text = self._decode(output[0, prompt_ids.shape[1]:].tolist())
        text, stopped = cut_at_stop(text, stops)  # generate keeps the stop string; LangChain's contract drops it
        metadata, usage = self._result(prompt_ids, output, stopped)
        message = AIMessage(content=text, response_metadata=metadata, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _decode(self, ids: list[int]) -> str:
        # No clean-up of tokenization spaces: it would make the text of a prefix of the ids differ
        # from the beginning of the text of all of them, and the stream from the invoke.
        return self._tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Stream exactly the text :meth:`_generate` returns.

        Tokens are decoded all together each time, not one by one: a token can hold half a UTF-8
        character ("é" is two tokens), which decodes alone as U+FFFD. Two kinds of text are held
        back until they are final: text ending in U+FFFD (the character is not complete yet), and a
        trailing run of byte-fallback tokens (``<0xC3>``) — the tokenizers library decodes such a run
        as a whole and, if it is not valid UTF-8, as one U+FFFD per byte, so a later byte can change
        what the run's beginning decodes to. The pieces therefore add up to exactly the decoding of
        the whole answer.
        """
        import queue

        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList
        from transformers.generation.streamers import BaseStreamer

        prompt_ids, generate_args, stops = self._prepare(messages, stop, **kwargs)
        tokens: queue.Queue[list[int] | None] = queue.Queue()
        cancelled = threading.Event()
        outcome: dict[str, Any] = {}
        prompt_len = int(prompt_ids.shape[1])

        class _Ids(BaseStreamer):
            def __init__(self) -> None:
                self.prompt_seen = False

            def put(self, value: Any) -> None:
                if not self.prompt_seen:  # generate() first puts the prompt
                    self.prompt_seen = True
                    return
                tokens.put(value.reshape(-1).tolist())

            def end(self) -> None:
                tokens.put(None)

        class _Cancelled(StoppingCriteria):
            # A consumer that stops reading (closed web request, break) stops the generation too.
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool, device=input_ids.device)

        def run() -> None:
            try:
                with torch.inference_mode():
                    outcome["output"] = self._model.generate(
                        **generate_args, streamer=_Ids(), stopping_criteria=StoppingCriteriaList([_Cancelled()])
                    )
            except BaseException as exc:  # re-raised in the caller's thread below
                outcome["error"] = exc
                tokens.put(None)  # unblock the consumer

        # Text that could be the start of a stop sequence is held back until it is known not to be.
        holdback = max((len(s) for s in stops), default=1) - 1
        generated: list[int] = []
        emitted, stopped = "", False
        with self._lock:
            worker = threading.Thread(target=run, name="dyag-generate", daemon=True)
            worker.start()
            try:
                while (new := tokens.get()) is not None:
                    if stopped:
                        continue  # drain: generation halts by itself at the stop string
                    generated += new
                    settled = len(generated)
                    while settled and generated[settled - 1] in self._byte_ids:
                        settled -= 1
                    text, stopped = cut_at_stop(self._decode(generated[:settled]), stops)
                    ready = text if stopped else text[: len(text) - holdback].rstrip("\ufffd")
                    if len(ready) > len(emitted) and ready.startswith(emitted):
                        yield self._chunk(ready[len(emitted):], run_manager)
                        emitted = ready
            finally:
                cancelled.set()  # no-op when generation already ended
                worker.join()
        if "error" in outcome:
            raise outcome["error"]
        output = outcome["output"]
        final, stopped = cut_at_stop(self._decode(output[0, prompt_len:].tolist()), stops)
        if final.startswith(emitted) and len(final) > len(emitted):
            yield self._chunk(final[len(emitted):], run_manager)
        metadata, usage = self._result(prompt_ids, output, stopped)
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", response_metadata=metadata, usage_metadata=usage, chunk_position="last")
        )

    @staticmethod
    def _chunk(text: str, run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
        if run_manager:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk
