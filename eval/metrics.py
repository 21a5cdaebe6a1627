"""Every evaluation metric of Dyag, defined once. The runner, the summary, the report, the UI and
the tests all call these functions, so a number means the same thing everywhere.

Per answer (each in [0, 1] unless stated):

=====================  ===========================================================================
``correct``            1 when the answer is right, else 0 — see :func:`correctness`. Accuracy is
                       its mean.
``fact_coverage``      share of the expected facts found in the answer (:func:`fact_coverage`);
                       partial credit for list answers ("les 5 applications arrêtées").
``token_f1``           SQuAD-style bag-of-words F1 between answer and expected answer, over
                       folded tokens (:func:`token_f1`).
``rouge_l``            ROUGE-L F-measure (longest common subsequence of folded tokens).
``semantic``           cosine similarity of the two texts embedded with the index's embedding
                       model (:func:`semantic_similarity`); in [-1, 1], ~0.8+ for paraphrases.
``refusal_ok``         1 when the answer abstained exactly when it should have (:func:`refusal_ok`).
``recall_at_k``        1 when the expected application is among the answer's first ``k`` source
                       applications (only for questions about one application).
``reciprocal_rank``    1 / rank of the expected application among the source applications (0 if
                       absent); its mean is the MRR.
``judge``              optional LLM-as-judge verdict (1/0), off by default (:func:`judge_answer`).
=====================  ===========================================================================

Aggregates (per mode, category, difficulty, question set): the mean of each of the above over the
questions where it is defined, latency p50/p95 (:func:`percentile`, nearest rank), and generated
tokens per second (:func:`tokens_per_second`).

Normalisation ("folding"): lowercase, accents removed, punctuation to single spaces
(:func:`ingestion.text_repair.fold`) — "Arrêtée" matches "arretee". Verbatim facts (emails, URLs,
dates, numeric identifiers) are *not* folded: they must appear exactly as in the catalog (emails
and URLs case-insensitively, a URL's trailing slash ignored; numbers as whole numbers), because a
single wrong character makes them useless to the person asking.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Iterable, Sequence

import numpy as np

from ingestion.text_repair import fold

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"https?://[^\s)»\]>,;]+")
DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b")
NUMBER = re.compile(r"^\d+$")
# «value» quotes are how Dyag's answer templates mark field values: they are the facts to check.
QUOTED = re.compile(r"«\s*([^»]+?)\s*»")
# Facts in answers about counts ("5 applications") or ids ("identifiant 1044").
BARE_NUMBER = re.compile(r"(?<![\w/.])\d+(?![\w/.])")
_HYPHEN = re.compile(r"(?<=\w)[-‐‑](?=\w)")


# ---------------------------------------------------------------- facts


def fact_kind(fact: str) -> str:
    """``email``, ``url``, ``date``, ``number`` (the verbatim kinds) or ``text``."""
    value = fact.strip()
    if EMAIL.fullmatch(value):
        return "email"
    if URL.fullmatch(value):
        return "url"
    if DATE.fullmatch(value):
        return "date"
    if NUMBER.fullmatch(value):
        return "number"
    return "text"


def extract_facts(expected: str) -> list[str]:
    """The checkable facts of an expected answer that came without a list of facts.

    Emails, URLs, dates, «quoted» values and standalone numbers, in order of appearance, without
    duplicates. An answer with none of these yields ``[]``: correctness then falls back to the
    folded expected answer being contained in the answer (see :func:`correctness`).
    """
    found: list[str] = []
    for pattern in (EMAIL, URL, DATE, QUOTED):
        for match in pattern.finditer(expected):
            value = (match.group(1) if pattern is QUOTED else match.group(0)).rstrip(".")
            if value not in found:
                found.append(value)
    stripped = expected
    for value in found:
        stripped = stripped.replace(value, " ")
    for match in BARE_NUMBER.finditer(stripped):
        if match.group(0) not in found:
            found.append(match.group(0))
    return found


def fact_found(fact: str, answer: str) -> bool:
    """Whether one fact appears in the answer (verbatim for emails, URLs, dates and numbers)."""
    kind = fact_kind(fact)
    value = fact.strip()
    if kind == "email":
        return value.lower() in answer.lower()
    if kind == "url":
        return value.rstrip("/").lower() in answer.lower()
    if kind == "date":
        return re.search(rf"(?<![\d/]){re.escape(value)}(?![\d/])", answer) is not None
    if kind == "number":
        return re.search(rf"(?<![\w/.]){re.escape(value)}(?![\w/])", answer) is not None
    needle = _fold_names(value)
    if not needle:
        return True
    return re.search(rf"(?:^| ){re.escape(needle)}(?: |$)", _fold_names(answer)) is not None


def _fold_names(text: str) -> str:
    """:func:`fold`, but a hyphen inside a word keeps the word whole: "ADES" is not found in "ADES-PRO"."""
    return fold(_HYPHEN.sub("hyphen", text))


def fact_coverage(answer: str, facts: Sequence[str]) -> float:
    """Share of ``facts`` found in ``answer`` (1.0 when there are no facts to find).

    Repeated facts count once per occurrence in ``facts`` but are searched independently, so a
    comparison "A : En production ; B : En production" needs the value once.
    """
    if not facts:
        return 1.0
    return sum(fact_found(f, answer) for f in facts) / len(facts)


def correctness(answer: str, expected: str, facts: Sequence[str], expect_refusal: bool, abstained: bool) -> tuple[int, float]:
    """``(correct, fact_coverage)`` for one answer — the field-aware correctness.

    * A question that must be refused (out of catalog, injection asking for invented data, a
      field the record leaves empty): correct iff the assistant abstained; coverage is the same 1/0.
    * Any other question: the coverage is the share of expected facts found (``facts``, else
      :func:`extract_facts` of the expected answer); correct iff all are found. With no fact at
      all, correct iff the folded expected answer appears in the folded answer as whole words.
      An abstention is scored the same way, so the bare refusal scores 0, while "the record does
      not say when BNPE went live; its status is « En construction »" earns the status a set
      expects there — sets written by different people mark an empty field either way.
    """
    if expect_refusal:
        return int(abstained), float(abstained)
    checked = list(facts) or extract_facts(expected)
    if not checked:
        hit = bool(fold(expected)) and fact_found(expected, answer)
        return int(hit), float(hit)
    coverage = fact_coverage(answer, checked)
    return int(coverage == 1.0), coverage


def refusal_ok(expect_refusal: bool, abstained: bool) -> int:
    """1 when the answer abstained if and only if it should have."""
    return int(expect_refusal == abstained)


# ---------------------------------------------------------------- text overlap


def tokens(text: str) -> list[str]:
    return fold(text).split()


def token_f1(answer: str, expected: str) -> float:
    """Bag-of-words F1 (SQuAD): 2PR/(P+R) over the multiset of folded tokens; 0 if either is empty."""
    a, e = tokens(answer), tokens(expected)
    if not a or not e:
        return float(a == e)
    common = sum((Counter(a) & Counter(e)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(a), common / len(e)
    return 2 * precision * recall / (precision + recall)


def _lcs(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(answer: str, expected: str) -> float:
    """ROUGE-L F1: with L the longest common subsequence of folded tokens, 2PR/(P+R), P=L/|answer|, R=L/|expected|."""
    a, e = tokens(answer), tokens(expected)
    if not a or not e:
        return float(a == e)
    lcs = _lcs(a, e)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(e)
    return 2 * precision * recall / (precision + recall)


def semantic_similarity(vectors_a: np.ndarray, vectors_b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two matrices of embeddings (L2-normalised here, whatever the input)."""
    a = np.asarray(vectors_a, dtype=np.float32)
    b = np.asarray(vectors_b, dtype=np.float32)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.sum(a * b, axis=1)


