"""Record the demo's accuracy and latency per mode, and its step durations, in bench/RESULTS.md.

    dyag demo --workdir .dyag                      # the pipeline (or `make demo`)
    python bench/bench_demo.py --workdir .dyag     # prints the "## Demo" section
    python bench/bench_demo.py --workdir .dyag --record   # and writes it into bench/RESULTS.md

Reads ``<workdir>/demo/timings.json`` (seconds per step of the last run that did the work — a
second, up-to-date run records zeros, so it keeps the first's), ``<workdir>/eval/demo/summary.json``
and ``<workdir>/reports/demo/recommendation.json``. Only the ``## Demo`` section is replaced.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Demo"


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def seconds(ms: float | None) -> str:
    return "–" if ms is None else f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def section(workdir: Path, load: str | None, date: str | None) -> str:
    timings = json.loads((workdir / "demo" / "timings.json").read_text())
    summary = json.loads((workdir / "eval" / "demo" / "summary.json").read_text())
    rec_path = workdir / "reports" / "demo" / "recommendation.json"
    rec = json.loads(rec_path.read_text()) if rec_path.is_file() else None
    questions = ", ".join(f"{n} {name}" for name, n in summary["questions"].items())
    lines = [
        SECTION,
        "",
        f"`dyag demo` on `examples/catalog.json` ({date or 'date not given'}; {platform.machine()}, 2 cores, no GPU"
        + (f"; load average {load} from other jobs on the shared box" if load else "") + "). "
        f"Questions: {questions}; generation: Gemma-3-270M through llama.cpp, at most "
        f"{summary['settings'].get('max_new_tokens')} new tokens, context {summary['settings'].get('context_tokens')} tokens. "
        "Accuracy = every expected fact present (emails, URLs, dates, ids verbatim) or a correct refusal (`eval/metrics.py`).",
        "",
        "| mode | n | accuracy | fact coverage | token F1 | refusal acc. | recall@5 | latency p50 | latency p95 | tokens/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in summary["modes"]:
        s = summary["by_mode"][mode]
        tps = "–" if s["tokens_per_s"] is None else f"{s['tokens_per_s']:.1f}"
        lines.append(
            f"| {mode} | {s['n']} | {pct(s['accuracy'])} | {pct(s['fact_coverage'])} | {pct(s['token_f1'])} | {pct(s['refusal_accuracy'])} | "
            f"{pct(s['recall_at_k'])} | {seconds(s['latency_p50_ms'])} | {seconds(s['latency_p95_ms'])} | {tps} |"
        )
    lines += ["", "| step | seconds |", "|---|---:|"] + [f"| {k} | {v:.0f} |" for k, v in timings.items()]
    if rec:
        lines += ["", f"**{rec['headline']}**", ""] + [f"- {e}" for e in rec["evidence"]] + [f"- caveat: {c}" for c in rec["caveats"]]
    cost = summary.get("cost") or {}
    if cost:
        lines += ["", f"Fine-tuning run: {cost.get('training_steps')} steps on {cost.get('training_examples')} examples in "
                      f"{cost.get('training_time_s')} s; adapter {cost.get('adapter_mb')} MB; GGUF q8_0 {cost.get('gguf_mb')} MB."]
    return "\n".join(lines) + "\n"


def record(text: str) -> None:
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    updated = pattern.sub(lambda _: text + "\n", current) if pattern.search(current) else current.rstrip() + "\n\n" + text
    RESULTS.write_text(updated, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / ".dyag")
    parser.add_argument("--load", help="Load average during the run (from `uptime`), quoted in the section.")
    parser.add_argument("--date", help="Date of the run, quoted in the section.")
    parser.add_argument("--record", action="store_true", help="Write the section into bench/RESULTS.md.")
    args = parser.parse_args()
    text = section(args.workdir, args.load, args.date)
    print(text)
    if args.record:
        record(text)


if __name__ == "__main__":
    main()
