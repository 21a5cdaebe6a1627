"""Chat rendering shared by training, inference and the Ollama export — one format per model.

The rule that fixes the seeds' train/inference mismatch: every prompt is rendered by the
tokenizer's own chat template (``tokenizer.apply_chat_template``), at training time by
:func:`split_example`, at inference time by :func:`render_prompt`, and for Ollama by
:func:`ollama_template`, which is *derived from the same template* by rendering it with
placeholder strings. Only models that ship without a template get one from here
(:data:`FAMILY_TEMPLATES`).

Gemma-3-270M is a base model that never learned ``<end_of_turn>`` (its embedding is that of an
unused token), so a model fine-tuned to end turns with it never stops. Our Gemma template ends
assistant turns with ``<eos>``, a token the base model already emits at document ends.
"""

from __future__ import annotations

from typing import Any, Sequence

GEMMA_TEMPLATE = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}"
    "{% set system = messages[0]['content'] + '\n\n' %}{% set turns = messages[1:] %}"
    "{% else %}{% set system = '' %}{% set turns = messages %}{% endif %}"
    "{% for m in turns %}"
    "{% if m['role'] == 'user' %}"
    "<start_of_turn>user\n{{ (system if loop.first else '') + m['content'] }}<end_of_turn>\n"
    "{% elif m['role'] == 'assistant' %}"
    "<start_of_turn>model\n{{ m['content'] }}<eos>\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)

CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

ZEPHYR_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

# Used only when a tokenizer has no chat template of its own; the hub instruct models all have one.
FAMILY_TEMPLATES: dict[str, str] = {"gemma": GEMMA_TEMPLATE, "chatml": CHATML_TEMPLATE, "zephyr": ZEPHYR_TEMPLATE}

_SYSTEM_SLOT = "DYAGSYSTEMSLOT"
_PROMPT_SLOT = "DYAGPROMPTSLOT"
_ANSWER_SLOT = "DYAGANSWERSLOT"


def ensure_chat_template(tokenizer: Any, family: str | None) -> None:
    """Give ``tokenizer`` the family's template if it has none (base models, tiny test models)."""
    if getattr(tokenizer, "chat_template", None):
        return
    template = FAMILY_TEMPLATES.get(family or "", None)
    if template is None:
        raise ValueError(
            f"The tokenizer has no chat template and the model family {family!r} has no default one; "
            f"use a model with a chat template or one of the families {sorted(FAMILY_TEMPLATES)}."
        )
    tokenizer.chat_template = template


def _apply(tokenizer: Any, messages: Sequence[dict[str, str]], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=generation_prompt)


def render_prompt(messages: Sequence[dict[str, str]], tokenizer: Any) -> str:
    """The text the model sees before it answers: every message except a final assistant turn.

    Special tokens (``<bos>``) are part of the text, so tokenize it with ``add_special_tokens=False``.
    """
    if messages and messages[-1]["role"] == "assistant":
        messages = messages[:-1]
    return _apply(tokenizer, messages, generation_prompt=True)


def split_example(messages: Sequence[dict[str, str]], tokenizer: Any) -> tuple[str, str]:
    """A training example as (prompt, completion): the completion is what the loss is computed on.

    The completion is the answer followed by the template's turn end (``<eos>``, ``<|im_end|>``…),
    taken from the full rendering minus the prompt rendering, so it is exactly what the template
    would write. Trailing whitespace after the turn end is dropped: generation stops at the turn end.
    """
    if not messages or messages[-1]["role"] != "assistant":
        raise ValueError("A training example must end with an assistant message.")
    prompt = render_prompt(messages, tokenizer)
    full = _apply(tokenizer, messages, generation_prompt=False)
    if not full.startswith(prompt):
        raise ValueError("The chat template renders the prompt differently with and without the answer; cannot split it.")
    return prompt, full[len(prompt):].rstrip()


def turn_end(tokenizer: Any) -> str:
    """The text that closes an assistant turn (``<eos>``, ``<|im_end|>``, ``<|eot_id|>``…)."""
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": _ANSWER_SLOT}]
    _, completion = split_example(messages, tokenizer)
    end = completion.split(_ANSWER_SLOT, 1)[1].strip()
    if not end:
        raise ValueError("The chat template does not close assistant turns with a token; generation would never stop.")
    return end


def stop_token_ids(tokenizer: Any) -> list[int]:
    """Token ids that end generation: the template's turn end, plus the tokenizer's eos."""
    ids = tokenizer.encode(turn_end(tokenizer), add_special_tokens=False)
    stops = [ids[0]] if len(ids) == 1 else []
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in stops:
        stops.append(tokenizer.eos_token_id)
    return stops


def ollama_template(tokenizer: Any) -> str:
    """The Ollama Modelfile TEMPLATE equivalent to the tokenizer's chat template (single turn).

    Rendered from the chat template itself with placeholders, so it cannot drift from the training
    format: ``{{ .System }}`` and ``{{ .Prompt }}`` take the places of the system and user contents,
    ``{{ .Response }}`` and the turn end follow. A leading BOS is dropped because llama.cpp (and so
    Ollama) adds it when tokenizing.
    """
    messages = [{"role": "system", "content": _SYSTEM_SLOT}, {"role": "user", "content": _PROMPT_SLOT}]
    prompt = render_prompt(messages, tokenizer)
    bos = getattr(tokenizer, "bos_token", None)
    if bos and prompt.startswith(bos):
        prompt = prompt[len(bos):]
    if _SYSTEM_SLOT not in prompt:
        raise ValueError("The chat template drops the system message; Ollama's SYSTEM would be ignored.")
    template = prompt.replace(_SYSTEM_SLOT, "{{ .System }}").replace(_PROMPT_SLOT, "{{ .Prompt }}")
    return template + "{{ .Response }}" + turn_end(tokenizer)
