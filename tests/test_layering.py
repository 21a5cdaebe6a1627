"""The house rules of the code base, checked on the source: one direction of imports, no cycles,
and a README layout that names every module.

Layers, bottom to top: ``core`` → ``ingestion`` → ``finetune`` → ``assistant`` → ``eval`` →
``cli`` and ``ui`` (side by side, never importing each other) → ``streamlit_app``. A module may
import its own package and the packages below it, never above — lazy imports inside functions
included, since they are how cycles hide.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"core": 0, "ingestion": 1, "finetune": 2, "assistant": 3, "eval": 4, "cli": 5, "ui": 5, "streamlit_app": 6}
PACKAGES = [p for p in LAYERS if (ROOT / p).is_dir()]


def _modules() -> dict[str, Path]:
    found = {"streamlit_app": ROOT / "streamlit_app.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imported(path: Path) -> set[str]:
    """Every project module ``path`` imports, wherever the import statement stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from assistant import answering` imports the submodule assistant.answering.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return {n for n in names if n in MODULES}


GRAPH = {name: _imported(path) - {name} for name, path in MODULES.items()}


def _layer(module: str) -> tuple[str, int]:
    top = module.split(".")[0]
    return top, LAYERS[top]


def test_imports_go_down_the_layers_only() -> None:
    upward = []
    for module, targets in GRAPH.items():
        top, rank = _layer(module)
        for target in targets:
            target_top, target_rank = _layer(target)
            if target_top != top and target_rank >= rank:
                upward.append(f"{module} imports {target}")
    assert not upward, "imports against the layers:\n" + "\n".join(sorted(upward))


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    return components


def test_no_import_cycle() -> None:
    assert _cycles() == []


def test_the_checks_see_the_imports() -> None:
    # Guards the two tests above against passing because they parse nothing.
    assert len(MODULES) > 60
    assert "core.config" in GRAPH["ingestion.ingest"] or any(t.startswith("core.") for t in GRAPH["ingestion.ingest"])
    assert any(t.startswith("assistant.") for t in GRAPH["eval.runner"])


def _readme_layout() -> dict[str, set[str]]:
    """``{package: {module file names}}`` from the README's Layout block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    listed: dict[str, set[str]] = {}
    current = None
    for line in block.splitlines():
        match = re.match(r"\s*([\w/]+/)\s{2,}(.*)", line)
        if match:
            current = match.group(1).rstrip("/")
            rest = match.group(2)
        elif current and line.strip():
            rest = line
        else:
            continue
        listed.setdefault(current, set()).update(re.findall(r"[\w]+\.py", re.sub(r"\([^)]*\)", "", rest)))
    return listed


def test_readme_layout_names_every_module() -> None:
    listed = _readme_layout()
    for package in PACKAGES:
        on_disk = {p.relative_to(ROOT / package).as_posix() for p in (ROOT / package).rglob("*.py") if p.name != "__init__.py"}
        on_disk_names = {Path(p).name for p in on_disk}
        assert package in listed, f"README layout misses the package {package}/"
        assert listed[package] == on_disk_names, (
            f"README layout of {package}/ is out of date: missing {sorted(on_disk_names - listed[package])}, "
            f"gone {sorted(listed[package] - on_disk_names)}"
        )
