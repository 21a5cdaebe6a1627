"""Describe a question/answer dataset the way an ML reviewer would, and say what to fix.

:func:`analyze_dataset` works on :class:`QARow` objects, so it accepts every format
:func:`ingestion.dataset_formats.read_dataset` reads. It returns a JSON-ready dict;
:func:`render_markdown` turns it into the human report.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Sequence

from core.prompts import SYSTEM_PROMPT
from ingestion.dataset_formats import DatasetError, QARow
from ingestion.records import AppRecord
from ingestion.splits import SPLITS, is_near_duplicate, leakage_report, question_key

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
MAX_LISTED = 50

# Thresholds of the recommendations; each is a judgement call, stated once here.
MIN_TRAIN = 200
MIN_PER_TYPE = 20
MAX_IMBALANCE = 10.0
MIN_REFUSAL_SHARE, MAX_REFUSAL_SHARE = 0.05, 0.40
MAX_FOREIGN_SHARE = 0.05
MAX_ANSWER_P95_WORDS = 60
MAX_DUPLICATE_SHARE = 0.01

Counter_ = Callable[[str], int]


def regex_token_count(text: str) -> int:
    """A tokenizer-free estimate: words and punctuation marks (close to BPE counts for French prose)."""
    return len(_TOKEN.findall(text))


def load_token_counter(name_or_path: str | None) -> tuple[Counter_, str]:
    """A token counter and its name: a local transformers tokenizer, or the regex estimate."""
    if not name_or_path:
        return regex_token_count, "regex estimate (words + punctuation)"
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=True)
    except Exception as exc:  # transformers raises OSError, ValueError… for a missing or broken tokenizer
        raise DatasetError(f"cannot load the tokenizer {name_or_path!r} offline ({type(exc).__name__}: {exc}); give a local folder") from None
    return (lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])), f"tokenizer {name_or_path}"


def word_count(text: str) -> int:
    """Words, not counting the free-standing punctuation of French typography ("ADES ?")."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


def _stats(values: Sequence[int]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "median": 0.0, "p95": 0.0, "max": 0.0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"mean": round(statistics.fmean(ordered), 1), "median": float(statistics.median(ordered)), "p95": float(p95), "max": float(ordered[-1])}


