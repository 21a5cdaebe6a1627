"""`dyag mcp` for real: a `dyag mcp` subprocess on the example index, driven by the MCP SDK's own client.

One stdio session (module fixture) initializes, lists the tools, calls each tool — good and bad
arguments, an unknown application, a rag answer that loads llama.cpp — and reads the resources;
the tests below check its transcript. The server's stdout goes through `tee` to a file, so the
bytes it wrote are checked too: JSON-RPC messages, nothing else. A second subprocess serves
streamable HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import anyio
import pytest
from typer.testing import CliRunner

from cli.main import app
from core.config import Settings
from ingestion.catalog import load_catalog
from ingestion.text_repair import fold
from tests.conftest import EXAMPLE_CATALOG
from tests.test_cli import one_line_error

pytest.importorskip("mcp")
from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

DYAG = str(Path(sys.executable).with_name("dyag"))
TOOLS = {"ask", "search", "get_application", "list_applications", "evaluate"}
RECORDS = {r.nom: r for r in load_catalog(EXAMPLE_CATALOG).records}
EVAL_QUESTIONS = [
    {"question": "Quel est le statut de ADES ?", "expected_answer": "Le statut de ADES est « En production ».",
     "category": "status", "app_name": "ADES", "app_id": "1001", "expected_facts": ["En production"]},
    {"question": "Quel est le statut de 6Tzen ?", "expected_answer": "Le statut de 6Tzen est « En production ».",
     "category": "status", "app_name": "6Tzen", "app_id": "1028", "expected_facts": ["En production"]},
]


# A short generation budget keeps the rag call (the one that loads llama.cpp) to a few seconds.
SERVER_ENV = {**os.environ, "DYAG_MAX_NEW_TOKENS": "8"}


async def _record(calls: dict[str, Any], name: str, call: Callable[[], Awaitable[Any]]) -> None:
    try:
        calls[name] = await call()
    except MCPError as exc:
        calls[name] = exc


@pytest.fixture(scope="module")
def session(example_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The transcript of one stdio session: every result by name, and the raw stdout and stderr."""
    root = tmp_path_factory.mktemp("mcp")
    stdout_copy, stderr_path = root / "stdout.jsonl", root / "stderr.log"
    questions = root / "questions.jsonl"
    questions.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in EVAL_QUESTIONS), encoding="utf-8")
    command = f"{shlex.quote(DYAG)} mcp --workdir {shlex.quote(str(example_index.workdir))} | tee {shlex.quote(str(stdout_copy))}"
    params = StdioServerParameters(command="sh", args=["-c", command], env=SERVER_ENV, cwd=str(root))
    calls: dict[str, Any] = {}

    async def converse() -> None:
        with stderr_path.open("w", encoding="utf-8") as errlog:
            async with stdio_client(params, errlog=errlog) as streams:
                async with ClientSession(streams[0], streams[1], read_timeout_seconds=300) as client:
                    calls["initialize"] = await client.initialize()
                    calls["tools"] = (await client.list_tools()).tools
                    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                        ("ask_field", lambda: client.call_tool("ask", {"question": "Quel est le statut de 6Tzen ?"})),
                        ("ask_first", lambda: client.call_tool("ask", {"question": "Quel est le statut de ADES ?", "conversation_id": "c1"})),
                        ("ask_follow_up", lambda: client.call_tool("ask", {"question": "et son contact ?", "conversation_id": "c1"})),
                        ("ask_alone", lambda: client.call_tool("ask", {"question": "et son contact ?"})),
                        ("ask_rag", lambda: client.call_tool("ask", {"question": "À quoi sert ADES ?", "mode": "rag"})),
                        ("ask_bad_mode", lambda: client.call_tool("ask", {"question": "Quel est le statut de ADES ?", "mode": "magic"})),
                        ("ask_no_question", lambda: client.call_tool("ask", {"mode": "auto"})),
                        ("ask_finetuned_without_run", lambda: client.call_tool("ask", {"question": "Statut de ADES ?", "mode": "finetuned"})),
                        ("search", lambda: client.call_tool("search", {"query": "Qui contacter pour ADES ?", "k": 3})),
                        ("search_bad_k", lambda: client.call_tool("search", {"query": "ADES", "k": 0})),
                        ("get_by_name", lambda: client.call_tool("get_application", {"application": "ades"})),
                        ("get_by_id", lambda: client.call_tool("get_application", {"application": "1001"})),
                        ("get_by_long_name", lambda: client.call_tool("get_application", {"application": "Accès aux données sur les eaux souterraines"})),
                        ("get_unknown", lambda: client.call_tool("get_application", {"application": "FOOBAR"})),
                        ("list_status", lambda: client.call_tool("list_applications", {"status": "en construction"})),
                        ("list_domain_scope", lambda: client.call_tool("list_applications", {"domain": "eau", "scope": "nationale"})),
                        ("list_limit", lambda: client.call_tool("list_applications", {"limit": 2})),
                        ("evaluate", lambda: client.call_tool("evaluate", {"questions_file": str(questions), "modes": ["auto"]})),
                        ("evaluate_missing", lambda: client.call_tool("evaluate", {"questions_file": str(root / "nope.jsonl")})),
                        ("templates", lambda: client.list_resource_templates()),
                        ("resource", lambda: client.read_resource("dyag://applications/1001")),
                        ("resource_unknown", lambda: client.read_resource("dyag://applications/999999")),
                    ]
                    for name, call in steps:
                        await _record(calls, name, call)

    anyio.run(converse)
    calls["stdout"] = stdout_copy.read_text(encoding="utf-8")
    calls["stderr"] = stderr_path.read_text(encoding="utf-8")
    return calls


