"""Ship a run: GGUF for llama.cpp / llama-cpp-python, and an Ollama Modelfile.

GGUF conversion uses llama.cpp's own converter (``convert_hf_to_gguf.py`` with its ``conversion``
package and ``gguf-py``), vendored in the llama-cpp-python source distribution. We pin the same
version as the runtime (:data:`LLAMA_CPP_PYTHON_VERSION`) so the converter writes what that
llama.cpp reads. The sdist (~77 MB) is the one ``make install`` built llama-cpp-python from and
kept in ``<venv>/share/dyag/`` (so export works offline); without it, it is fetched once with
``pip download`` (or given with ``sdist=``). The ~1 MB of converter files are extracted to
``<workdir>/tools/``.

Quantisations: ``f32``, ``f16``, ``bf16`` and ``q8_0`` are written by the converter directly;
``q4_k_m`` is an f16 conversion re-quantised by llama.cpp's ``llama_model_quantize`` (through
llama-cpp-python), since the Python converter cannot write k-quants.

The Modelfile's TEMPLATE is derived from the run's chat template
(:func:`finetune.chat_format.ollama_template`), its ``PARAMETER stop`` is the template's turn end,
its SYSTEM is Dyag's system prompt: Ollama then prompts the model exactly as training did.
For Gemma and Llama bases, Ollama also accepts an unmerged LoRA (``ADAPTER``), written as a
second Modelfile; Ollama does not support adapters for other families (Qwen: use the merged one).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import DyagError
from finetune.base_models import packaged_gguf
from finetune.chat_format import ollama_template, turn_end
from finetune.merge import merge_run
from finetune.runs import Run

log = logging.getLogger(__name__)

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
QUANTS = ("f32", "f16", "bf16", "q8_0", "q4_k_m")
# Ollama accepts ADAPTER only on these architectures (Ollama docs, "Build from a Safetensors adapter").
ADAPTER_MODEL_TYPES = ("llama", "gemma", "gemma2", "gemma3", "gemma3_text")
_VENDOR = f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}/vendor/llama.cpp/"
_WANTED = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "conversion/", "gguf-py/")


class ExportError(DyagError, RuntimeError):
    """The converter, the quantiser or the sdist download failed; the message holds its last lines."""


@dataclass
class OllamaExport:
    gguf: Path
    modelfile: Path
    command: str
    adapter_modelfile: Path | None = None
    adapter_command: str | None = None
    notes: list[str] = field(default_factory=list)


def installed_sdist() -> Path | None:
    """The sdist ``make install`` built llama-cpp-python from, kept in the environment (``<venv>/share/dyag``).

    With it, export needs no network: the converter comes from the very source the runtime was built from.
    """
    path = Path(sys.prefix) / "share" / "dyag" / f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz"
    return path if path.is_file() else None


def ensure_converter(tools_dir: Path, sdist: Path | None = None) -> Path:
    """The folder holding llama.cpp's converter, extracted once from the pinned sdist."""
    dest = tools_dir / f"llama.cpp-{LLAMA_CPP_PYTHON_VERSION}"
    if (dest / "convert_hf_to_gguf.py").is_file():
        return dest
    tools_dir.mkdir(parents=True, exist_ok=True)
    if sdist is None:
        sdist = installed_sdist() or tools_dir / f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}.tar.gz"
        if not sdist.is_file():
            log.warning("Downloading the llama-cpp-python %s source distribution (~77 MB, once) for its GGUF converter…", LLAMA_CPP_PYTHON_VERSION)
            # `--no-binary` names the one package: with `:all:`, pip also builds every *build* dependency
            # from source (scikit-build-core, hatchling, … cmake) — measured > 6 minutes with no pip cache.
            _run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "llama-cpp-python",
                 f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}", "-d", str(tools_dir)],
                "pip download of the llama-cpp-python sdist",
            )
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            if member.name.startswith(_VENDOR) and member.name[len(_VENDOR):].startswith(_WANTED) and member.isfile():
                member.name = member.name[len(_VENDOR):]
                archive.extract(member, tmp, filter="data")
    if not (tmp / "convert_hf_to_gguf.py").is_file():
        raise ExportError(f"{sdist} does not contain llama.cpp's convert_hf_to_gguf.py.")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise ExportError(f"{what} failed (exit {done.returncode}):\n{tail}")


