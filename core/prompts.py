"""The prompt contract shared by training data and inference — one source of truth.

The synthetic datasets (:mod:`ingestion.synthetic`) and the assistant (:mod:`assistant`) both
build chat messages with :func:`build_messages`, so a fine-tuned model sees at inference exactly
the format it was trained on (the seeds' train/inference formats differed, which cost accuracy).

The user turn is the bare question (closed book), or the catalog facts then the question::

    Faits du catalogue :
    Application : GASPAR (Gestion assistée des procédures administratives relatives aux risques)
    Statut : En production
    Chef de projet : Claire Chevalier <claire.chevalier@developpement-durable.gouv.fr>

    Question : j'ai un problème avec gaspar, j'écris à qui ?

Facts are plain "champ : valeur" lines grouped under their application — no chunk numbers,
section banners or ids for a small model to copy instead of answering (measured with
Qwen2.5-0.5B: it copied "[1] Application X (…) — Sites et URL" headers). Blocks are separated by
a blank line and hold none, so :func:`parse_user_content` can invert :func:`user_content`.

Catalog text is data: :func:`neutralize_markup` defuses chat-template control strings
(``<|im_start|>``, ``<start_of_turn>``, ``<|eot_id|>``…) in anything that goes into a message, so
a record can never fake a turn of the conversation, whatever the backend's template.
"""

from __future__ import annotations

import re
from typing import Sequence

# Short on purpose: measured with Qwen2.5-Coder-0.5B on 40 held-out questions, this wording scored
# 65 % against 55 % for a longer one listing every rule (bench/RESULTS.md). It is cached in the KV
# cache (assistant.llamacpp_chat), so its length costs nothing per question — its clarity does.
SYSTEM_PROMPT = (
    "Tu es Dyag, l'assistant du catalogue des applications du ministère. Réponds en français, en une phrase, "
    "en recopiant exactement les valeurs des faits fournis. Si les faits ne contiennent pas la réponse, "
    "réponds : « Je ne trouve pas cette information dans le catalogue. »"
)

REFUSAL = "Je ne trouve pas cette information dans le catalogue."
READ_ONLY = (
    "Je ne peux pas modifier le catalogue : je réponds à partir de ses fiches, en lecture seule. "
    "Pour corriger une fiche, adressez-vous à son responsable d'application ou au gestionnaire du catalogue."
)
FACTS_HEAD = "Faits du catalogue :\n"
QUESTION_HEAD = "Question : "
_LEGACY_HEAD = "Contexte :\n"  # datasets written before the facts format (chunks numbered [1], [2]…)
_LEGACY_CHUNK = re.compile(r"(?:^|\n\n)\[\d+\] ")

# Control strings of the chat families Dyag renders (Gemma, ChatML/Qwen, Llama 3, Mistral, Phi,
# Zephyr) and the generic <|…|> / <…_of_…> shapes of special tokens.
_MARKUP = re.compile(
    r"<\|[A-Za-z0-9_]{1,40}\|>"
    r"|</?(?:start_of_turn|end_of_turn|eos|bos|pad|s|unk|mask|start_of_image|end_of_image)>"
    r"|<unused\d+>"
    r"|\[/?INST\]|<</?SYS>>"
)


def refusal_for_app(name: str) -> str:
    """The answer when the question names an application the catalog does not hold."""
    return f"Je ne trouve pas l'application {name} dans le catalogue."


def neutralize_markup(text: str) -> str:
    """``text`` with every chat control string broken by a zero-width space after its first character.

    The text reads the same to a person, but no tokenizer turns it into a special token, and no
    template parser sees a turn boundary in it.
    """
    return _MARKUP.sub(lambda m: m.group(0)[0] + "\u200b" + m.group(0)[1:], text)


def _block(text: str) -> str:
    # A block holds no blank line: blank lines separate blocks.
    return "\n".join(line for line in text.strip().splitlines() if line.strip())


def format_facts(context: Sequence[str]) -> str:
    """The facts blocks as one text, a blank line between blocks (the Alpaca ``input`` too)."""
    return "\n\n".join(_block(neutralize_markup(block)) for block in context if block.strip())


def split_facts(text: str) -> list[str]:
    """Inverse of :func:`format_facts`; also reads the legacy numbered chunks (``[1] …``)."""
    if _LEGACY_CHUNK.match(text):
        return [part.strip() for part in _LEGACY_CHUNK.split(text) if part.strip()]
    return [part.strip() for part in text.split("\n\n") if part.strip()]


def user_content(question: str, context: Sequence[str] | None = None) -> str:
    """The user turn: the bare question (closed book), or the facts blocks then the question."""
    question = neutralize_markup(question.strip())
    if context is None:
        return question
    return f"{FACTS_HEAD}{format_facts(context)}\n\n{QUESTION_HEAD}{question}"


def parse_user_content(content: str) -> tuple[str, list[str] | None]:
    """Inverse of :func:`user_content`: (question, facts blocks or ``None``). Reads the legacy format too."""
    for head in (FACTS_HEAD, _LEGACY_HEAD):
        if content.startswith(head) and f"\n\n{QUESTION_HEAD}" in content:
            body, _, question = content[len(head):].rpartition(f"\n\n{QUESTION_HEAD}")
            return question.strip(), split_facts(body)
    return content.strip(), None


def build_messages(question: str, context: Sequence[str] | None = None, answer: str | None = None) -> list[dict[str, str]]:
    """OpenAI-style chat messages; with ``answer`` it is a training example, without it a prompt."""
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_content(question, context)},
    ]
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return messages
