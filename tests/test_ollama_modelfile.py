"""The Modelfile `dyag export --format ollama` writes, checked field by field against Ollama's documented
format (docs/modelfile.md: FROM, TEMPLATE and its Go template variables, PARAMETER stop/temperature,
SYSTEM, ADAPTER for Llama/Gemma bases only) on real exports of the tiny Gemma-3 and Qwen2 runs.

No Ollama server can run here: the file is parsed with Ollama's grammar (an instruction per line,
case-insensitive; ``\"\"\"…\"\"\"`` spans lines, ``"…"`` does not; ``#`` starts a comment) and its
template is rendered the way Ollama renders it, so that the prompt Ollama sends is compared with
the prompt training used.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.prompts import SYSTEM_PROMPT, build_messages
from finetune.chat_format import render_prompt, turn_end
from finetune.runs import Run
from tests.test_finetune_tiny import TOOLS_DIR, data_files, tiny, trained  # noqa: F401 — fixtures

# Ollama's documented PARAMETER names and their value types.
PARAMETER_TYPES = {
    "mirostat": int, "mirostat_eta": float, "mirostat_tau": float, "num_ctx": int, "repeat_last_n": int,
    "repeat_penalty": float, "temperature": float, "seed": int, "stop": str, "num_predict": int, "top_k": int,
    "top_p": float, "min_p": float,
}
INSTRUCTIONS = {"FROM", "PARAMETER", "TEMPLATE", "SYSTEM", "ADAPTER", "LICENSE", "MESSAGE"}
# The variables a single-turn TEMPLATE may use; Ollama omits what follows {{ .Response }} when prompting.
TEMPLATE_VARIABLES = ("System", "Prompt", "Response")


def _value(text: str, at: int) -> tuple[str, int]:
    """One argument at ``at``: a \"\"\"-quoted block, a "-quoted string, or the bare rest of the line."""
    if text.startswith('"""', at):
        end = text.index('"""', at + 3)
        return text[at + 3 : end], end + 3
    if text.startswith('"', at):
        end = text.index('"', at + 1)
        assert "\n" not in text[at:end], "a single-quoted argument cannot span lines"
        return text[at + 1 : end], end + 1
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    return text[at:end].strip(), end


def parse_modelfile(text: str) -> list[tuple[str, str]]:
    """``[(INSTRUCTION, argument)]``; a PARAMETER's argument is ``"name value"`` with the value unquoted."""
    commands: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        if text[at] == "#":
            end = text.find("\n", at)
            at = len(text) if end < 0 else end
            continue
        word = re.match(r"[A-Za-z]+", text[at:])
        assert word, f"no instruction at {text[at:at + 30]!r}"
        name = word.group().upper()
        assert name in INSTRUCTIONS, f"unknown instruction {name}"
        at += word.end()
        assert text[at] in " \t", f"{name} has no argument"
        at += 1
        if name == "PARAMETER":
            key = re.match(r"\w+", text[at:])
            assert key, "PARAMETER without a name"
            at += key.end() + 1
            value, at = _value(text, at)
            commands.append((name, f"{key.group()} {value}"))
        else:
            value, at = _value(text, at)
            commands.append((name, value))
        rest = text.find("\n", at)
        assert not text[at : rest if rest >= 0 else None].strip(), f"trailing text after {name}"
    return commands


def render_ollama(template: str, system: str, prompt: str) -> str:
    """What Ollama sends the model: the template up to {{ .Response }}, its variables filled in."""
    actions = re.findall(r"\{\{-?\s*(.*?)\s*-?\}\}", template)
    assert actions and all(a in {f".{v}" for v in TEMPLATE_VARIABLES} for a in actions), actions
    head = template.split("{{ .Response }}", 1)[0]
    return head.replace("{{ .System }}", system).replace("{{ .Prompt }}", prompt)


def _is_gguf(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:4] == b"GGUF"


@pytest.fixture(scope="module")
def export(trained: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]  # noqa: F811
    pytest.importorskip("llama_cpp")
    from finetune.export import export_ollama

    return export_ollama(Run(trained), tmp_path_factory.mktemp("models"), tools_dir=TOOLS_DIR, quant="f32", name="dyag-tiny")