# ---------------------------------------------------------------- retrieval


def source_apps(sources: Iterable[dict[str, Any]]) -> list[str]:
    """Distinct application ids of the sources, in rank order."""
    apps: list[str] = []
    for source in sources:
        app_id = source.get("app_id")
        if app_id and app_id not in apps:
            apps.append(app_id)
    return apps


def retrieval_scores(sources: Iterable[dict[str, Any]], expected_app: str | None, k: int = 5) -> tuple[int | None, float | None]:
    """``(recall_at_k, reciprocal_rank)`` of the expected application among the answer's sources.

    Application level, like :func:`assistant.retrieval_eval.score_retrieval`. ``(None, None)``
    when the question is not about one known application (aggregates, out of catalog).
    """
    if not expected_app:
        return None, None
    apps = source_apps(sources)
    if expected_app not in apps:
        return 0, 0.0
    rank = apps.index(expected_app) + 1
    return int(rank <= k), 1.0 / rank


# ---------------------------------------------------------------- aggregates


def mean(values: Iterable[float | int | None]) -> float | None:
    """Mean of the defined values; ``None`` when none is defined."""
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0–100): the smallest value with at least q % of values ≤ it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def tokens_per_second(generated_tokens: Sequence[int], latencies_ms: Sequence[float]) -> float | None:
    """Generated tokens divided by the time of the answers that generated any (whole answer latency,
    retrieval and prompt processing included: what the user waits for per token)."""
    pairs = [(t, ms) for t, ms in zip(generated_tokens, latencies_ms) if t and ms > 0]
    if not pairs:
        return None
    return sum(t for t, _ in pairs) / (sum(ms for _, ms in pairs) / 1000)


# ---------------------------------------------------------------- LLM as judge

JUDGE_PROMPT = (
    "Tu évalues la réponse d'un assistant. Question : {question}\n"
    "Réponse attendue : {expected}\nRéponse de l'assistant : {answer}\n"
    "La réponse de l'assistant donne-t-elle les mêmes informations que la réponse attendue, sans erreur ? "
    "Réponds par un seul mot : OUI ou NON."
)


def parse_verdict(text: str) -> int | None:
    """1 for OUI/YES, 0 for NON/NO (first such word of the judge's reply), ``None`` if neither."""
    for word in fold(text).split():
        if word in ("oui", "yes", "correct"):
            return 1
        if word in ("non", "no", "incorrect"):
            return 0
    return None


def judge_answer(chat_model: Any, question: str, expected: str, answer: str) -> int | None:
    """LLM-as-judge: ask ``chat_model`` (any LangChain chat model) whether the answer matches the
    expected one; 1/0, or ``None`` when its reply is neither yes nor no. Small local models are
    poor judges: use it with a capable served model (Ollama, OpenAI-compatible endpoint)."""
    from langchain_core.messages import HumanMessage

    reply = chat_model.invoke([HumanMessage(content=JUDGE_PROMPT.format(question=question, expected=expected, answer=answer))])
    return parse_verdict(reply.content if isinstance(reply.content, str) else str(reply.content))