def _error_text(result: Any) -> str:
    assert result.is_error, result
    (block,) = result.content
    return block.text


def test_initialize_and_tools_have_typed_documented_schemas(session: dict[str, Any]) -> None:
    init = session["initialize"]
    assert init.server_info.name == "dyag"
    assert init.capabilities.tools is not None and init.capabilities.resources is not None
    tools = {t.name: t for t in session["tools"]}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and tool.output_schema and tool.output_schema["type"] == "object"
        for name, prop in tool.input_schema["properties"].items():
            assert prop.get("description"), f"{tool.name}.{name} is undocumented"
    ask = tools["ask"].input_schema
    assert ask["required"] == ["question"]
    assert ask["properties"]["mode"]["enum"] == ["auto", "rag", "finetuned", "hybrid", "base"]
    assert set(tools["ask"].output_schema["properties"]) >= {"answer", "sources", "mode_used", "abstained"}


def test_ask_answers_from_the_record_with_sources(session: dict[str, Any]) -> None:
    answer = session["ask_field"].structured_content
    assert answer["mode_used"] == "field" and not answer["abstained"]
    assert RECORDS["6Tzen"].statut in answer["answer"]
    assert {s["app_name"] for s in answer["sources"]} == {"6Tzen"}
    assert json.loads(session["ask_field"].content[0].text) == answer  # the same object, for clients that read text


def test_a_conversation_id_carries_the_application_to_follow_ups(session: dict[str, Any]) -> None:
    ades = RECORDS["ADES"]
    follow_up = session["ask_follow_up"].structured_content
    assert follow_up["linked_apps"] == [ades.id]
    assert ades.contacts[0].contact in follow_up["answer"]
    assert session["ask_alone"].structured_content["linked_apps"] != [ades.id]


def test_rag_generates_through_llamacpp_with_sources(session: dict[str, Any]) -> None:
    answer = session["ask_rag"].structured_content
    assert answer["mode_used"] == "rag" and answer["generated_tokens"] > 0
    assert answer["answer"] and all(s["app_id"] == RECORDS["ADES"].id for s in answer["sources"])


def test_bad_arguments_are_tool_errors_on_one_line(session: dict[str, Any]) -> None:
    for name, field in (("ask_bad_mode", "mode"), ("ask_no_question", "question"), ("search_bad_k", "k")):
        text = _error_text(session[name])
        assert "\n" not in text and f"; {field}:" in text, text
    assert "'auto', 'rag'" in _error_text(session["ask_bad_mode"])


def test_user_errors_are_tool_errors_with_dyags_message(session: dict[str, Any]) -> None:
    text = _error_text(session["get_unknown"])
    assert "\n" not in text and "No application 'FOOBAR' in the catalog" in text and "list_applications" in text
    assert "fine-tuning run" in _error_text(session["ask_finetuned_without_run"])
    assert "nope.jsonl not found" in _error_text(session["evaluate_missing"])


