"""Run every benchmark and print their Markdown tables (copy them into bench/RESULTS.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("bench_ingest.py", "bench_embeddings.py", "bench_assistant.py", "bench_training.py"):
    print(f"\n## {script}\n", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=False)
