"""The real thing, slow: fine-tune the packaged Gemma-3-270M and show that held-out answers improve.

Data: context-QA examples built from examples/catalog.json (finetune.demo_data). Applications
are split: the model trains on 56 questions about some applications and is scored on 8
questions about 8 *other* applications, so what it must learn is the answer format and reading
the context, not memorised facts. Measured before and after 30 quick-profile steps:

* held-out answer loss (mean NLL per answer token, teacher-forced) — must drop by > 0.5 nat;
* exact-match rate of greedy answers — must rise by >= 3/8 (the base model never stops, so 0).

The converted model is cached in $DYAG_TEST_CACHE (default ~/.cache/dyag-tests): the first run
adds ~2.5 min of GGUF→safetensors conversion.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from pathlib import Path

import pytest
import torch

from finetune.base_models import load_causal_lm, load_tokenizer, resolve_model
from finetune.chat_format import render_prompt
from finetune.data import IGNORE_INDEX, tokenize_example
from finetune.demo_data import catalog_qa, write_jsonl
from finetune.query import generate_ids, load_run
from finetune.runs import Run
from finetune.train import TrainOptions, train

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("DYAG_TEST_CACHE", Path.home() / ".cache" / "dyag-tests"))


def split_by_application(seed: int = 0) -> tuple[list, list]:
    examples = catalog_qa(ROOT / "examples" / "catalog.json")
    apps = sorted({name for name, _ in examples})
    random.Random(seed).shuffle(apps)
    held_out_apps = set(apps[:8])
    rng = random.Random(seed)
    held_out = [m for name, m in examples if name in held_out_apps]
    train_rows = [m for name, m in examples if name not in held_out_apps]
    rng.shuffle(held_out)
    rng.shuffle(train_rows)
    # One question per held-out application, so the 8 scores are about 8 different contexts.
    seen, test_rows = set(), []
    for messages in held_out:
        app = messages[1]["content"].split("\n")[1].split(" (id")[0]
        if app not in seen:
            seen.add(app)
            test_rows.append(messages)
    return train_rows[:56], test_rows[:8]


def score(model, tokenizer, rows: list) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Mean answer-token NLL (teacher forcing) and greedy exact-match rate."""
    nll, tokens, exact = 0.0, 0, 0
    for messages in rows:
        example = tokenize_example(messages, tokenizer)
        ids = torch.tensor([example["input_ids"]])
        labels = torch.tensor([example["labels"]])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, :-1]
        targets = labels[0, 1:]
        mask = targets != IGNORE_INDEX
        nll += float(torch.nn.functional.cross_entropy(logits[mask], targets[mask], reduction="sum"))
        tokens += int(mask.sum())
        prompt = render_prompt(messages, tokenizer)
        answer = tokenizer.decode(generate_ids(model, tokenizer, prompt, max_new_tokens=24), skip_special_tokens=True).strip()
        exact += answer == messages[-1]["content"]
    return {"answer_nll": nll / tokens, "exact_match": exact / len(rows)}


def test_finetuning_gemma270m_improves_held_out_answers(tmp_path: Path) -> None:
    started = time.perf_counter()
    train_rows, test_rows = split_by_application()
    models_dir = CACHE / "models"
    base = resolve_model("gemma3-270m", models_dir)
    tokenizer = load_tokenizer(base)
    model = load_causal_lm(base, dtype=torch.float32).eval()
    before = score(model, tokenizer, test_rows)
    del model

    run = tmp_path / "gemma"
    result = train(
        TrainOptions(dataset=write_jsonl(train_rows, tmp_path / "train.jsonl"), output=run, base_model="gemma3-270m", quick=True, lr=3e-4, show_progress=False),
        models_dir,
    )
    loaded = load_run(Run(run), models_dir)
    after = score(loaded.model, loaded.tokenizer, test_rows)

    report = {
        "before": before, "after": after, "train_s_per_step": result.metrics["train_runtime_s"] / result.metrics["final"]["steps_done"],
        "tokens_per_s": result.metrics["tokens_per_s"], "peak_rss_mb": result.metrics["peak_rss_mb"],
        "test_seconds": round(time.perf_counter() - started, 1),
    }
    log.warning("Gemma-270M fine-tune: %s", json.dumps(report))
    (CACHE / "last_gemma270m_test.json").write_text(json.dumps(report, indent=2))
    assert after["answer_nll"] < before["answer_nll"] - 0.5
    assert after["exact_match"] >= before["exact_match"] + 3 / 8
