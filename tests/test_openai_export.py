"""`dyag export-dataset --format openai`: the files OpenAI's fine-tuning API reads, checked and costed
like its data-preparation guide does, with token counts proven equal to tiktoken's own."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from pathlib import Path
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from cli.main import app
from core.prompts import build_messages
from ingestion.dataset_formats import QARow, read_dataset, write_dataset
from ingestion.openai_export import (
    ENCODINGS,
    TokenCounter,
    default_epochs,
    export_openai,
    format_issues,
    split_rows,
)
from tests.test_cli import one_line_error

runner = CliRunner()
TEXTS = [
    "Quel est le statut de 6Tzen ?",
    "Le contact de ADES est Anne Martin (anne.martin@example.gouv.fr), « En production » depuis le 01/02/2019.",
    "Contexte :\nADES (id 1001) — statut : En production\n\nQuestion : Qui contacter ?",
    "<|endoftext|> et <|im_start|> sont du texte ici ; œuvre, naïve, 12345678, 🚀",
]


def _quicktok_ranks(encoding: str) -> dict[bytes, int]:
    """The mergeable ranks in quicktok-v1 0.4.0's data file: u32 count, then (u16 length, bytes, u32 rank)."""
    quicktok = pytest.importorskip("quicktok")
    data = (Path(quicktok.__file__).parent / "data" / f"{encoding.removesuffix('_base')}.vocab").read_bytes()
    ranks: dict[bytes, int] = {}
    offset = 4
    while offset < len(data):
        (length,) = struct.unpack_from("<H", data, offset)
        token = data[offset + 2 : offset + 2 + length]
        (rank,) = struct.unpack_from("<I", data, offset + 2 + length)
        ranks[token] = rank
        offset += 6 + length
    assert len(ranks) == struct.unpack_from("<I", data, 0)[0]
    return ranks


@pytest.fixture(scope="module")
def tiktoken_encodings() -> dict[str, Any]:
    """tiktoken's own encodings, built by its own constructors from quicktok's files.

    tiktoken would download each vocabulary and check it against a sha256 written in its source;
    here the same check runs on quicktok's file, rewritten in tiktoken's format. The hash comes
    from tiktoken, so a vocabulary that is not OpenAI's byte for byte fails the test.
    """
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken_ext import openai_public

    built = {}
    for name in ENCODINGS:
        ranks = _quicktok_ranks(name)
        seen_hashes = []

        def load(url: str, expected_hash: str, ranks: dict[bytes, int] = ranks, seen: list[str] = seen_hashes) -> dict[bytes, int]:
            file = "".join(f"{base64.b64encode(t).decode()} {r}\n" for t, r in sorted(ranks.items(), key=lambda item: item[1]))
            seen.append(expected_hash)
            assert hashlib.sha256(file.encode()).hexdigest() == expected_hash, f"{name}: not OpenAI's vocabulary"
            return ranks

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(openai_public, "load_tiktoken_bpe", load)
            built[name] = tiktoken.Encoding(**getattr(openai_public, name)())
        assert seen_hashes, f"tiktoken's {name} constructor did not load a vocabulary"
    return built


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_token_counts_are_tiktokens(encoding: str, tiktoken_encodings: dict[str, Any]) -> None:
    reference = tiktoken_encodings[encoding]
    counter = TokenCounter(encoding)
    for text in TEXTS:
        assert counter.text(text) == len(reference.encode_ordinary(text)), text
    messages = build_messages(TEXTS[0], ["ADES (id 1001) — statut : En production"], "Le statut est « En production ».")
    # The guide's formula, spelled out: 3 per message, its strings, 3 for the reply's priming.
    expected = 3 + sum(3 + len(reference.encode(m["role"])) + len(reference.encode(m["content"])) for m in messages)
    assert counter.messages(messages) == expected
    assert counter.messages([{**messages[1], "name": "agent"}]) == 3 + 3 + sum(len(reference.encode(v)) for v in (*messages[1].values(), "agent")) + 1


