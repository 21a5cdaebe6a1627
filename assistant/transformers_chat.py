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

from assistant.chat_common import BackendError, cut_at_stop, to_chat_messages

log = logging.getLogger(__name__)


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
        log.info("Loaded %s%s with transformers in %.1f s.", resolved.name, f" + {adapter}" if adapter else "", time.perf_counter() - started)
        return chat

    @property
    def _llm_type(self) -> str:
        return "dyag-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "adapter": self.adapter_path, "max_tokens": self.max_tokens, "temperature": self.temperature}

    def _prepare(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> tuple[Any, dict[str, Any], list[str]]:
        from transformers import GenerationConfig

        from finetune.chat_format import render_prompt

        tokenizer = self._tokenizer
        prompt = render_prompt(to_chat_messages(messages), tokenizer)
        # The rendered text already holds <bos>: adding special tokens again would double it.
        inputs = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").to(self._model.device)
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
        text = self._tokenizer.decode(output[0, prompt_ids.shape[1]:], skip_special_tokens=True)
        text, stopped = cut_at_stop(text, stops)  # generate keeps the stop string; LangChain's contract drops it
        metadata, usage = self._result(prompt_ids, output, stopped)
        message = AIMessage(content=text, response_metadata=metadata, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        import torch
        from transformers import (
            StoppingCriteria,
            StoppingCriteriaList,
            TextIteratorStreamer,
        )

        prompt_ids, generate_args, stops = self._prepare(messages, stop, **kwargs)
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancelled = threading.Event()
        outcome: dict[str, Any] = {}

        class _Cancelled(StoppingCriteria):
            # A consumer that stops reading (closed web request, break) stops the generation too.
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool, device=input_ids.device)

        def run() -> None:
            try:
                with torch.inference_mode():
                    outcome["output"] = self._model.generate(
                        **generate_args, streamer=streamer, stopping_criteria=StoppingCriteriaList([_Cancelled()])
                    )
            except BaseException as exc:  # re-raised in the caller's thread below
                outcome["error"] = exc
                streamer.end()  # unblock the consumer

        # Text that could be the start of a stop sequence is held back until it is known not to be.
        holdback = max((len(s) for s in stops), default=1) - 1
        pending, stopped = "", False
        with self._lock:
            worker = threading.Thread(target=run, name="dyag-generate", daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    if stopped:
                        continue  # drain: generation halts by itself at the stop string
                    pending += piece
                    pending, stopped = cut_at_stop(pending, stops)
                    ready = pending if stopped else pending[: len(pending) - holdback]
                    pending = pending[len(ready):]
                    if ready:
                        yield self._chunk(ready, run_manager)
            finally:
                cancelled.set()  # no-op when generation already ended
                worker.join()
        if "error" in outcome:
            raise outcome["error"]
        if pending and not stopped:
            yield self._chunk(pending, run_manager)
        metadata, usage = self._result(prompt_ids, outcome["output"], stopped)
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", response_metadata=metadata, usage_metadata=usage, chunk_position="last")
        )

    @staticmethod
    def _chunk(text: str, run_manager: CallbackManagerForLLMRun | None) -> ChatGenerationChunk:
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
        if run_manager:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk
