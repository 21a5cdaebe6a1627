"""The catalog assistant as an MCP server (``dyag mcp``), on the official SDK (``mcp.server.mcpserver``).

Tools (typed, documented inputs; structured outputs whose JSON schema the client sees):

- ``ask`` — a question, a mode, an optional conversation id → the :class:`~assistant.answering.Answer`
  with its sources; the same conversation id makes follow-ups (« et son contact ? ») work;
- ``search`` — retrieved chunks with their dense, BM25 and fused scores;
- ``get_application`` — one catalog record, by id or by (short or long) name;
- ``list_applications`` — record summaries, filtered by status, domain and geographic scope;
- ``evaluate`` — a question file run through the modes → the per-mode summary of ``dyag evaluate``.

Resources: every record as ``dyag://applications/{app_id}`` (JSON), a template the client fills
with an id from ``list_applications``, so a catalog of any size costs nothing to advertise.

Transports: stdio (default), or streamable HTTP on 127.0.0.1. Over stdio, stdout carries the
protocol only: the SDK points file descriptor 1 at stderr while it serves, so stray prints of
libraries — Python or C (llama.cpp) — land on stderr, and the assistant (embedding model, index,
generator) is loaded on first use, inside that window. Logs go to stderr. A problem the user can
fix (:class:`~core.errors.DyagError`: an unknown application, a missing file, no fine-tuning run)
is an MCP tool error whose text is Dyag's one-line message; bad arguments are refused by the SDK
against the tool's schema, naming the field, also on one line (:func:`one_line`).
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Iterator, Literal

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from pydantic import BaseModel, Field

from assistant.answering import Answer, Assistant
from assistant.limits import checked_question
from assistant.server import ConversationStore
from core.choices import MODE_NAMES
from core.config import Settings
from core.errors import DyagError
from core.sampling import balanced_subset
from eval.questions import load_questions
from eval.runner import evaluate as run_evaluation
from eval.summary import write_summary
from ingestion.records import AppRecord
from ingestion.text_repair import fold

log = logging.getLogger(__name__)

RESOURCE_TEMPLATE = "dyag://applications/{app_id}"
# Literal over the names of core.choices: the schema lists them, and a new mode appears by itself.
Mode = Literal[MODE_NAMES]  # type: ignore[valid-type]
RetrievalMode = Literal["hybrid", "dense", "bm25"]


class UnknownApplicationError(DyagError, LookupError):
    """No record has that id or name."""


class SearchHit(BaseModel):
    chunk_id: str
    app_id: str
    app_name: str
    section: str
    text: str
    fused: float = Field(description="Reciprocal-rank-fusion score (the ranking).")
    dense: float | None = Field(None, description="Cosine similarity, when the chunk is in the dense candidates.")
    bm25: float | None = Field(None, description="BM25 score, when the chunk is in the keyword candidates.")


class SearchResult(BaseModel):
    query: str
    linked_applications: list[str] = Field(description="Applications the query names (ids), which restrict the search.")
    relevant: bool = Field(description="False when nothing in the catalog is close to the query.")
    hits: list[SearchHit]


class ApplicationSummary(BaseModel):
    id: str
    nom: str
    nom_long: str | None = None
    statut: str | None = None
    portee_geographique: str | None = None
    domaines: list[str] = Field(default_factory=list, description="« domaine > sous-domaine » paths.")
    uri: str = Field(description="The record as an MCP resource.")


class ApplicationList(BaseModel):
    total: int = Field(description="Applications matching the filters (the list may be cut at `limit`).")
    applications: list[ApplicationSummary]


class ModeSummary(BaseModel):
    """The headline numbers of one mode; summary.json in ``out_dir`` holds every metric."""

    n: int
    accuracy: float | None = None
    fact_coverage: float | None = None
    token_f1: float | None = None
    refusal_accuracy: float | None = None
    recall_at_k: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    errors: int = 0


class EvaluationResult(BaseModel):
    out_dir: str = Field(description="Where results.jsonl and summary.json are (re-running resumes).")
    questions: int
    answered_now: int
    resumed: int = Field(description="Answers found in out_dir from an earlier run, not asked again.")
    skipped_modes: dict[str, str] = Field(default_factory=dict, description="Modes that cannot run here, and why.")
    by_mode: dict[str, ModeSummary]


@contextmanager
def _user_errors() -> Iterator[None]:
    """A DyagError becomes an MCP tool error carrying its one-line message (the SDK hides other exceptions' text)."""
    try:
        yield
    except DyagError as exc:
        raise ToolError(str(exc)) from None


def one_line(text: str) -> str:
    """An error text on one line: pydantic's "field / indented message" blocks become "; field: message"."""
    parts: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("For further information visit"):
            continue
        parts.append(f"; {stripped}:" if parts and not line[:1].isspace() else stripped)
    return " ".join(parts).replace(" ;", ";")


async def _one_line_tool_errors(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Every tool error reaches the client on one line, the SDK's argument-validation errors included."""
    result = await call_next(ctx)
    if ctx.method == "tools/call" and isinstance(result, dict) and result.get("isError"):
        for block in result.get("content", []):
            if block.get("type") == "text":
                block["text"] = one_line(block["text"])
    return result


def _summary(record: AppRecord) -> ApplicationSummary:
    return ApplicationSummary(
        id=record.id, nom=record.nom, nom_long=record.nom_long, statut=record.statut,
        portee_geographique=record.portee_geographique, domaines=[d.path for d in record.domaines if d.path],
        uri=RESOURCE_TEMPLATE.format(app_id=record.id),
    )


def _matches_words(value: str, wanted: str) -> bool:
    """``wanted``, folded, as whole words of ``value`` ("eau" matches "Eau, milieux aquatiques", not "Réseau")."""
    return re.search(rf"\b{re.escape(fold(wanted))}\b", fold(value)) is not None


class CatalogTools:
    """The tools and the resource, over one assistant loaded on first use (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._assistant: Assistant | None = None
        # Bounded like the HTTP API's: idle conversations expire, the oldest go beyond a limit.
        self._conversations = ConversationStore()
        # The SDK runs sync tools on worker threads; the assistant (embedder, generator) is used by one at a time.
        self._lock = threading.Lock()

    @property
    def assistant(self) -> Assistant:
        if self._assistant is None:
            log.info("Loading the index of %s", self.settings.workdir)
            self._assistant = Assistant(self.settings)
        return self._assistant

    def _record(self, application: str) -> AppRecord:
        by_id = self.assistant.by_id
        if application.strip() in by_id:
            return by_id[application.strip()]
        wanted = fold(application)
        for record in self.assistant.records:
            if wanted and wanted in (fold(record.nom), fold(record.nom_long or "")):
                return record
        raise UnknownApplicationError(
            f"No application {application!r} in the catalog (by id, name or long name); list_applications lists them."
        )

    def ask(
        self,
        question: Annotated[str, Field(min_length=1, description="The question, in French (at most max_question_chars characters).")],
        mode: Annotated[Mode, Field(description="auto (default): exact answers from the record when possible; rag, finetuned, hybrid, base.")] = "auto",
        conversation_id: Annotated[str | None, Field(max_length=128, description="Any id: questions sharing it are one conversation, so follow-ups know the application.")] = None,
    ) -> Answer:
        """Answer a question about the application catalog, with its sources (application, id, section)."""
        with _user_errors(), self._lock:
            question = checked_question(question, self.settings)
            conversation = self._conversations.get(conversation_id) if conversation_id else None
            return self.assistant.ask(question, mode, conversation)

    def search(
        self,
        query: Annotated[str, Field(min_length=1, description="A question or keywords, in French (at most max_question_chars characters).")],
        k: Annotated[int, Field(ge=1, le=50, description="How many chunks.")] = 5,
        mode: Annotated[RetrievalMode, Field(description="hybrid (BM25 + dense, fused), dense or bm25.")] = "hybrid",
    ) -> SearchResult:
        """The catalog chunks retrieval finds for a query, best first, with their scores."""
        with _user_errors(), self._lock:
            result = self.assistant.retriever.retrieve(checked_question(query, self.settings), k=k, mode=mode)
        hits = [
            SearchHit(chunk_id=s.chunk.id, app_id=s.chunk.app_id, app_name=s.chunk.app_name, section=s.chunk.section,
                      text=s.chunk.text, fused=s.fused, dense=s.dense, bm25=s.bm25)
            for s in result.chunks
        ]
        return SearchResult(query=query, linked_applications=result.app_ids, relevant=result.relevant, hits=hits)

    def get_application(
        self,
        application: Annotated[str, Field(min_length=1, max_length=300, description="The application's id (\"1001\"), name (\"ADES\") or long name.")],
    ) -> AppRecord:
        """One catalog record, every field, as normalised by Dyag."""
        with _user_errors(), self._lock:
            return self._record(application)

    def list_applications(
        self,
        status: Annotated[str | None, Field(description="Statut SI, e.g. « En production », « En construction » (accents and case ignored).")] = None,
        domain: Annotated[str | None, Field(description="Words of a business domain or sub-domain, e.g. « eau », « Risques naturels ».")] = None,
        scope: Annotated[str | None, Field(description="Portée géographique: « Nationale », « Régionale », « Départementale », « Locale ».")] = None,
        limit: Annotated[int, Field(ge=1, le=1000, description="At most this many applications in the answer.")] = 100,
    ) -> ApplicationList:
        """Applications of the catalog, optionally filtered; each with its resource URI."""
        with _user_errors(), self._lock:
            records = self.assistant.records
        chosen = [
            r for r in records
            if (status is None or fold(r.statut or "") == fold(status))
            and (scope is None or fold(r.portee_geographique or "") == fold(scope))
            and (domain is None or any(_matches_words(d.path, domain) for d in r.domaines))
        ]
        return ApplicationList(total=len(chosen), applications=[_summary(r) for r in chosen[:limit]])

    def evaluate(
        self,
        questions_file: Annotated[str, Field(min_length=1, description="Path, on the server's machine, of a question set (JSONL: {question, expected_answer, …}, chat messages, prompt/completion or Alpaca).")],
        modes: Annotated[list[Mode], Field(min_length=1, description="Modes to compare.")] = ["auto"],  # pydantic copies the default per call
        limit: Annotated[int | None, Field(ge=1, description="At most this many questions, balanced over categories.")] = None,
        out_dir: Annotated[str | None, Field(description="Results folder. Default: <workdir>/eval/mcp-<file name>.")] = None,
    ) -> EvaluationResult:
        """Ask every question of a file in every mode, score the answers, and summarise per mode (like `dyag evaluate`)."""
        path = Path(questions_file).expanduser()
        with _user_errors(), self._lock:
            if not path.is_file():
                raise DyagError(f"Question file {path} not found (the path is read on the machine running `dyag mcp`).")
            questions = load_questions(path)
            if limit:
                questions = balanced_subset(questions, limit)
            name = path.name.removesuffix(".jsonl").removesuffix(".json")
            out = Path(out_dir).expanduser() if out_dir else self.settings.workdir / "eval" / f"mcp-{name}"
            assistant = self.assistant
            outcome = run_evaluation(
                questions, assistant, list(dict.fromkeys(modes)), out, sources={questions[0].set: path}, embedder=assistant.retriever.embedder
            )
            summary = write_summary(out)
        return EvaluationResult(
            out_dir=str(out), questions=len(questions), answered_now=outcome.answered, resumed=outcome.already_done,
            skipped_modes=outcome.skipped_modes,
            by_mode={mode: ModeSummary.model_validate(stats) for mode, stats in summary["by_mode"].items()},
        )

    def application_resource(self, app_id: str) -> str:
        """The catalog record with this id, as JSON."""
        with self._lock:
            try:
                record = self.assistant.by_id.get(app_id)
            except DyagError as exc:
                raise ResourceError(str(exc)) from None
        if record is None:
            raise ResourceNotFoundError(f"No application with id {app_id!r} in the catalog; list_applications lists the ids.")
        return record.model_dump_json(indent=2)


def build_server(settings: Settings) -> MCPServer:
    """The MCP server over the index of ``settings.workdir`` (nothing is loaded until a tool needs it)."""
    tools = CatalogTools(settings)
    server: MCPServer = MCPServer(
        "dyag",
        title="Dyag — catalogue des applications",
        instructions="Answers questions about the organisation's catalog of IT applications, in French, with sources. "
                     "Use ask for questions, get_application or the dyag://applications/{app_id} resource for a record.",
        log_level="WARNING",
    )
    server.middleware.append(_one_line_tool_errors)
    for tool in (tools.ask, tools.search, tools.get_application, tools.list_applications, tools.evaluate):
        server.add_tool(tool)
    server.resource(RESOURCE_TEMPLATE, name="application", description="One catalog record (JSON).", mime_type="application/json")(
        tools.application_resource
    )
    return server