def _fields(modelfile: Path) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name, argument in parse_modelfile(modelfile.read_text(encoding="utf-8")):
        fields.setdefault(name, []).append(argument)
    return fields


def test_modelfile_fields_follow_ollamas_format(export, trained: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(Run(trained).adapter_dir)
    fields = _fields(export.modelfile)

    # FROM: one GGUF, relative to the Modelfile (the folder can be moved and `ollama create` still finds it).
    (source,) = fields["FROM"]
    assert source.startswith("./") and _is_gguf(export.modelfile.parent / source)
    assert export.modelfile.parent / source == export.gguf

    # TEMPLATE: Go template variables only, in order, and what Ollama sends is the training prompt.
    (template,) = fields["TEMPLATE"]
    positions = [template.index(f"{{{{ .{v} }}}}") for v in TEMPLATE_VARIABLES]
    assert positions == sorted(positions)
    question = "Quel est le statut de ADES ?"
    messages = build_messages(question, context=["ADES (id 1001) — statut : En production"])
    expected = render_prompt(messages, tokenizer)
    # Without a leading BOS: llama.cpp, and so Ollama, adds it when tokenizing.
    assert render_ollama(template, SYSTEM_PROMPT, messages[1]["content"]) == expected.removeprefix(tokenizer.bos_token or "")
    assert template.endswith("{{ .Response }}" + turn_end(tokenizer))

    # PARAMETER: documented names, values of the documented types; stop is the turn end, greedy decoding.
    parameters = [p.split(" ", 1) for p in fields["PARAMETER"]]
    for key, value in parameters:
        assert key in PARAMETER_TYPES, key
        PARAMETER_TYPES[key](value)
    stops = [v for k, v in parameters if k == "stop"]
    assert stops == [turn_end(tokenizer)]
    assert stops[0] in tokenizer.get_vocab() or stops[0] == tokenizer.eos_token
    assert [float(v) for k, v in parameters if k == "temperature"] == [0.0]

    # SYSTEM: Dyag's system prompt, whole (multi-line safe inside \"\"\").
    assert fields["SYSTEM"] == [SYSTEM_PROMPT]
    assert "ADAPTER" not in fields
    assert export.command == f"ollama create dyag-tiny -f {export.modelfile.resolve()}"


def test_adapter_only_for_gemma_and_llama_bases(export, tiny: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    # Ollama imports LoRA adapters of Llama, Mistral and Gemma bases only: the tiny Qwen2 gets none.
    if not tiny.parent.name.startswith("gemma3"):
        assert export.adapter_modelfile is None and export.adapter_command is None
        assert any("ADAPTER" in note for note in export.notes)
        assert not (export.modelfile.parent / "Modelfile.adapter").exists()
        return
    fields = _fields(export.adapter_modelfile)
    (adapter,) = fields["ADAPTER"]
    assert adapter.startswith("./") and _is_gguf(export.adapter_modelfile.parent / adapter)
    # The adapter's base: an absolute path to a GGUF of the weights it was trained on.
    (base,) = fields["FROM"]
    assert Path(base).is_absolute() and _is_gguf(Path(base))
    plain = _fields(export.modelfile)
    assert {k: v for k, v in fields.items() if k not in ("FROM", "ADAPTER")} == {k: v for k, v in plain.items() if k != "FROM"}
    assert export.adapter_command == f"ollama create dyag-tiny-adapter -f {export.adapter_modelfile.resolve()}"


def test_the_parser_rejects_what_ollama_rejects() -> None:
    assert parse_modelfile('# comment\nfrom ./m.gguf\nparameter stop "<eos>"\nSYSTEM """a\nb"""\n') == [
        ("FROM", "./m.gguf"), ("PARAMETER", "stop <eos>"), ("SYSTEM", "a\nb"),
    ]
    with pytest.raises(AssertionError, match="unknown instruction"):
        parse_modelfile("FRM ./m.gguf\n")
    with pytest.raises(AssertionError, match="cannot span lines"):
        parse_modelfile('SYSTEM "a\nb"\n')
    with pytest.raises(AssertionError):
        render_ollama("{{ .System }}{{ if .First }}x{{ end }}{{ .Prompt }}{{ .Response }}", "s", "p")