def _row(question: str, answer: str, split: str | None, **extra: Any) -> QARow:
    return QARow(question=question, expected_answer=answer, split=split, **extra)


def _dataset(tmp_path: Path) -> Path:
    rows = [
        *(_row(f"Quel est le statut de APP{i} ?", f"Le statut de APP{i} est « En production ».", "train") for i in range(6)),
        _row("Quel est le statut de APP0 ?", "Le statut de APP0 est « En production ».", "train"),  # duplicate of line 1
        _row("Qui contacter pour APP1 ?", "Anne Martin\u2028(cheffe de projet).", "valid"),  # a line separator inside a string
        _row("Quel est le statut de APP2 ?", "Le statut de APP2 est « En production ».", "valid"),  # also in train
        _row("Quand APP3 a-t-elle été mise en service ?", "Le 01/02/2019.", "test"),
    ]
    path = tmp_path / "dataset.jsonl"
    write_dataset(rows, path, "messages")
    return path


def report_line_count(path: Path) -> int:
    """Examples the report counted in ``path``: a U+2028 inside a string must not split one in two."""
    return json.loads((path.parent / "openai_report.json").read_text(encoding="utf-8"))[path.stem]["examples"]


def test_export_writes_messages_only_and_costs_the_training_file(tmp_path: Path, tiktoken_encodings: dict[str, Any]) -> None:
    out = tmp_path / "openai"
    result = runner.invoke(
        app, ["export-dataset", str(_dataset(tmp_path)), "--format", "openai", "--output", str(out),
              "--price-per-million", "2.5", "--epochs", "4"], env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    train, valid = ([json.loads(line) for line in (out / name).read_text(encoding="utf-8").split("\n") if line]
                    for name in ("train.jsonl", "valid.jsonl"))
    assert len(train) == 7 and len(valid) == 2  # the test row is not exported
    assert report_line_count(out / "valid.jsonl") == 2 and "\u2028" in valid[0]["messages"][-1]["content"]
    for example in train + valid:
        assert list(example) == ["messages"]
        assert [m["role"] for m in example["messages"]] == ["system", "user", "assistant"]
        assert all(set(m) == {"role", "content"} for m in example["messages"])
    assert "Quand APP3" not in (out / "train.jsonl").read_text(encoding="utf-8") + (out / "valid.jsonl").read_text(encoding="utf-8")

    reference = tiktoken_encodings["o200k_base"]
    tokens = [3 + sum(3 + len(reference.encode(m["role"])) + len(reference.encode(m["content"])) for m in e["messages"]) for e in train]
    report = json.loads((out / "openai_report.json").read_text(encoding="utf-8"))
    assert report["train"]["tokens"] == report["train"]["billed_tokens"] == sum(tokens)
    assert report["train"]["max_tokens"] == max(tokens) and report["train"]["min_tokens"] == min(tokens)
    assert report["train"]["duplicates"] == [[1, 7]]
    assert report["shared_with_valid"] == 1 and report["held_out"] == 1
    assert report["epochs"] == 4 and not report["epochs_default"]
    assert report["billed_training_tokens"] == 4 * sum(tokens)
    assert report["estimated_cost"] == pytest.approx(4 * sum(tokens) * 2.5 / 1e6, abs=1e-4)
    assert f"{4 * sum(tokens):,}" in result.output and "Estimated cost" in result.output
    assert "duplicated" in result.output and "also in valid.jsonl" in result.output


def test_limit_default_epochs_and_no_validation_file(tmp_path: Path) -> None:
    out = tmp_path / "openai"
    out.mkdir()
    (out / "valid.jsonl").write_text("stale\n", encoding="utf-8")
    rows = [r.model_copy(update={"split": None}) for r in read_dataset(_dataset(tmp_path))[0]]
    counts = [TokenCounter().messages(r.chat_messages()) for r in rows]
    limit = sorted(counts)[len(counts) // 2]
    report = export_openai(rows, out, max_tokens=limit)
    assert not (out / "valid.jsonl").exists()  # a stale one would be uploaded with the new training file
    assert report.valid is None and report.train.examples == 10
    assert report.train.over_limit == [i for i, n in enumerate(counts, 1) if n > limit] != []
    assert report.train.billed_tokens == sum(min(n, limit) for n in counts) < report.train.tokens == sum(counts)
    assert report.epochs == default_epochs(10) == 10 and report.epochs_default
    assert report.billed_training_tokens == 10 * report.train.billed_tokens and report.estimated_cost is None
    assert [default_epochs(n) for n in (3, 50, 1000, 10_000, 100_000)] == [25, 3, 3, 2, 1]


def test_valid_share_resplits_the_non_test_rows_the_same_way_every_time(tmp_path: Path) -> None:
    rows = [_row(f"Question {i} ?", f"Réponse {i}.", "test" if i < 2 else "train") for i in range(12)]
    train, valid, held_out = split_rows(rows, 0.25)
    assert (len(train), len(valid), held_out) == (8, 2, 2)
    # Chosen by the questions, not by their order in the file.
    assert {r.question for r in split_rows(list(reversed(rows)), 0.25)[1]} == {r.question for r in valid}
    assert not {r.question for r in valid} & {r.question for r in train}
    result = runner.invoke(app, ["export-dataset", str(_dataset(tmp_path)), "-o", str(tmp_path / "o"), "--valid-share", "1.5"])
    one_line_error(result, "--valid-share")
    result = runner.invoke(app, ["export-dataset", str(_dataset(tmp_path)), "-o", str(tmp_path / "o"), "--format", "vertex"])
    one_line_error(result, "unknown format 'vertex'", "openai")
    result = runner.invoke(app, ["export-dataset", str(_dataset(tmp_path)), "-o", str(tmp_path / "o"), "--encoding", "p50k_base"])
    one_line_error(result, "p50k_base", "o200k_base")


CASES: list[tuple[Callable[[], Any], str]] = [
    (lambda: ["not", "an", "object"], "data_type"),
    (lambda: {"prompt": "x"}, "missing_messages_list"),
    (lambda: {"messages": build_messages("Q ?", None, "R."), "meta": {}}, "example_unrecognized_key"),
    (lambda: {"messages": [{"role": "user"}, {"role": "assistant", "content": "R."}]}, "message_missing_key"),
    (lambda: {"messages": [{"role": "user", "content": "Q ?", "tool_call_id": "1"}, {"role": "assistant", "content": "R."}]}, "message_unrecognized_key"),
    (lambda: {"messages": [{"role": "tool", "content": "Q ?"}, {"role": "assistant", "content": "R."}]}, "unrecognized_role"),
    (lambda: {"messages": [{"role": "user", "content": ["Q ?"]}, {"role": "assistant", "content": "R."}]}, "missing_content"),
    (lambda: {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q ?"}]}, "example_missing_assistant_message"),
]


@pytest.mark.parametrize(("example", "kind"), CASES, ids=[kind for _, kind in CASES])
def test_each_format_problem_of_the_guide_is_found(example: Callable[[], Any], kind: str) -> None:
    kinds = [issue.kind for issue in format_issues(example(), "train.jsonl", 3)]
    assert kind in kinds
    assert format_issues({"messages": build_messages("Q ?", None, "R.")}, "train.jsonl", 1) == []
    assert format_issues({"messages": [*build_messages("Q ?", None, "R."), {"role": "assistant", "content": "Bis.", "weight": 0}]}, "t", 1) == []


def test_a_dataset_the_api_would_reject_is_refused_with_the_line(tmp_path: Path) -> None:
    dataset = tmp_path / "train.jsonl"
    good = {"messages": build_messages("Quel est le statut de ADES ?", None, "En production.")}
    bad = {"messages": [{"role": "user", "content": "Qui contacter ?", "tool_call_id": "7"}, {"role": "assistant", "content": "Anne."}]}
    dataset.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["export-dataset", str(dataset), "--output", str(tmp_path / "out")], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    error = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1 and "train.jsonl line 2" in error[0] and "message_unrecognized_key" in error[0], result.output