def _converter_env(converter: Path) -> dict[str, str]:
    """The converter must import the vendored gguf-py (matching its constants), not the installed gguf."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(converter / "gguf-py"), str(converter), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def convert_folder(model_dir: Path, outfile: Path, quant: str, converter: Path) -> Path:
    """HF safetensors folder → GGUF at ``quant`` (see the module docstring for q4_k_m)."""
    if quant not in QUANTS:
        raise ExportError(f"Unknown quantisation {quant!r}; choose one of {', '.join(QUANTS)}.")
    outfile.parent.mkdir(parents=True, exist_ok=True)
    direct = "f16" if quant == "q4_k_m" else quant
    target = outfile.with_suffix(".f16.tmp.gguf") if quant == "q4_k_m" else outfile
    _run(
        [sys.executable, str(converter / "convert_hf_to_gguf.py"), str(model_dir), "--outfile", str(target), "--outtype", direct],
        f"GGUF conversion of {model_dir}",
        env=_converter_env(converter),
    )
    if quant == "q4_k_m":
        quantize(target, outfile, "q4_k_m")
        target.unlink()
    return outfile


def quantize(source: Path, target: Path, quant: str) -> None:
    """Re-quantise a GGUF with llama.cpp's quantiser (needs llama-cpp-python)."""
    import ctypes

    try:
        import llama_cpp
    except ImportError:
        raise ExportError("q4_k_m needs llama-cpp-python (pip install llama-cpp-python); q8_0 does not.") from None
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = {"q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M, "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0}[quant]
    if llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params)) != 0:
        raise ExportError(f"llama.cpp could not quantise {source} to {quant}.")


def export_gguf(run: Run, models_dir: Path, tools_dir: Path, quant: str = "q8_0", sdist: Path | None = None) -> Path:
    """``run/export/model-QUANT.gguf`` from the merged model (merged first if needed)."""
    if not run.has_merged():
        merge_run(run, models_dir)
    converter = ensure_converter(tools_dir, sdist)
    return convert_folder(run.merged_dir, run.export_dir / f"model-{quant}.gguf", quant, converter)


def _hub_snapshot(repo_id: str) -> Path:
    """The local cache folder of a hub model (already downloaded by training)."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id))


def _modelfile(source_lines: list[str], template: str, stop: str) -> str:
    from core.prompts import SYSTEM_PROMPT

    return "\n".join(
        source_lines
        + [
            f'TEMPLATE """{template}"""',
            f'PARAMETER stop "{stop}"',
            "PARAMETER temperature 0",
            f'SYSTEM """{SYSTEM_PROMPT}"""',
            "",
        ]
    )


def export_ollama(
    run: Run, models_dir: Path, tools_dir: Path, quant: str = "q8_0", sdist: Path | None = None, name: str | None = None
) -> OllamaExport:
    """GGUF + ``Modelfile`` (+ ``Modelfile.adapter`` for Gemma/Llama bases) and the ``ollama create`` commands."""
    import json

    from transformers import AutoTokenizer

    gguf = export_gguf(run, models_dir, tools_dir, quant, sdist)
    tokenizer = AutoTokenizer.from_pretrained(run.adapter_dir)
    template, stop = ollama_template(tokenizer), turn_end(tokenizer)
    export_dir = gguf.parent
    name = name or f"dyag-{run.name}".lower()
    modelfile = export_dir / "Modelfile"
    modelfile.write_text(_modelfile([f"FROM ./{gguf.name}"], template, stop), encoding="utf-8")
    result = OllamaExport(gguf, modelfile, f"ollama create {name} -f {modelfile.resolve()}")

    model_type = json.loads((run.merged_dir / "config.json").read_text(encoding="utf-8")).get("model_type", "")
    if model_type in ADAPTER_MODEL_TYPES:
        base = run.base(models_dir)
        base_dir = Path(base.location) if base.is_local else _hub_snapshot(base.location)
        converter = ensure_converter(tools_dir, sdist)
        adapter_gguf = export_dir / "adapter-f16.gguf"
        _run(
            [sys.executable, str(converter / "convert_lora_to_gguf.py"), str(run.adapter_dir), "--base", str(base_dir),
             "--outfile", str(adapter_gguf), "--outtype", "f16"],
            "LoRA adapter conversion",
            env=_converter_env(converter),
        )
        # The adapter must sit on the weights it was trained on: the packaged GGUF for a packaged
        # base (training saw exactly its dequantised values), else the base converted at `quant`.
        base_gguf = packaged_gguf(base) or convert_folder(base_dir, export_dir / f"base-{quant}.gguf", quant, converter)
        adapter_modelfile = export_dir / "Modelfile.adapter"
        adapter_modelfile.write_text(_modelfile([f"FROM {base_gguf.resolve()}", f"ADAPTER ./{adapter_gguf.name}"], template, stop), encoding="utf-8")
        result.adapter_modelfile = adapter_modelfile
        result.adapter_command = f"ollama create {name}-adapter -f {adapter_modelfile.resolve()}"
    else:
        result.notes.append(f"No ADAPTER variant: Ollama supports LoRA adapters on Llama and Gemma bases only (this is {model_type}).")
    return result
