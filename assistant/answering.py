"""Where a question is answered: routing, the five modes, sources, latency, abstention.

Modes
-----
``base``       the base model alone (closed book) — the floor any approach must beat;
``rag``        base model + retrieved context;
``finetuned``  the fine-tuned model alone (closed book);
``hybrid``     the fine-tuned model + retrieved context;
``auto``       (default) exact field answers when intent and application are certain, a refusal
               when the question names an unknown application or nothing relevant is retrieved,
               otherwise ``hybrid`` (``rag`` when no fine-tuning run is configured).

The generation path is a LangChain Runnable (``prepare | chat_model``), so any LangChain chat
model can answer, and Dyag's pieces can be reused in other chains. Catalog text only ever
reaches a model inside the user turn's facts block (:mod:`core.prompts`), as data.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import BaseModel, Field

from assistant.aggregates import answer_aggregate
from assistant.aggregates import parse as parse_aggregate
from assistant.backends import load_chat_model
from assistant.chat_common import generated_tokens
from assistant.field_answers import FieldAnswer, answer_fields, intent_labels, intent_sections
from assistant.guards import AnswerGuard, mentions_credentials
from assistant.retrieval import HybridRetriever, RetrievalResult, ScoredChunk
from assistant.understanding import OUT_OF_SCOPE_REFUSAL, ParsedQuestion, QuestionReader
from core.choices import get_mode
from core.config import Settings
from core.prompts import READ_ONLY, REFUSAL, build_messages, refusal_for_app
from ingestion.chunking import chunk_body, context_blocks
from ingestion.intent_model import ensure_intent_model
from ingestion.text_repair import fold

log = logging.getLogger(__name__)

# Characters per token for French text with the Gemma/Qwen tokenizers (measured ~3.6–4.2).
CHARS_PER_TOKEN = 4
# A word names a catalog value in another language when its cosine to the value (query side, both,
# multilingual-e5-small) is at least 0.87 and beats the next value's by 0.008: measured on the example
# domains, "water" → Eau 0.885 (next 0.875), "housing" → Logement 0.904 (0.867); unrelated words
# ("many", "applications") stay under 0.86.
TRANSLATED = (0.87, 0.008)
_REFUSAL_MARK = "je ne trouve pas"
SUSPICIOUS_RECORD = (
    "La fiche de {names} contient un texte qui demande des identifiants de connexion : Dyag ne le répète pas. "
    "Signalez-le au responsable du catalogue."
)
class Source(BaseModel):
    app_id: str
    app_name: str
    section: str
    chunk_id: str | None = None
    score: float | None = None
    text: str | None = None


class Answer(BaseModel):
    """What every interface returns (CLI ``--json``, HTTP API, UI, evaluation)."""

    question: str
    answer: str
    mode: str = Field(description="The mode asked for.")
    mode_used: str = Field(description="field, aggregate, refusal, rag, hybrid, finetuned or base.")
    sources: list[Source] = Field(default_factory=list)
    abstained: bool = False
    latency_ms: float = 0.0
    generated_tokens: int = 0
    linked_apps: list[str] = Field(default_factory=list)
    intents: list[str] = Field(default_factory=list)
    rejected: str | None = Field(
        None, description="Why a generated answer was replaced by the refusal: system_prompt, credentials or unsupported_facts (assistant.guards)."
    )


@dataclass
class Conversation:
    """Multi-turn state: the applications discussed last, for follow-ups ("et son contact ?")."""

    last_app_ids: list[str] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)

    def remember(self, answer: Answer) -> None:
        self.history.append((answer.question, answer.answer))
        if answer.linked_apps:
            self.last_app_ids = answer.linked_apps


@dataclass
class _Plan:
    """The routing decision for one question, before any generation."""

    question: str
    asked: str
    mode: str
    mode_used: str
    app_ids: list[str]
    intents: list[str]
    parsed: ParsedQuestion | None = None
    field_answer: FieldAnswer | None = None
    refusal: str | None = None
    retrieval: RetrievalResult | None = None
    finetuned: bool = False
    context: list[str] | None = None
    context_chunks: list[ScoredChunk] = field(default_factory=list)


def _to_langchain(messages: list[dict[str, str]]) -> list[BaseMessage]:
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m["role"]](content=m["content"]) for m in messages]


class Assistant:
    """Answers questions about the catalog in any mode; models are loaded lazily and once."""

    def __init__(
        self,
        settings: Settings,
        retriever: HybridRetriever | None = None,
        chat_models: dict[str, BaseChatModel] | None = None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever or HybridRetriever(settings)
        self.records = self.retriever.records
        self.by_id = self.retriever.records_by_id
        self._chat_models: dict[str, BaseChatModel] = dict(chat_models or {})
        self._value_vectors: dict[tuple[str, ...], np.ndarray] = {}  # catalog values, embedded once (_translate)
        embedder = self.retriever.embedder
        intent_model = ensure_intent_model(
            self.retriever.index.gen_dir, settings.intent_cache, embedder.embed_questions, embedder.name
        )
        self.reader = QuestionReader(self.records, self.retriever.linker, self.retriever.index.bm25.vocab, intent_model, embedder)
        # Per application id, the applications whose records declare a link to it.
        self.linked_from: dict[str, list[str]] = {}
        for record in self.records:
            for link in record.applications_liees:
                if link.id and link.id != record.id and record.nom not in self.linked_from.setdefault(link.id, []):
                    self.linked_from[link.id].append(record.nom)

    # ----------------------------------------------------------------- models

    @property
    def has_finetuned(self) -> bool:
        return "finetuned" in self._chat_models or (self.settings.run is not None and self.settings.run.exists())

    def chat_model(self, finetuned: bool) -> BaseChatModel:
        key = "finetuned" if finetuned else "base"
        if key not in self._chat_models:
            self._chat_models[key] = load_chat_model(self.settings, finetuned=finetuned)
        return self._chat_models[key]

    def chain(self, finetuned: bool) -> Runnable:
        """``{"question", "context"} → AIMessage``: prompt construction piped into the chat model."""
        prepare = RunnableLambda(lambda x: _to_langchain(build_messages(x["question"], x.get("context"))))
        return prepare | self.chat_model(finetuned)

    # ----------------------------------------------------------------- routing

    def plan(self, question: str, mode: str = "auto", conversation: Conversation | None = None) -> _Plan:
        """The routing decision for ``question`` in ``mode``, before any generation.

        Every mode refuses requests for credentials. ``auto`` answers from the record when it can
        (see :mod:`assistant.understanding` for how sure "can" is), refuses what the catalog does
        not hold, and otherwise generates with the facts of the named application — its fields
        that the question most likely asks about — or with the retrieved ones.
        """
        spec = get_mode(mode)
        parsed = self.reader.read(question, conversation.last_app_ids if conversation else None)
        plan = _Plan(question=parsed.resolved, asked=question, mode=mode, mode_used=mode, app_ids=parsed.app_ids, intents=parsed.intents, parsed=parsed)
        if parsed.secrets:
            plan.mode_used, plan.refusal = "refusal", REFUSAL
            return plan
        if parsed.write:
            plan.mode_used, plan.refusal = "refusal", READ_ONLY
            return plan
        if spec.routed:
            # A listing also when no application is named but catalog values are ("Dans les fonctions
            # support, qu'est-ce qui est en production ?") — then it is no off-topic request either.
            query = parse_aggregate(parsed.resolved, self.records, self._translate) if parsed.aggregate or not parsed.app_ids else None
            # Catalog values in an off-topic request ("C'est quoi la biodiversité ?") are no listing:
            # the classifier must see some chance of one.
            criteria = bool(query and query.criteria) and parsed.may_list
            refusal = self._refusal(parsed, criteria=criteria)
            if refusal:
                plan.mode_used, plan.refusal = "refusal", refusal
                return plan
            if query is not None:
                aggregate = answer_aggregate(parsed.resolved, self.records, query) if parsed.aggregate or query.criteria else None
                if aggregate:
                    plan.mode_used, plan.field_answer, plan.app_ids = "aggregate", aggregate, []
                    return plan
            if parsed.app_ids and parsed.intents and parsed.confident:
                records = [self.by_id[a] for a in parsed.app_ids]
                plan.field_answer = answer_fields(
                    records, parsed.intents, question, parsed.yes_no, parsed.mentions, self._similar, parsed.claims, parsed.open_intents,
                    self.linked_from,
                )
                plan.mode_used = "field"
                return plan
            if parsed.app_ids and parsed.likely_intents:
                # Unsure which field, but the record holds none of the likely ones ("Que font les Fichiers
                # fonciers ?": no functions, no description): say so rather than let a model guess.
                records = [self.by_id[a] for a in parsed.app_ids]
                empty = answer_fields(records, parsed.likely_intents, question, parsed.yes_no, parsed.mentions, self._similar, parsed.claims)
                if empty is not None and empty.abstained:
                    plan.field_answer, plan.mode_used = empty, "field"
                    return plan
        if spec.context:
            # A named application's sections are few (≤ ~10): rank them all, so that _context can pick
            # the ones the intent asks for even when retrieval ranks them low.
            wanted = parsed.intents or parsed.likely_intents
            depth = max(self.settings.top_k, 12) if parsed.app_ids and wanted else None
            plan.retrieval = self.retriever.retrieve(parsed.resolved, k=depth, app_ids=parsed.app_ids or None, link_entities=False)
            if spec.routed and not plan.retrieval.relevant and not parsed.app_ids:
                plan.mode_used, plan.refusal = "refusal", REFUSAL
                return plan
            plan.context, plan.context_chunks = self._context(plan.retrieval, parsed.app_ids, wanted)
        if spec.routed:
            plan.mode_used = "hybrid" if self.has_finetuned else "rag"
        plan.finetuned = get_mode(plan.mode_used).finetuned
        return plan

    def _translate(self, word: str, values: list[str]) -> str | None:
        """The value ``word`` names in another language ("water" → "Eau, milieux aquatiques"): the
        closest by the multilingual embedding, when clearly closer than the next (see TRANSLATED).
        A word the catalog itself writes ("production") is no translation of anything."""
        if word in self.retriever.index.bm25.vocab:
            return None
        embedder = self.retriever.embedder
        key = tuple(values)
        if key not in self._value_vectors:
            self._value_vectors[key] = embedder.embed_questions(values)
        scores = self._value_vectors[key] @ embedder.embed_question(word)
        first, second = np.sort(scores)[::-1][:2] if len(values) > 1 else (scores[0], -1.0)
        if first >= TRANSLATED[0] and first - second >= TRANSLATED[1]:
            return values[int(np.argmax(scores))]
        return None

    def _similar(self, question: str, sentences: list[str]) -> list[float]:
        """Cosine of the question (query side) with each sentence (passage side), index's embedding model."""
        embedder = self.retriever.embedder
        return (embedder.embed_passages(sentences) @ embedder.embed_question(question)).tolist()

    @staticmethod
    def _refusal(parsed: ParsedQuestion, criteria: bool = False) -> str | None:
        """The refusal ``auto`` gives without generating: rules-changing requests, unknown names,
        off-topic — unless the question filters on the catalog's own values (``criteria``)."""
        if parsed.injection:
            return REFUSAL
        if parsed.unknown and not parsed.app_ids:
            mention = parsed.unknown[0]
            near = f" Vouliez-vous dire {mention.near} ?" if mention.near else ""
            return refusal_for_app(mention.name) + near
        # "Combien font 17 fois 23 ?" has a listing's word, not a listing's chance: off-topic still.
        if not parsed.app_ids and not (parsed.aggregate and parsed.may_list) and not criteria and parsed.out_of_scope >= OUT_OF_SCOPE_REFUSAL:
            return REFUSAL
        return None

    def _context(self, retrieval: RetrievalResult, app_ids: list[str], intents: list[str]) -> tuple[list[str], list[ScoredChunk]]:
        """The facts blocks of the top chunks within the token budget (the first chunk is always kept).

        For a linked application the chunks are its own sections: those that hold the answer to the
        question's intents when they are known (a date question gets the events, not the record's
        modification date), else the sections retrieval ranks first. The model gets that record's
        relevant fields as "champ : valeur" lines — measured on Qwen2.5-0.5B, the whole record
        (350–570 tokens) made it pick the wrong field and cost 2–4 s of prompt reading.
        """
        budget = self.settings.context_tokens * CHARS_PER_TOKEN
        ranked = retrieval.chunks
        wanted = intent_sections(intents) if app_ids else set()
        if wanted and any(s.chunk.section in wanted for s in ranked):
            ranked = [s for s in ranked if s.chunk.section in wanted]
        used: list[ScoredChunk] = []
        size = 0
        for scored in ranked[: self.settings.top_k]:
            length = len(chunk_body(scored.chunk))
            if used and size + length > budget:
                break
            used.append(scored)
            size += length
        labels = intent_labels(intents) if wanted else set()
        return context_blocks([s.chunk for s in used], self.by_id, {a: labels for a in app_ids} if labels else None), used

    # ----------------------------------------------------------------- answering

    def _sources(self, plan: _Plan) -> list[Source]:
        if plan.field_answer:
            return [
                Source(app_id=a, app_name=self.by_id[a].nom, section=plan.field_answer.sections[0])
                for a in plan.field_answer.app_ids
                if a in self.by_id
            ]
        if plan.context is not None:
            used = plan.context_chunks
            return [
                Source(app_id=s.chunk.app_id, app_name=s.chunk.app_name, section=s.chunk.section, chunk_id=s.chunk.id, score=s.fused, text=s.chunk.text)
                for s in used
            ]
        return []

    def _finish(self, plan: _Plan, text: str, started: float, tokens: int = 0, guard: AnswerGuard | None = None) -> Answer:
        text = text.strip()
        rejected = guard.violation if guard else None
        if rejected:
            log.info("Generated answer rejected (%s %s): %r", rejected, guard.unsupported if guard else "", text)
            text = REFUSAL
        abstained = plan.refusal is not None or _REFUSAL_MARK in fold(text) or bool(plan.field_answer and plan.field_answer.abstained)
        linked = plan.field_answer.app_ids if plan.field_answer and plan.mode_used == "field" else plan.app_ids
        return Answer(
            question=plan.asked,
            answer=text,
            mode=plan.mode,
            mode_used=plan.mode_used,
            sources=[] if plan.refusal else self._sources(plan),
            abstained=abstained,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            generated_tokens=tokens,
            linked_apps=linked,
            intents=plan.field_answer.intents if plan.field_answer else plan.intents,
            rejected=rejected,
        )

    def ask(self, question: str, mode: str = "auto", conversation: Conversation | None = None) -> Answer:
        """Answer one question; with a ``conversation``, follow-ups resolve to the app discussed."""
        answer: Answer | None = None
        for event in self.stream(question, mode, conversation):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def stream(self, question: str, mode: str = "auto", conversation: Conversation | None = None) -> Iterator[str | Answer]:
        """Yield text pieces as they are generated, then the final :class:`Answer`.

        Generated text is shown only once :class:`~assistant.guards.AnswerGuard` has checked it.
        When the guard rejects an answer, the pieces yielded so far are an innocent beginning and
        the final ``Answer.answer`` — the refusal, with ``rejected`` set — replaces them: display
        the final answer whenever it differs from the pieces.
        """
        started = time.perf_counter()
        plan = self.plan(question, mode, conversation)
        if plan.field_answer or plan.refusal:
            text = plan.field_answer.text if plan.field_answer else plan.refusal or ""
            if plan.field_answer and mentions_credentials(text):
                # Verbatim record text that talks of passwords is planted, not a fact: never relay it.
                names = ", ".join(self.by_id[a].nom for a in plan.field_answer.app_ids if a in self.by_id)
                text = SUSPICIOUS_RECORD.format(names=names)
                plan.field_answer.abstained = True
            yield text
            answer = self._finish(plan, text, started)
        else:
            guard = AnswerGuard(plan.context)
            pieces = 0
            chain = self.chain(plan.finetuned)
            last: Any = None
            stream = chain.stream({"question": plan.question, "context": plan.context})
            try:
                for chunk in stream:
                    piece = chunk.content if isinstance(chunk.content, str) else ""
                    if piece:
                        pieces += 1
                        shown = guard.feed(piece)
                        if shown:
                            yield shown
                        if guard.violation:
                            break  # stop generating: the answer is rejected whatever comes next
                    last = chunk if last is None else last + chunk
            finally:
                stream.close()
            rest = guard.finish()
            if rest:
                yield rest
            tokens = generated_tokens(last) if last is not None else 0
            answer = self._finish(plan, guard.text, started, tokens or pieces, guard)
        if conversation is not None:
            conversation.remember(answer)
        yield answer
