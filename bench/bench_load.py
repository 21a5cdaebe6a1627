"""Load test of ``dyag serve``: concurrent clients mixing exact and generated answers, on loopback.

    python bench/bench_load.py [--clients 50] [--duration 60] [--generated 0.2] [--workdir DIR]

Starts ``dyag serve`` as its own process on 127.0.0.1 (a free port; never another interface),
on the index in ``--workdir`` (built from examples/catalog.json if absent, default a temporary
folder), warms it up (index, embedder, generator), then runs ``--clients`` client threads for
``--duration`` seconds. Each client asks, in a loop, an exact question (answered from the record,
``auto``) or — with probability ``--generated`` — a question the model answers (``rag``), through
``POST /v1/chat/completions``; after a 503 it waits the ``Retry-After`` the server sends. Prints a
Markdown table: requests, errors (any status but 200, or a failed connection), latency p50/p95 per
kind, and the server's resident memory before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXACT = ["Quel est le statut de {app} ?", "Qui contacter pour {app} ?", "Quel est le nom long de {app} ?"]
GENERATED = ["Présente l'application {app} en une phrase.", "À quoi sert {app} pour les agents ?"]
# A request stuck longer than this counts as an error (and its client moves on).
REQUEST_TIMEOUT_S = 300.0


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"exact": [], "generated": []})
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.latencies[kind].append(seconds)
            else:
                self.errors[f"{kind}: {error}"] = self.errors.get(f"{kind}: {error}", 0) + 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ask(client: httpx.Client, url: str, question: str, mode: str) -> tuple[str | None, float]:
    """(None when answered, else what went wrong; the seconds the server asks to wait before retrying)."""
    body = {"model": f"dyag-{mode}", "messages": [{"role": "user", "content": question}]}
    try:
        response = client.post(f"{url}/v1/chat/completions", json=body, timeout=REQUEST_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return type(exc).__name__, 0.0
    if response.status_code == 200:
        return None, 0.0
    return f"HTTP {response.status_code}", float(response.headers.get("retry-after", 0))


def run_client(url: str, names: list[str], share: float, stop_at: float, seed: int, tally: Tally) -> None:
    rng = random.Random(seed)
    with httpx.Client() as client:
        while time.monotonic() < stop_at:
            generated = rng.random() < share
            template = rng.choice(GENERATED if generated else EXACT)
            started = time.monotonic()
            error, retry_after = ask(client, url, template.format(app=rng.choice(names)), "rag" if generated else "auto")
            tally.add("generated" if generated else "exact", time.monotonic() - started, error)
            time.sleep(min(retry_after, max(0.0, stop_at - time.monotonic())))  # as a polite client does


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of load (default 60).")
    parser.add_argument("--generated", type=float, default=0.2, help="Share of questions the model answers (default 0.2).")
    parser.add_argument("--workdir", type=Path, default=None, help="Work directory with an index (default: a temporary one).")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from core.config import load_config
    from ingestion.catalog import load_catalog
    from ingestion.index import current_generation_dir
    from ingestion.ingest import ingest_catalog

    catalog = ROOT / "examples" / "catalog.json"
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.workdir or Path(scratch) / "work"
        settings = load_config(overrides={"workdir": workdir})
        if current_generation_dir(settings.index_dir) is None:
            ingest_catalog(catalog, settings)
        names = [r.nom for r in load_catalog(catalog).records]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k != "DYAG_API_TOKEN"}
        server = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port), "--workdir", str(workdir)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                time.sleep(0.3)
            with httpx.Client() as client:  # loads the embedder and the generator
                for question, mode in ((EXACT[0].format(app=names[0]), "auto"), (GENERATED[0].format(app=names[0]), "rag")):
                    if error := ask(client, url, question, mode)[0]:
                        raise SystemExit(f"warm-up failed: {error}")
            rss_before = rss_mib(server.pid)
            peak = rss_before
            tally = Tally()
            stop_at = time.monotonic() + args.duration
            threads = [
                threading.Thread(target=run_client, args=(url, names, args.generated, stop_at, args.seed + i, tally), daemon=True)
                for i in range(args.clients)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            while any(t.is_alive() for t in threads):
                peak = max(peak, rss_mib(server.pid))
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            rss_after = rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)

    load = os.getloadavg()
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}\n")
    print(f"{args.clients} clients for {args.duration:.0f} s ({elapsed:.0f} s until the last answer), "
          f"{args.generated:.0%} generated questions, `dyag serve` on 127.0.0.1\n")
    print("| questions | requests | answered | errors | p50 (s) | p95 (s) | max (s) |\n|---|---:|---:|---:|---:|---:|---:|")
    for kind, values in tally.latencies.items():
        failed = sum(n for name, n in tally.errors.items() if name.startswith(f"{kind}:"))
        print(f"| {kind} | {len(values) + failed} | {len(values)} | {failed} | {percentile(values, 0.5):.2f} | "
              f"{percentile(values, 0.95):.2f} | {max(values, default=float('nan')):.2f} |")
    errors = sum(tally.errors.values())
    every = [v for values in tally.latencies.values() for v in values]
    print(f"| all | {len(every) + errors} | {len(every)} | {errors} | {percentile(every, 0.5):.2f} | "
          f"{percentile(every, 0.95):.2f} | {max(every, default=float('nan')):.2f} |")
    print("\n(Latencies are those of answered requests.)")
    print(f"\nThroughput {len(every) / elapsed:.1f} answers/s. Errors: {tally.errors or 'none'}.")
    print(f"Server memory (RSS): {rss_before:.0f} MiB after warm-up, {rss_after:.0f} MiB after the run "
          f"({rss_after - rss_before:+.0f} MiB), peak {peak:.0f} MiB.")
    if every:
        print(f"Mean latency {statistics.mean(every):.2f} s.")


if __name__ == "__main__":
    main()
