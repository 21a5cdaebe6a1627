"""The answering modes and the generation backends: plain lists of dataclasses.

These lists are the single source of what exists: the settings validate ``backend`` against
:data:`BACKENDS`, the CLI builds its ``--mode`` / ``--backend`` help from them, the assistant,
the evaluation and the web app read :attr:`ModeSpec.finetuned` instead of spelling mode names,
and an unknown name gets one error listing the valid ones. Adding a mode or a backend starts
here (the backend's loader lives in :mod:`assistant.backends`, keyed by the same name).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import DyagError


@dataclass(frozen=True)
class ModeSpec:
    """One way of answering a question."""

    name: str
    summary: str
    finetuned: bool  # generates with the fine-tuning run's model (needs `run`)
    context: bool  # gives the generator retrieved catalog facts
    routed: bool = False  # may answer from the record, or refuse, without generating


MODES: list[ModeSpec] = [
    ModeSpec(
        "auto",
        "exact answers from the record when intent and application are certain, a refusal when the "
        "application is unknown or nothing relevant is found, otherwise hybrid (rag without a run)",
        finetuned=False, context=True, routed=True,
    ),
    ModeSpec("rag", "base model + retrieved catalog facts", finetuned=False, context=True),
    ModeSpec("finetuned", "fine-tuned model alone (closed book)", finetuned=True, context=False),
    ModeSpec("hybrid", "fine-tuned model + retrieved catalog facts", finetuned=True, context=True),
    ModeSpec("base", "base model alone (closed book): the floor every approach must beat", finetuned=False, context=False),
]

MODE_NAMES: tuple[str, ...] = tuple(m.name for m in MODES)


@dataclass(frozen=True)
class BackendSpec:
    """One way of running the generator."""

    name: str
    summary: str
    in_process: bool  # loads weights into this process (else: an HTTP client of a server)


BACKENDS: list[BackendSpec] = [
    BackendSpec("llamacpp", "a GGUF run in process by llama-cpp-python (default; offline)", in_process=True),
    BackendSpec("transformers", "a transformers model (+ a run's LoRA adapter, no export needed)", in_process=True),
    BackendSpec("ollama", "an Ollama server (ollama_host); model = a pulled or created Ollama model", in_process=False),
    BackendSpec("openai", "any OpenAI-compatible server (openai_base_url), e.g. llama_cpp.server", in_process=False),
]

BACKEND_NAMES: tuple[str, ...] = tuple(b.name for b in BACKENDS)


class UnknownChoiceError(DyagError, ValueError):
    """A mode or backend name that is not in the lists above."""


def get_mode(name: str) -> ModeSpec:
    for spec in MODES:
        if spec.name == name:
            return spec
    raise UnknownChoiceError(f"Unknown mode {name!r}; choose one of {', '.join(MODE_NAMES)}.")


def get_backend(name: str) -> BackendSpec:
    for spec in BACKENDS:
        if spec.name == name:
            return spec
    raise UnknownChoiceError(f"Unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}.")


def parse_modes(value: str) -> list[str]:
    """``"auto, rag"`` → ``["auto", "rag"]``, every name checked."""
    names = [m.strip() for m in value.split(",") if m.strip()]
    if not names:
        raise UnknownChoiceError(f"No mode given; choose among {', '.join(MODE_NAMES)}.")
    for name in names:
        get_mode(name)
    return list(dict.fromkeys(names))


def modes_help() -> str:
    return "; ".join(f"{m.name}: {m.summary}" for m in MODES)


def backends_help() -> str:
    return "; ".join(f"{b.name}: {b.summary}" for b in BACKENDS)
