"""The one configuration object of Dyag.

Values come from four layers, each overriding the one before:

1. the defaults below (they work offline on a laptop CPU);
2. a TOML file (``--config FILE``, else ``dyag.toml`` in the current directory, if present);
3. ``DYAG_*`` environment variables (``DYAG_EMBEDDING_MODEL=all-minilm-l6-v2``);
4. command-line flags.

Only :func:`load_config` reads files and the environment; every other module receives a
:class:`Settings` instance from its caller.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import tomllib
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from core.choices import BACKEND_NAMES, backends_help
from core.errors import DyagError

ENV_PREFIX = "DYAG_"
DEFAULT_CONFIG_FILE = "dyag.toml"


class ConfigError(DyagError):
    """A configuration value is invalid; the message says which and where it came from."""


class Settings(BaseModel):
    """Everything a Dyag command may need to know. All state lives under ``workdir``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    workdir: Path = Field(Path(".dyag"), description="Directory that holds the index, datasets, runs and reports.")

    # Ingestion and retrieval
    embedding_model: str = Field(
        "multilingual-e5-small",
        description="Embedding model: 'multilingual-e5-small' (packaged, default), 'all-minilm-l6-v2' "
        "(packaged) or any sentence-transformers model id or folder.",
    )
    chroma_url: str | None = Field(None, description="URL of a Chroma server (chroma run); embedded store when unset.")
    collection: str = Field("dyag_chunks", description="Name of the Chroma collection.")
    chunk_words: int = Field(180, ge=20, description="Maximum words per chunk before a section is split.")
    max_field_chars: int = Field(
        200_000, ge=1000, description="Most characters one field may hold, its nested items and sub-fields together."
    )
    max_list_items: int = Field(1000, ge=10, description="Most items a list (or keys an object) of a record may hold.")
    embed_batch_size: int = Field(64, ge=1)
    top_k: int = Field(5, ge=1, description="Chunks given to the generator.")
    context_tokens: int = Field(
        400, ge=64, description="Token budget of the catalog facts given to the generator (2 cores read ~150 tokens/s)."
    )
    min_relevance: float = Field(0.0, description="Fused-score threshold under which retrieval finds nothing.")
    model_cache: Path | None = Field(
        None,
        description="Folder for the models Dyag trains from its own phrasings (the intent classifier, ~30 s), keyed by "
        "their hash, so that other work directories reuse them; default: the work directory's models/.",
    )

    # Generation
    backend: str = Field("llamacpp", description="Generation backend — " + backends_help() + ".")
    # The packaged Qwen2.5-Coder-0.5B-Instruct (finetune.registry.DEFAULT_MODEL; a test keeps them equal).
    generator_model: str = Field(
        "qwen2.5-coder:0.5b", description="Registry name (dyag models), local folder, GGUF file or served model name."
    )
    generator_threads: int | None = Field(
        None, ge=1, description="CPU threads of the in-process generator; default: every core this process may use."
    )
    ollama_host: str = "http://127.0.0.1:11434"
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_api_key: str = "not-needed"
    max_new_tokens: int = Field(96, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    run: Path | None = Field(None, description="Fine-tuning run whose adapter/GGUF serves the finetuned and hybrid modes.")

    max_question_chars: int = Field(
        2000, ge=100, description="Longest question accepted (CLI, HTTP API): longer ones are refused before any work."
    )

    # Serving
    host: str = "127.0.0.1"
    port: int = 8765
    # Never written out: a dump of the settings (web app cache keys, run manifests) leaves it behind.
    api_token: SecretStr | None = Field(
        None,
        min_length=16,
        exclude=True,
        description="Bearer token the HTTP API requires (DYAG_API_TOKEN); optional on 127.0.0.1, required on any other host.",
    )

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKEND_NAMES:
            raise ValueError(f"unknown backend {value!r}; choose one of {', '.join(BACKEND_NAMES)}")
        return value

    @property
    def index_dir(self) -> Path:
        return self.workdir / "index"

    @property
    def datasets_dir(self) -> Path:
        return self.workdir / "datasets"

    @property
    def runs_dir(self) -> Path:
        return self.workdir / "runs"

    @property
    def models_dir(self) -> Path:
        return self.workdir / "models"

    @property
    def intent_cache(self) -> Path:
        return (self.model_cache or self.models_dir) / "intent"

    @property
    def reports_dir(self) -> Path:
        return self.workdir / "reports"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"Configuration file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Configuration file {path} is not valid TOML: {exc}.") from None
    # A [dyag] table is accepted so the settings can live in a shared pyproject-style file.
    return dict(data.get("dyag", data))


def _read_env(env: Mapping[str, str]) -> dict[str, str]:
    known = set(Settings.model_fields)
    values: dict[str, str] = {}
    for key, value in env.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX):].lower()
            if name in known:
                values[name] = value
    return values


def load_config(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build the settings from defaults < TOML file < ``DYAG_*`` environment < ``overrides``.

    ``overrides`` holds the CLI flags; ``None`` values mean "flag not given" and are ignored.
    """
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    layers: list[tuple[str, dict[str, Any]]] = []
    if config_file is None and (cwd / DEFAULT_CONFIG_FILE).is_file():
        config_file = cwd / DEFAULT_CONFIG_FILE
    if config_file is not None:
        layers.append((str(config_file), _read_toml(Path(config_file))))
    layers.append(("environment", _read_env(env)))
    layers.append(("command line", {k: v for k, v in (overrides or {}).items() if v is not None}))

    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, values in layers:
        for key, value in values.items():
            merged[key] = value
            origin[key] = source
    try:
        return Settings(**merged)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "?"
            where = origin.get(field, "defaults")
            hint = f" (set as {ENV_PREFIX}{field.upper()})" if where == "environment" else f" (from {where})"
            problems.append(f"{field}: {err['msg']}{hint}")
        raise ConfigError("Invalid configuration — " + "; ".join(problems)) from None
