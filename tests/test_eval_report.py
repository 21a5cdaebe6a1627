"""`dyag compare`: the Markdown and self-contained HTML report, checked in a real headless Chromium."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from eval.report import write_report
from eval.results import META, RESULTS

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CATEGORIES = ("status", "contacts", "websites", "aggregate", "out_of_catalog")
# mode → (probability of a right answer, median latency ms, generated tokens)
PROFILE = {"auto": (0.9, 4, 0), "rag": (0.6, 2500, 40), "finetuned": (0.2, 700, 20), "hybrid": (0.75, 2600, 25), "base": (0.05, 900, 40)}


def write_results(out: Path, modes: dict[str, tuple[float, float, int]], n: int = 40, seed: int = 0) -> Path:
    """A results folder as `dyag evaluate` writes it, with answers right at each mode's rate."""
    rng = random.Random(seed)
    out.mkdir(parents=True)
    lines = []
    for mode, (p_right, latency, tokens) in modes.items():
        for i in range(n):
            category = CATEGORIES[i % len(CATEGORIES)]
            refusal = category == "out_of_catalog"
            right = rng.random() < p_right
            abstained = refusal == right
            lines.append({
                "id": f"q{i}", "set": "test", "question": f"Question {i} sur {category} ?", "conversation": [], "mode": mode,
                "mode_used": mode, "answer": "ADES a le statut « En production »." if right else "Réponse fausse | avec barre",
                "expected": "ADES a le statut « En production ».", "category": category, "difficulty": ("easy", "hard")[i % 2],
                "app_id": None if refusal else "1001", "app_name": "ADES", "expect_refusal": refusal,
                "latency_ms": latency * rng.uniform(0.5, 1.8), "generated_tokens": tokens,
                "sources": [] if refusal else [{"app_id": "1001", "app_name": "ADES", "section": "overview"}], "abstained": abstained,
                "scores": {"correct": int(right), "fact_coverage": float(right), "token_f1": 0.9 if right else 0.1, "rouge_l": 0.8 if right else 0.1,
                           "semantic": 0.9 if right else 0.3, "refusal_ok": int(abstained == refusal),
                           "recall_at_k": None if refusal else 1, "reciprocal_rank": None if refusal else 1.0},
            })
    (out / RESULTS).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    meta = {"modes": list(modes), "settings": {"backend": "llamacpp", "generator_model": "gemma3-270m", "max_new_tokens": 40},
            "cost": {"training_time_s": 412.0, "gguf_mb": 292.0}, "skipped_modes": {}}
    (out / META).write_text(json.dumps(meta), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    return write_report([write_results(tmp / "demo", PROFILE, n=60)], tmp / "report")


def test_markdown_report(report):
    md = report.markdown.read_text(encoding="utf-8")
    for section in ("Recommendation", "Scores by mode", "Accuracy by category", "Accuracy by difficulty", "Cost", "What each approach gets right and wrong"):
        assert f"## {section}" in md or f"# {section}" in md, section
    for mode in PROFILE:
        assert f"| {mode} |" in md
    charts = sorted(p.name for p in (report.markdown.parent / "charts").glob("*.png"))
    assert charts == ["accuracy_by_category.png", "accuracy_by_mode.png", "accuracy_vs_latency.png", "latency_distribution.png"]
    assert "](charts/accuracy_by_mode.png)" in md
    assert "Réponse fausse \\| avec barre" in md  # a pipe inside a cell does not break the table
    assert "412 s" in md and "292.0 MB GGUF" in md
    # The recommendation is computed from the numbers: auto (0.9) deploys; hybrid vs RAG decides the approach.
    assert report.recommendation is not None and report.recommendation.deploy_mode == "auto"
    assert json.loads((report.markdown.parent / "recommendation.json").read_text())["decision"] == report.recommendation.decision


def test_html_is_self_contained(report):
    page = report.html.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 4
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing fetched from anywhere
    assert "<table>" in page and "Recommendation" in page


def test_compare_several_folders_labels_modes(tmp_path):
    a = write_results(tmp_path / "gemma", {"rag": PROFILE["rag"], "hybrid": PROFILE["hybrid"]}, n=20)
    b = write_results(tmp_path / "qwen", {"rag": (0.7, 3000, 40)}, n=20, seed=1)
    paths = write_report([a, b], tmp_path / "out")
    md = paths.markdown.read_text(encoding="utf-8")
    assert "| gemma:rag |" in md and "| qwen:rag |" in md and "| gemma:hybrid |" in md


def test_missing_results_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="dyag evaluate"):
        write_report([tmp_path], tmp_path / "out")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.chromium
def test_report_renders_with_charts_in_headless_chromium(report, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; `make test` does it)")
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    url = report.html.resolve().as_uri()
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<img alt="') == 4 and dom.stdout.count('src="data:image/png;base64,') == 4
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "eval_report.png"
    shot.unlink(missing_ok=True)
    done = subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1280,2000", url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]

    import matplotlib.image as mpimg
    import numpy as np

    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    assert float(np.var(pixels)) > 0.01  # not a blank page
    # The charts are drawn in colour (bars, heatmap); text and tables alone are grey.
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    assert float((saturation > 0.3).mean()) > 0.01


def test_unfinished_evaluation_compares_modes_on_common_questions(tmp_path):
    folder = write_results(tmp_path / "partial", {"auto": PROFILE["auto"], "rag": PROFILE["rag"]}, n=10)
    rows = [json.loads(line) for line in (folder / RESULTS).read_text().splitlines()]
    kept = [r for r in rows if r["mode"] == "auto" or int(r["id"][1:]) < 4]  # rag stopped after 4 questions
    (folder / RESULTS).write_text("".join(json.dumps(r) + "\n" for r in kept))
    paths = write_report([folder], tmp_path / "out")
    summary = paths.evaluated[0].summary
    assert summary["by_mode"]["auto"]["n"] == 4 and summary["by_mode"]["rag"]["n"] == 4 and summary["incomplete"] == 6
    assert "Unfinished evaluation" in paths.markdown.read_text()
