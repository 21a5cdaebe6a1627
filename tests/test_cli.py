"""The `dyag` command as a user meets it: every command registered once, and every user error
printed as one line with exit code 2 — never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.backends import LOADERS
from cli.main import COMMANDS, app
from core.choices import BACKEND_NAMES
from core.config import Settings

runner = CliRunner()


def one_line_error(result, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_every_command_is_listed_once_in_the_help() -> None:
    names = [name for name, _ in COMMANDS]
    assert len(names) == len(set(names))
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert all(name in result.output for name in names)


def test_each_backend_of_the_list_has_a_loader() -> None:
    assert set(LOADERS) == set(BACKEND_NAMES)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["ask", "Quel est le statut de ADES ?", "--mode", "finetuned"], ("fine-tuning run", "--run")),
        (["ask", "Quel est le statut de ADES ?", "--mode", "hybrid"], ("fine-tuning run",)),
        (["ask", "Quel est le statut de ADES ?", "--mode", "magic"], ("Unknown mode 'magic'",)),
        (["ask", "Quel est le statut de ADES ?", "--run", "no-such-run"], ("no-such-run", "dyag runs")),
        (["ask", "Quel est le statut de ADES ?", "--backend", "vllm"], ("backend", "llamacpp")),
        (["evaluate", "examples/questions/edge_cases.jsonl", "--out", "x", "--modes", "auto,nope"], ("Unknown mode 'nope'",)),
        (["export", "--run", "ghost"], ("ghost", "dyag runs")),
        (["merge", "--run", "ghost"], ("ghost",)),
        (["query-finetuned", "Bonjour ?", "--run", "ghost"], ("ghost",)),
    ],
)
def test_user_errors_are_one_line_and_exit_2(example_index: Settings, args: list[str], needles: tuple[str, ...]) -> None:
    root = Path(__file__).resolve().parents[1]
    result = runner.invoke(app, [*args, "--workdir", str(example_index.workdir)], env={"COLUMNS": "80"}, catch_exceptions=True)
    if args[0] == "evaluate":
        result = runner.invoke(app, [args[0], str(root / args[1]), *args[2:], "--workdir", str(example_index.workdir)])
    one_line_error(result, *needles)


def test_missing_index_says_which_command_builds_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ask", "Quel est le statut de ADES ?", "--workdir", str(tmp_path)])
    one_line_error(result, "dyag ingest")
    result = runner.invoke(app, ["evaluate", "q.jsonl", "--out", str(tmp_path / "o"), "--workdir", str(tmp_path)])
    one_line_error(result, "dyag ingest")


def test_an_answer_from_the_record_through_the_cli(example_index: Settings) -> None:
    result = runner.invoke(app, ["ask", "Quel est le statut de 6Tzen ?", "--workdir", str(example_index.workdir)])
    assert result.exit_code == 0, result.output
    assert "En production" in result.output and "6Tzen" in result.output


def test_a_question_longer_than_the_limit_is_one_line_before_any_work(example_index: Settings) -> None:
    question = "Décris ADES en détail. " * 4500  # ~100 KB: once `ValueError: Requested tokens … exceed context window`
    result = runner.invoke(app, ["ask", question, "--mode", "rag", "--workdir", str(example_index.workdir)])
    one_line_error(result, "103,500 characters", "max_question_chars")
    assert "Décris" not in result.output


def test_a_prompt_beyond_the_models_context_is_one_line_too(example_index: Settings) -> None:
    """The real Qwen model, the limit raised: llama.cpp's 4,096-token context refuses the prompt."""
    question = "Décris ADES en détail. " * 900  # ~6,000 tokens
    result = runner.invoke(
        app, ["ask", question, "--mode", "rag", "--workdir", str(example_index.workdir)], env={"DYAG_MAX_QUESTION_CHARS": "200000"}
    )
    one_line_error(result, "exceeds the model's context of 4096 tokens")


def test_chat_refuses_a_long_question_and_goes_on(example_index: Settings) -> None:
    lines = ["x" * 2001, "Quel est le statut de 6Tzen ?", ""]
    result = runner.invoke(app, ["chat", "--workdir", str(example_index.workdir)], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert "2,001 characters" in result.output and "En production" in result.output