def detect_languages(texts: Sequence[str], sample: int) -> dict[str, Any]:
    """Language counts on an evenly spaced sample (langdetect is ~10 ms a text on this CPU)."""
    try:
        from langdetect import DetectorFactory, detect
        from langdetect.lang_detect_exception import LangDetectException
    except ImportError:
        return {"sample": 0, "counts": {}, "note": "langdetect is not installed (pip install langdetect)"}
    DetectorFactory.seed = 0
    step = max(1, len(texts) // sample) if sample > 0 else len(texts) + 1
    chosen = list(texts[::step])[:sample]
    counts: Counter[str] = Counter()
    for text in chosen:
        try:
            counts[detect(text)] += 1
        except LangDetectException:
            counts["unknown"] += 1
    return {"sample": len(chosen), "counts": dict(counts.most_common())}


def _duplicates(rows: Sequence[QARow]) -> dict[str, Any]:
    examples = Counter((r.question, r.expected_answer, tuple(r.context or ()), r.context is not None) for r in rows)
    answers_by_question: dict[tuple[str, bool, tuple[str, ...]], set[str]] = defaultdict(set)
    for r in rows:
        answers_by_question[(r.question, r.context is not None, tuple(r.context or ()))].add(r.expected_answer)
    by_app: dict[str, set[str]] = defaultdict(set)
    texts_by_key: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        key = question_key(r.question)
        by_app[r.app_name or ""].add(key)
        texts_by_key[key].add(r.question)
    near = sum(len(t) - 1 for t in texts_by_key.values())
    for keys in by_app.values():
        ordered = sorted(keys)
        near += sum(1 for i, a in enumerate(ordered) for b in ordered[i + 1:] if is_near_duplicate(a, b))
    return {
        "duplicate_examples": sum(n - 1 for n in examples.values()),
        "conflicting_answers": sum(1 for answers in answers_by_question.values() if len(answers) > 1),
        "near_duplicate_questions": near,
    }


def _coverage(rows: Sequence[QARow], records: Sequence[AppRecord] | None) -> dict[str, Any]:
    per_app = Counter(r.app_id or r.app_name for r in rows if (r.app_id or r.app_name) and not r.is_refusal)
    out: dict[str, Any] = {"apps_with_examples": len(per_app)}
    if per_app:
        out["examples_per_app"] = _stats(list(per_app.values()))
    if records is None:
        return out
    known_ids = {r.id for r in records}
    known_names = {r.nom for r in records}
    covered = {r.app_id for r in rows if r.app_id} | {r.app_name for r in rows if r.app_name}
    missing = [r.nom for r in records if r.id not in covered and r.nom not in covered]
    unknown = sorted({r.app_name for r in rows if r.app_name and r.app_name not in known_names and (not r.app_id or r.app_id not in known_ids)})
    out.update(catalog_apps=len(records), missing_apps=missing, unknown_apps=unknown[:MAX_LISTED], n_unknown_apps=len(unknown))
    return out


def _context(rows: Sequence[QARow]) -> dict[str, Any]:
    with_context = [r for r in rows if r.context is not None]
    # Chunk texts start with "Application <name> (…)": the name must be followed by a space, or
    # "ADES-PRO" would count as a chunk of "ADES".
    gold = [r for r in with_context if r.app_name and any(c.startswith(f"Application {r.app_name} ") for c in r.context or ())]
    return {
        "count": len(with_context),
        "share": round(len(with_context) / len(rows), 3) if rows else 0.0,
        "chunks_per_example": _stats([len(r.context or ()) for r in with_context]),
        "with_right_app_chunk": len(gold),
        "refusals": sum(1 for r in with_context if r.is_refusal),
    }


def analyze_dataset(
    rows: Sequence[QARow],
    errors: Sequence[DatasetError] = (),
    *,
    records: Sequence[AppRecord] | None = None,
    tokenizer: str | None = None,
    lang_sample: int = 300,
    source: str | None = None,
) -> dict[str, Any]:
    """Every figure of the report as a JSON-ready dict (``recommendations`` included)."""
    count_tokens, tokenizer_name = load_token_counter(tokenizer)
    by_split_category: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        by_split_category[r.category or "(none)"][r.split or "(none)"] += 1
    refusals = [r for r in rows if r.is_refusal]
    facts_missing = [r for r in rows if r.facts and not all(f in r.expected_answer for f in r.facts)]
    systems = Counter(r.system for r in rows if r.system)
    languages = detect_languages([f"{r.question} {r.expected_answer}" for r in rows], lang_sample)
    analysis: dict[str, Any] = {
        "source": source,
        "formats": dict(Counter(r.source_format or "?" for r in rows)),
        "examples": len(rows),
        "invalid": [{"line": e.line, "reason": e.reason} for e in errors[:MAX_LISTED]],
        "n_invalid": len(errors),
        "by_split": dict(Counter(r.split or "(none)" for r in rows)),
        "by_category": dict(Counter(r.category or "(none)" for r in rows).most_common()),
        "by_category_split": {c: dict(s) for c, s in sorted(by_split_category.items())},
        "by_flavour": dict(Counter(r.flavour or ("context" if r.context is not None else "closed_book") for r in rows)),
        "by_difficulty": dict(Counter(r.difficulty or "(none)" for r in rows)),
        "coverage": _coverage(rows, records),
        "lengths": {
            "tokenizer": tokenizer_name,
            "question_words": _stats([word_count(r.question) for r in rows]),
            "answer_words": _stats([word_count(r.expected_answer) for r in rows]),
            "question_tokens": _stats([count_tokens(r.question) for r in rows]),
            "answer_tokens": _stats([count_tokens(r.expected_answer) for r in rows]),
            "prompt_tokens": _stats([count_tokens("\n".join(m["content"] for m in r.chat_messages()[:-1])) for r in rows]),
        },
        "languages": languages,
        "duplicates": _duplicates(rows),
        "refusals": {"count": len(refusals), "share": round(len(refusals) / len(rows), 3) if rows else 0.0},
        "context": _context(rows),
        "facts": {"with_facts": sum(1 for r in rows if r.facts), "answers_missing_a_fact": len(facts_missing), "lines": [r.line for r in facts_missing[:MAX_LISTED]]},
        "system_prompts": {"distinct": len(systems), "matches_shared_prompt": (set(systems) == {SYSTEM_PROMPT}) if systems else None},
        "leakage": leakage_report(rows).to_dict() if len({r.split for r in rows if r.split}) > 1 else None,
    }
    analysis["recommendations"] = recommendations(analysis)
    return analysis


def recommendations(a: dict[str, Any]) -> list[str]:
    """What a reviewer would ask to fix before training on this dataset."""
    out: list[str] = []
    n = a["examples"]
    train = a["by_split"].get("train", a["by_split"].get("(none)", 0))
    if train < MIN_TRAIN:
        out.append(f"Only {train} training examples: generate more (--per-app) or add question types; aim for {MIN_TRAIN}+.")
    per_type_train = {c: s.get("train", s.get("(none)", 0)) for c, s in a["by_category_split"].items()}
    few = sorted(c for c, v in per_type_train.items() if v < MIN_PER_TYPE)
    if few:
        out.append(f"Few training examples (< {MIN_PER_TYPE}) for: {', '.join(few)}.")
    counts = [v for v in a["by_category"].values() if v]
    if len(counts) > 1 and max(counts) / min(counts) > MAX_IMBALANCE:
        top, bottom = max(a["by_category"], key=a["by_category"].get), min(a["by_category"], key=a["by_category"].get)
        out.append(f"Imbalanced types: {top} has {a['by_category'][top]} examples, {bottom} only {a['by_category'][bottom]}; cap or upsample.")
    missing_splits = [s for s in SPLITS if s not in a["by_split"]]
    if missing_splits and "(none)" not in a["by_split"]:
        out.append(f"No {' / '.join(missing_splits)} split: hold out examples to measure generalisation.")
    leak = a["leakage"]
    if leak and leak["leaks"]:
        out.append(
            f"Leakage between splits: {leak['shared_questions']} shared questions, {leak['shared_answers']} shared answers, "
            f"{leak['near_duplicate_questions']} near-duplicate questions, {leak['shared_templates'] or 0} test templates seen in training. "
            "Regenerate with dyag generate-training or deduplicate."
        )
    cov = a["coverage"]
    if cov.get("missing_apps"):
        out.append(f"{len(cov['missing_apps'])} catalog applications have no example (e.g. {', '.join(cov['missing_apps'][:5])}).")
    share = a["refusals"]["share"]
    if n and share < MIN_REFUSAL_SHARE:
        out.append(f"Refusals are {share:.0%} of examples: below {MIN_REFUSAL_SHARE:.0%} the model learns to invent answers; add out-of-catalog questions.")
    elif share > MAX_REFUSAL_SHARE:
        out.append(f"Refusals are {share:.0%} of examples: above {MAX_REFUSAL_SHARE:.0%} the model learns to refuse too often.")
    if n and not a["context"]["count"]:
        out.append("No example with context: the dataset cannot teach a hybrid (RAG + fine-tuned) model to use retrieved chunks.")
    langs = a["languages"]
    if langs.get("sample"):
        foreign = sum(v for k, v in langs["counts"].items() if k != "fr") / langs["sample"]
        if foreign > MAX_FOREIGN_SHARE:
            out.append(f"{foreign:.0%} of the sampled examples are not detected as French: check them.")
    if a["lengths"]["answer_words"]["p95"] > MAX_ANSWER_P95_WORDS:
        out.append(f"Long answers (p95 {a['lengths']['answer_words']['p95']:.0f} words): the assistant should answer in one or two sentences.")
    dup = a["duplicates"]
    if n and dup["duplicate_examples"] / n > MAX_DUPLICATE_SHARE:
        out.append(f"{dup['duplicate_examples']} duplicated examples: deduplicate them (they overweight some facts).")
    if dup["conflicting_answers"]:
        out.append(f"{dup['conflicting_answers']} questions have different answers for the same input: fix or remove them.")
    if a["facts"]["answers_missing_a_fact"]:
        out.append(f"{a['facts']['answers_missing_a_fact']} answers do not contain all their listed facts.")
    sp = a["system_prompts"]
    if sp["distinct"] > 1 or sp["matches_shared_prompt"] is False:
        out.append("The system prompt differs from the assistant's (core.prompts.SYSTEM_PROMPT): training and inference formats would not match.")
    if a["n_invalid"]:
        out.append(f"{a['n_invalid']} invalid lines were skipped: fix them at the source.")
    return out or ["No problem found."]


# ---------------------------------------------------------------- Markdown


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def render_markdown(a: dict[str, Any]) -> str:
    splits = [s for s in (*SPLITS, "(none)") if s in a["by_split"]]
    md = [f"# Dataset analysis: {a['source'] or 'dataset'}", ""]
    md += _table(
        ["Examples", "Invalid lines", "Formats", "Refusal share", "Context share", "Apps covered"],
        [[a["examples"], a["n_invalid"], ", ".join(a["formats"]), f"{a['refusals']['share']:.1%}", f"{a['context']['share']:.1%}", coverage_summary(a["coverage"])]],
    )
    md += ["## Recommendations", ""] + [f"- {r}" for r in a["recommendations"]] + [""]
    md += ["## Examples per question type and split", ""]
    md += _table(["Type", *splits, "Total"], [[c, *(s.get(x, 0) for x in splits), sum(s.values())] for c, s in a["by_category_split"].items()])
    md += _table(["Split", "Examples"], [[s, a["by_split"][s]] for s in splits])
    md += _table(["Flavour", "Examples"], [[k, v] for k, v in a["by_flavour"].items()])
    md += _table(["Difficulty", "Examples"], [[k, v] for k, v in a["by_difficulty"].items()])
    md += [f"## Lengths ({a['lengths']['tokenizer']})", ""]
    md += _table(
        ["Measure", "Mean", "Median", "p95", "Max"],
        [[k, v["mean"], v["median"], v["p95"], v["max"]] for k, v in a["lengths"].items() if isinstance(v, dict)],
    )
    langs = a["languages"]
    md += ["## Languages", "", f"Sample of {langs.get('sample', 0)} examples: " + (", ".join(f"{k} {v}" for k, v in langs.get("counts", {}).items()) or langs.get("note", "none")), ""]
    cov = a["coverage"]
    md += ["## Application coverage", "", f"Applications with examples: {cov['apps_with_examples']}."]
    if "catalog_apps" in cov:
        md += [f"Catalog applications: {cov['catalog_apps']}; without any example: {', '.join(cov['missing_apps']) or 'none'}."]
        md += [f"Names not in the catalog (out-of-catalog questions): {cov['n_unknown_apps']}."]
    md += [""]
    dup, ctx = a["duplicates"], a["context"]
    md += ["## Quality", ""]
    md += _table(
        ["Check", "Value"],
        [
            ["Duplicated examples", dup["duplicate_examples"]],
            ["Near-duplicate questions", dup["near_duplicate_questions"]],
            ["Questions with conflicting answers", dup["conflicting_answers"]],
            ["Refusals", a["refusals"]["count"]],
            ["Context examples (with the right application's chunk)", f"{ctx['count']} ({ctx['with_right_app_chunk']})"],
            ["Answers missing a listed fact", a["facts"]["answers_missing_a_fact"]],
            ["Distinct system prompts (shared one?)", f"{a['system_prompts']['distinct']} ({a['system_prompts']['matches_shared_prompt']})"],
        ],
    )
    if a["leakage"]:
        leak = a["leakage"]
        md += ["## Leakage between splits", ""]
        md += _table(["Check", "Count"], [[k, v] for k, v in leak.items() if k not in ("examples", "test_only_apps")])
        md += [f"Applications only in test: {', '.join(leak['test_only_apps']) or 'none'}.", ""]
    if a["invalid"]:
        md += ["## Invalid lines", ""] + _table(["Line", "Reason"], [[e["line"], e["reason"]] for e in a["invalid"]])
    return "\n".join(md)


def coverage_summary(cov: dict[str, Any]) -> str:
    """``"63/64"`` (covered/catalog) or the number of applications with examples."""
    if "catalog_apps" not in cov:
        return str(cov["apps_with_examples"])
    return f"{cov['catalog_apps'] - len(cov['missing_apps'])}/{cov['catalog_apps']}"


def default_split_from_name(path: Path) -> str | None:
    """``test.eval.jsonl`` → ``"test"``: the split of a file whose rows do not say theirs."""
    head = path.name.split(".", 1)[0]
    return head if head in SPLITS else None