def test_search_returns_scored_chunks_of_the_named_application(session: dict[str, Any]) -> None:
    result = session["search"].structured_content
    assert result["linked_applications"] == [RECORDS["ADES"].id] and result["relevant"]
    hits = result["hits"]
    assert len(hits) == 3 and all(h["app_name"] == "ADES" and h["text"] for h in hits)
    assert [h["fused"] for h in hits] == sorted((h["fused"] for h in hits), reverse=True)


def test_get_application_by_name_id_or_long_name(session: dict[str, Any]) -> None:
    records = [session[name].structured_content for name in ("get_by_name", "get_by_id", "get_by_long_name")]
    assert records[0] == records[1] == records[2]
    ades = RECORDS["ADES"]
    assert records[0]["id"] == ades.id and records[0]["statut"] == ades.statut
    assert records[0]["contacts"][0]["courriel"] == ades.contacts[0].courriel


def test_list_applications_filters(session: dict[str, Any]) -> None:
    building = session["list_status"].structured_content
    expected = sorted(r.id for r in RECORDS.values() if r.statut == "En construction")
    assert building["total"] == len(expected) > 0 and sorted(a["id"] for a in building["applications"]) == expected
    water = sorted(a["id"] for a in session["list_domain_scope"].structured_content["applications"])
    # "eau" as a word of a domain or sub-domain, accents and case aside ("Police de l'eau" counts).
    assert water == sorted(
        r.id for r in RECORDS.values()
        if r.portee_geographique == "Nationale" and any(re.search(r"\beau\b", fold(d.path)) for d in r.domaines)
    ) != []
    limited = session["list_limit"].structured_content
    assert limited["total"] == len(RECORDS) and len(limited["applications"]) == 2
    assert limited["applications"][0]["uri"] == f"dyag://applications/{limited['applications'][0]['id']}"


def test_evaluate_scores_a_question_file(session: dict[str, Any], example_index: Settings) -> None:
    result = session["evaluate"].structured_content
    auto = result["by_mode"]["auto"]
    assert result["questions"] == auto["n"] == len(EVAL_QUESTIONS) and result["answered_now"] == len(EVAL_QUESTIONS)
    assert auto["accuracy"] == 1.0 and auto["errors"] == 0
    out = Path(result["out_dir"])
    assert out == example_index.workdir / "eval" / "mcp-questions"
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["by_mode"]["auto"]["n"] == len(EVAL_QUESTIONS)


def test_records_are_resources(session: dict[str, Any]) -> None:
    (template,) = session["templates"].resource_templates
    assert template.uri_template == "dyag://applications/{app_id}" and template.mime_type == "application/json"
    (content,) = session["resource"].contents
    assert json.loads(content.text)["nom"] == "ADES"
    error = session["resource_unknown"]
    assert isinstance(error, MCPError) and "999999" in error.error.message


def test_stdout_carries_nothing_but_json_rpc(session: dict[str, Any]) -> None:
    lines = session["stdout"].splitlines()
    assert len(lines) > 20  # every response above went through it
    for line in lines:
        message = json.loads(line)
        assert message["jsonrpc"] == "2.0" and ("id" in message or "method" in message), line


def test_cli_refuses_to_start_without_an_index_or_with_a_bad_transport(tmp_path: Path, example_index: Settings) -> None:
    runner = CliRunner()
    one_line_error(runner.invoke(app, ["mcp", "--workdir", str(tmp_path)]), "No index", "dyag ingest")
    one_line_error(runner.invoke(app, ["mcp", "--transport", "pigeon", "--workdir", str(example_index.workdir)]), "pigeon", "stdio")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_streamable_http_on_loopback(example_index: Settings, tmp_path: Path) -> None:
    from mcp.client.streamable_http import streamable_http_client

    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([DYAG, "mcp", "--transport", "http", "--port", str(port), "--workdir", str(example_index.workdir)],
                              stdout=log, stderr=subprocess.STDOUT, env=SERVER_ENV)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)

        async def converse() -> Any:
            async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as streams:
                async with ClientSession(streams[0], streams[1], read_timeout_seconds=120) as client:
                    await client.initialize()
                    return await client.call_tool("list_applications", {"scope": "Régionale"})

        result = anyio.run(converse)
        expected = sorted(r.id for r in RECORDS.values() if r.portee_geographique == "Régionale")
        assert sorted(a["id"] for a in result.structured_content["applications"]) == expected
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
