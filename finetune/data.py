"""Training data: chat JSONL → token ids with assistant-only labels.

Input rows are the ones ``ingestion.synthetic`` writes: ``{"messages": [system, user, assistant],
"meta": {...}}``. Each row becomes

    input_ids = tokens(prompt) + tokens(completion)
    labels    = [-100] * len(tokens(prompt)) + tokens(completion)

where prompt/completion come from :func:`finetune.chat_format.split_example` (the tokenizer's own
chat template). The prompt and the completion are tokenized separately and concatenated, which
is exactly what happens at inference (the prompt is tokenized, then the model generates), so a
token boundary can never straddle the prompt/answer split. -100 is the ignore index of
cross-entropy: the loss, and so the gradient, comes from the answer and its turn end only.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterator

from core.errors import DyagError
from finetune.chat_format import split_example

log = logging.getLogger(__name__)

IGNORE_INDEX = -100


class DatasetFileError(DyagError, ValueError):
    """A training/validation file is missing or malformed; the message names the file and line."""


def read_messages(path: Path) -> Iterator[list[dict[str, str]]]:
    """Yield the ``messages`` list of each JSONL row, validating its shape."""
    if not path.is_file():
        raise DatasetFileError(f"Dataset file {path} does not exist.")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetFileError(f"{path}:{number}: not JSON ({exc.msg}).") from None
            messages = row.get("messages") if isinstance(row, dict) else None
            if (
                not isinstance(messages, list)
                or not messages
                or not all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in messages)
            ):
                raise DatasetFileError(f"{path}:{number}: expected {{\"messages\": [{{\"role\", \"content\"}}, ...]}}.")
            if messages[-1]["role"] != "assistant":
                raise DatasetFileError(f"{path}:{number}: the last message must be the assistant's answer.")
            yield messages


def tokenize_example(messages: list[dict[str, str]], tokenizer: Any) -> dict[str, list[int]]:
    """``input_ids`` and ``labels`` (prompt masked with -100) for one conversation."""
    prompt, completion = split_example(messages, tokenizer)
    # The rendered text already holds the special tokens (<bos>…): don't let the tokenizer add more.
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    return {
        "input_ids": prompt_ids + completion_ids,
        "labels": [IGNORE_INDEX] * len(prompt_ids) + completion_ids,
    }


def load_tokenized(path: Path, tokenizer: Any, max_length: int) -> Any:
    """A ``datasets.Dataset`` of tokenized examples; rows longer than ``max_length`` are skipped.

    Skipping (rather than truncating) is deliberate: a truncated answer teaches the model to stop
    mid-sentence, a truncated prompt to answer questions it cannot see.
    """
    from datasets import Dataset

    rows, skipped = [], 0
    for messages in read_messages(path):
        example = tokenize_example(messages, tokenizer)
        if len(example["input_ids"]) > max_length:
            skipped += 1
            continue
        rows.append(example)
    if skipped:
        log.warning("%s: skipped %d example(s) longer than %d tokens (raise --max-length to keep them).", path, skipped, max_length)
    if not rows:
        raise DatasetFileError(f"{path} holds no usable example (empty, or all longer than {max_length} tokens).")
    return Dataset.from_list(rows)


def dataset_stats(dataset: Any) -> dict[str, float]:
    """Example count and token counts, for the manifest and the duration estimate."""
    lengths = [len(ids) for ids in dataset["input_ids"]]
    supervised = [sum(1 for x in labels if x != IGNORE_INDEX) for labels in dataset["labels"]]
    return {
        "examples": len(lengths),
        "tokens": sum(lengths),
        "mean_tokens": sum(lengths) / len(lengths),
        "mean_supervised_tokens": sum(supervised) / len(supervised),
    }
