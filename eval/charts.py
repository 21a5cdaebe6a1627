"""The report's charts as PNG bytes (matplotlib, Agg backend: no display needed).

Each function takes plain data (mode labels, numbers) and returns PNG bytes, which the report
embeds as base64 ``data:`` URIs (HTML) or writes next to the Markdown.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # headless: servers and CI have no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04")


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def accuracy_by_mode(labels: list[str], accuracy: list[float], coverage: list[float]) -> bytes:
    """Grouped bars: accuracy (all facts right) and mean fact coverage, per mode, in %."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = np.arange(len(labels))
    ax.bar(x - 0.2, [100 * a for a in accuracy], 0.4, label="accuracy", color=COLOURS[0])
    ax.bar(x + 0.2, [100 * c for c in coverage], 0.4, label="fact coverage", color=COLOURS[2])
    for i, a in enumerate(accuracy):
        ax.text(i - 0.2, 100 * a + 1, f"{100 * a:.0f}", ha="center", fontsize=8)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title("Accuracy by mode")
    ax.legend(loc="upper right", fontsize=8)
    return _png(fig)


def accuracy_by_category(labels: list[str], categories: list[str], matrix: list[list[float | None]]) -> bytes:
    """Heatmap: accuracy (%) of each mode (rows) on each question category (columns); blank = not asked."""
    data = np.array([[np.nan if v is None else 100 * v for v in row] for row in matrix], dtype=float)
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(categories) + 2), 0.5 * len(labels) + 2.2))
    image = ax.imshow(data, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(categories)), categories, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(categories)):
            if not np.isnan(data[i, j]):
                ax.text(j, i, f"{data[i, j]:.0f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label="accuracy %", fraction=0.03)
    ax.set_title("Accuracy by category")
    return _png(fig)


def latency_distribution(labels: list[str], latencies_ms: list[list[float]]) -> bytes:
    """Box plots of answer latency per mode (log scale: field answers take ms, generation seconds)."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    data = [[max(v, 0.1) for v in values] or [0.1] for values in latencies_ms]
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms, log)")
    ax.set_title("Latency distribution by mode")
    return _png(fig)


def accuracy_vs_latency(labels: list[str], accuracy: list[float], p50_ms: list[float]) -> bytes:
    """Scatter: median latency (x, log) against accuracy (y); up and left is better."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for i, (label, a, ms) in enumerate(zip(labels, accuracy, p50_ms)):
        ax.scatter(max(ms, 0.1), 100 * a, s=70, color=COLOURS[i % len(COLOURS)])
        ax.annotate(label, (max(ms, 0.1), 100 * a), textcoords="offset points", xytext=(6, 4), fontsize=9)
    ax.set_xscale("log")
    ax.set_xlabel("median latency (ms, log)")
    ax.set_ylabel("accuracy %")
    ax.set_ylim(-5, 105)
    ax.set_title("Accuracy vs latency")
    return _png(fig)
