"""llama.cpp build flags compared: prompt and generation speed of the same GGUF, same machine, one run.

    python bench/bench_llama_builds.py [--builds portable,avx512,native] [--repeats 5] [--keep DIR]

Each candidate is built from the llama-cpp-python sdist kept by ``make install`` (``<venv>/share/dyag``)
into its own folder (``pip install --target``, no cache: pip reuses a cached wheel whatever the
flags), then measured in a fresh subprocess on the packaged Qwen2.5-Coder-0.5B (Q4_K_M): prompt
evaluation of a 400-token French prompt and 64 greedy tokens, ``--repeats`` times, medians
reported. The candidates:

* ``portable``: what ``make install`` builds (``GGML_NATIVE=OFF``, AVX2 + FMA + F16C): any x86-64 CPU of the last decade;
* ``avx512``: portable plus AVX-512 (F, VBMI, VNNI, BF16) — no AMX: runs where AVX-512 does;
* ``native``: ``-march=native`` of *this* machine; on an Intel Xeon with AMX it compiles the AMX
  path that faults (``ldtilecfg``) where the hypervisor does not grant tile state, so it is measured only
  where ``lscpu`` shows no ``amx`` flag.

Building takes ~3-5 minutes per candidate on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUILDS = {
    "portable": "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF",
    "avx512": "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON "
    "-DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF",
    "native": "-DGGML_NATIVE=ON",
}

_MEASURE = r"""
import json, os, statistics, sys, time
from llama_cpp import Llama
gguf, repeats = sys.argv[1], int(sys.argv[2])
llm = Llama(model_path=gguf, n_ctx=2048, n_threads=len(os.sched_getaffinity(0)), n_threads_batch=len(os.sched_getaffinity(0)), verbose=False)
text = "<|im_start|>user\n" + "Application : GASPAR\nStatut : En production\nContact : Claire Chevalier <claire.chevalier@developpement-durable.gouv.fr>\n" * 12 + "Qui contacter ?<|im_end|>\n<|im_start|>assistant\n"
tokens = llm.tokenize(text.encode(), add_bos=False, special=True)
prompt, gen = [], []
for _ in range(repeats):
    llm.reset(); t = time.perf_counter(); llm.eval(tokens); prompt.append(len(tokens) / (time.perf_counter() - t))
    llm.reset(); t = time.perf_counter()
    out = llm.create_completion(tokens, max_tokens=64, temperature=0, stop=[])
    total = time.perf_counter() - t
    gen.append(out["usage"]["completion_tokens"] / max(total - len(tokens) / prompt[-1], 1e-6))
print(json.dumps({"prompt_tokens": len(tokens), "prompt_tps": statistics.median(prompt), "gen_tps": statistics.median(gen), "text": out["choices"][0]["text"][:60]}))
"""


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def build(name: str, sdist: Path, into: Path) -> float:
    started = time.perf_counter()
    env = {**os.environ, "CMAKE_ARGS": BUILDS[name]}
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-cache-dir", "--no-deps", "--target", str(into), str(sdist)],
        env=env, check=True,
    )
    return time.perf_counter() - started


def main() -> None:
    from finetune.base_models import assemble_packaged_gguf
    from finetune.export import installed_sdist
    from finetune.registry import get_entry

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", default="portable,avx512,native")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="Folder for the builds (default: a temporary one).")
    args = parser.parse_args()

    sdist = installed_sdist()
    if sdist is None:
        sys.exit("No llama-cpp-python sdist in <venv>/share/dyag: run `make install` first.")
    gguf = assemble_packaged_gguf(get_entry("qwen2.5-coder:0.5b"), ROOT / ".dyag" / "models" / "gguf")
    flags = cpu_flags()
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    print(f"Machine: {model}, {os.cpu_count()} cores; AVX-512: {'avx512f' in flags}, AMX: {'amx_tile' in flags}\n")
    root = args.keep or Path(tempfile.mkdtemp(prefix="llama-builds-"))
    rows = []
    for name in args.builds.split(","):
        if name == "native" and "amx_tile" in flags:
            rows.append((name, None, {"note": "skipped: AMX machine (the native build faults)"}))
            continue
        if name == "avx512" and "avx512f" not in flags:
            rows.append((name, None, {"note": "skipped: no AVX-512 on this CPU"}))
            continue
        target = root / name
        seconds = build(name, sdist, target) if not (target / "llama_cpp").is_dir() else None
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(gguf), str(args.repeats)],
            env={**os.environ, "PYTHONPATH": str(target)}, capture_output=True, text=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {"note": f"failed (exit {done.returncode}): {done.stderr.strip()[-200:]}"}
        rows.append((name, seconds, result))
    print("| build | build time (s) | prompt tokens/s | generation tokens/s | note |\n|---|---:|---:|---:|---|")
    for name, seconds, r in rows:
        build_s = f"{seconds:.0f}" if seconds else "–"
        prompt = f"{r['prompt_tps']:.0f}" if "prompt_tps" in r else "–"
        gen = f"{r['gen_tps']:.1f}" if "gen_tps" in r else "–"
        print(f"| {name} | {build_s} | {prompt} | {gen} | {r.get('note', '')} |")


if __name__ == "__main__":
    main()
