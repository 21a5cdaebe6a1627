"""Chat page: streamed answers with sources, one mode or several side by side, and feedback.

A Streamlit page script (``st.Page`` runs it as ``__main__``) whose pieces are importable.

Session state:
``turns``         the displayed history, one :class:`Turn` per question;
``conversation``  the :class:`~assistant.answering.Conversation` follow-ups resolve against;
``rated``         feedback already given, by reply key, so a reply is rated once.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal
from urllib.parse import quote

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from assistant.answering import Answer, Assistant, Conversation
from assistant.chat_common import BackendError
from assistant.limits import checked_question
from core.choices import MODE_NAMES, get_mode
from ingestion.embeddings import EmbeddingModelError
from ingestion.index import IndexStateError
from ui.feedback import FeedbackRow, save_feedback
from ui.state import app_settings, get_assistant, index_error_message
from ui.text import md_escape, safe_url

log = logging.getLogger(__name__)

MODE_LABELS = {
    "auto": "auto — fiche exacte si possible, sinon recherche + modèle",
    "rag": "rag — modèle de base + extraits du catalogue",
    "finetuned": "finetuned — modèle affiné seul",
    "hybrid": "hybrid — modèle affiné + extraits du catalogue",
    "base": "base — modèle de base seul (référence)",
}
MODE_USED_LABELS = {
    "field": "réponse exacte tirée de la fiche",
    "aggregate": "calcul sur tout le catalogue",
    "refusal": "refus (hors catalogue)",
}
# Aggregates cite every matching application; beyond this many, the list is summarised.
MAX_SOURCES_SHOWN = 8


@dataclass
class Reply:
    """One mode's answer to a question, or why that mode could not answer."""

    mode: str
    answer: Answer | None = None
    warning: str | None = None


@dataclass
class Turn:
    question: str
    replies: list[Reply]


def _needs_finetuned(mode: str) -> bool | None:
    """Which generator a mode loads up front; ``None`` for a routed mode (auto may need none)."""
    spec = get_mode(mode)
    return None if spec.routed else spec.finetuned


def stream_reply(assistant: Assistant, question: str, mode: str, conversation: Conversation) -> Reply:
    """Answer in ``mode``, streaming the text into the current container as it is generated.

    Answers quote the catalog and the model, so they are shown escaped, like every catalog text:
    an image in a record (``![x](http://host/pixel.png)``) would otherwise be fetched by every
    browser that shows it. Escaping is per character, so escaped pieces join into the escaped answer.
    """
    final: list[Answer] = []

    def pieces() -> Iterator[str]:
        for event in assistant.stream(question, mode, conversation):
            if isinstance(event, Answer):
                final.append(event)
            else:
                yield md_escape(event)

    try:
        finetuned = _needs_finetuned(mode)
        if finetuned is not None:
            # Loading a generator can take a while (transformers: up to a minute); say so, once.
            with st.spinner(f"Chargement du modèle {'affiné' if finetuned else 'de base'}…"):
                assistant.chat_model(finetuned)
        shown = st.empty()
        with shown:
            st.write_stream(pieces())
        if final and final[0].rejected:
            shown.markdown(md_escape(final[0].answer))  # the guards replaced a generated answer by the refusal
    except BackendError as exc:
        log.warning("Mode %s unavailable: %s", mode, exc)
        reply = Reply(mode, warning=f"Le mode **{mode}** n'est pas disponible : {md_escape(str(exc))}")
        st.warning(reply.warning)
        return reply
    except Exception as exc:  # one failing mode must not take the page (or the other modes) down
        log.exception("Answering in mode %s failed", mode)
        reply = Reply(mode, warning=f"Le mode **{mode}** a échoué : {md_escape(str(exc))}")
        st.warning(reply.warning)
        return reply
    return Reply(mode, answer=final[0])


def render_meta(answer: Answer) -> None:
    used = MODE_USED_LABELS.get(answer.mode_used, answer.mode_used)
    extra = " · abstention" if answer.abstained else ""
    st.caption(f"Mode {answer.mode} → {used} · {answer.latency_ms:.0f} ms{extra}")


def render_sources(answer: Answer, assistant: Assistant) -> None:
    """One line per cited application (name, id, sections, its record, its URLs), then the chunk texts."""
    if not answer.sources:
        return
    sections: dict[str, list[str]] = {}
    for source in answer.sources:
        sections.setdefault(source.app_id, [])
        if source.section not in sections[source.app_id]:
            sections[source.app_id].append(source.section)
    names = {s.app_id: s.app_name for s in answer.sources}
    lines = []
    for app_id in list(sections)[:MAX_SOURCES_SHOWN]:
        record = assistant.by_id.get(app_id)
        line = f"- **{md_escape(names[app_id])}** (id {md_escape(app_id)}) · section {md_escape(', '.join(sections[app_id]))}"
        line += f" · [fiche](./catalogue?app={quote(app_id, safe='')})"
        for site in record.sites if record else []:
            if url := safe_url(site.url):
                line += f" · [{md_escape(site.nature or 'site')}]({url})"
        lines.append(line)
    hidden = len(sections) - MAX_SOURCES_SHOWN
    if hidden > 0:
        lines.append(f"- … et {hidden} autres applications")
    st.markdown("**Sources**\n\n" + "\n".join(lines))
    for number, source in enumerate((s for s in answer.sources if s.text), 1):
        # Labels are Markdown too (images included).
        with st.expander(f"Extrait {number} — {md_escape(source.app_name)} · {md_escape(source.section)}"):
            # st.text: catalog text is shown as written, never interpreted as markdown.
            st.text(source.text)


def render_feedback(answer: Answer, key: str, workdir: Path, earlier: list[str]) -> None:
    """Thumbs up/down, then an optional comment (and correction), appended to ``feedback.jsonl``.

    ``earlier``: the conversation's previous questions, so a rated follow-up can be replayed.
    """
    rated: dict[str, str] = st.session_state.setdefault("rated", {})
    if key in rated:
        st.caption("Merci, votre avis est enregistré.")
        return
    choice = st.feedback("thumbs", key=f"thumbs-{key}")
    if choice is None:
        return
    rating: Literal["up", "down"] = "up" if choice == 1 else "down"
    with st.form(f"feedback-{key}", border=False):
        comment = st.text_input("Commentaire (facultatif)", key=f"comment-{key}")
        correction = st.text_input("Bonne réponse, si vous la connaissez (facultatif)", key=f"correction-{key}") if rating == "down" else ""
        if st.form_submit_button("Envoyer l'avis"):
            path = save_feedback(workdir, FeedbackRow.from_answer(answer, rating, comment, correction, earlier))
            log.info("Feedback saved to %s", path)
            rated[key] = rating
            st.rerun()


def render_reply(reply: Reply, key: str, assistant: Assistant, workdir: Path, earlier: list[str], live: bool = False) -> None:
    """A reply's answer (unless it was just streamed), its mode, latency, sources and feedback."""
    if reply.answer is None:
        if not live:
            st.warning(reply.warning)
        return
    if not live:
        st.markdown(md_escape(reply.answer.answer))
    render_meta(reply.answer)
    render_sources(reply.answer, assistant)
    render_feedback(reply.answer, key, workdir, earlier)


def _reply_slots(modes: list[str]) -> list[DeltaGenerator]:
    """One column per mode when comparing, else the message itself."""
    return list(st.columns(len(modes))) if len(modes) > 1 else [st.container()]


def render_turn(turn: Turn, index: int, assistant: Assistant, workdir: Path, earlier: list[str]) -> None:
    with st.chat_message("user"):
        st.markdown(md_escape(turn.question))
    with st.chat_message("assistant"):
        for number, (reply, slot) in enumerate(zip(turn.replies, _reply_slots([r.mode for r in turn.replies]))):
            with slot:
                if len(turn.replies) > 1:
                    st.markdown(f"**{reply.mode}**")
                render_reply(reply, f"{index}-{number}", assistant, workdir, earlier)


def answer_turn(question: str, modes: list[str], assistant: Assistant, workdir: Path, earlier: list[str]) -> Turn:
    """Answer ``question`` live in each mode, in sequence, each into its own column."""
    conversation: Conversation = st.session_state["conversation"]
    with st.chat_message("user"):
        st.markdown(md_escape(question))
    replies = []
    with st.chat_message("assistant"):
        for number, (mode, slot) in enumerate(zip(modes, _reply_slots(modes))):
            with slot:
                if len(modes) > 1:
                    st.markdown(f"**{mode}**")
                # Compared modes each resolve follow-ups against the same past, not against each other.
                own = conversation if len(modes) == 1 else copy.deepcopy(conversation)
                reply = stream_reply(assistant, question, mode, own)
                render_reply(reply, f"{len(earlier)}-{number}", assistant, workdir, earlier, live=True)
                replies.append(reply)
    if len(modes) > 1:
        answered = next((r.answer for r in replies if r.answer is not None), None)
        if answered is not None:
            conversation.remember(answered)
    return Turn(question, replies)


def chosen_modes() -> list[str]:
    with st.sidebar:
        st.subheader("Mode de réponse")
        if st.toggle("Comparer plusieurs modes", key="compare"):
            modes = st.multiselect("Modes comparés", MODE_NAMES, default=["auto", "rag"], format_func=MODE_LABELS.get, key="compare_modes")
        else:
            modes = [st.selectbox("Mode", MODE_NAMES, format_func=MODE_LABELS.get, key="mode")]
        if st.button("Nouvelle conversation", icon=":material/restart_alt:"):
            st.session_state["turns"] = []
            st.session_state["conversation"] = Conversation()
            st.session_state["rated"] = {}
    return modes


def render() -> None:
    settings = app_settings()
    st.title("Dyag — le catalogue des applications")
    modes = chosen_modes()
    question = st.chat_input("Posez une question, par ex. « Quel est le statut de 6Tzen ? »", max_chars=settings.max_question_chars)
    try:
        with st.spinner("Chargement de l'index et du modèle d'embedding (une fois par serveur)…"):
            assistant = get_assistant(settings)
    except (IndexStateError, EmbeddingModelError) as exc:
        st.error(index_error_message(settings, exc))
        return
    if not assistant.has_finetuned:
        st.sidebar.caption("Aucun modèle affiné configuré (`--run`) : les modes finetuned et hybrid le signaleront.")
    turns: list[Turn] = st.session_state.setdefault("turns", [])
    st.session_state.setdefault("conversation", Conversation())
    questions = [turn.question for turn in turns]
    for index, turn in enumerate(turns):
        render_turn(turn, index, assistant, settings.workdir, questions[:index])
    if question:
        # Within max_question_chars already (Streamlit cuts the value to max_chars): only cleaned here.
        question = checked_question(question, settings)
        if not modes:
            st.warning("Choisissez au moins un mode à comparer.")
            return
        turns.append(answer_turn(question, modes, assistant, settings.workdir, questions))


if __name__ == "__main__":
    render()
