"""The apps import one another one way only (apps/README.md, DESIGN.md "Layers").

Every `apps/**/*.py` is parsed with `ast` (imports inside functions, under
`TYPE_CHECKING` and relative ones count) into a graph of app → app edges,
which is checked against the layer map written in apps/README.md.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ROOT / "apps"

Edges = dict[tuple[str, str], list[str]]


def layer_map(readme: str) -> dict[str, int]:
    """app → layer index (0 is the lowest), from the ```text block after "Layer map"."""
    match = re.search(r"Layer map.*?```text\n(.*?)```", readme, re.S)
    if match is None:
        raise AssertionError('apps/README.md has no "Layer map" ```text block')
    layers: dict[str, int] = {}
    for index, line in enumerate(line for line in match.group(1).splitlines() if line.strip()):
        _, _, names = line.partition(":")
        for app in names.split():
            assert app not in layers, f"{app} is in two layers of apps/README.md"
            layers[app] = index
    return layers


def _module_parts(path: Path, root: Path) -> list[str]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported_modules(node: ast.AST, path: Path, root: Path) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        package = _module_parts(path, root)
        if path.name != "__init__.py":
            package = package[:-1]
        base = package[: len(package) - (node.level - 1)]
        module = ".".join([*base, *(node.module.split(".") if node.module else [])])
    else:
        module = node.module or ""
    if module == "apps":  # `from apps import settings`
        return [f"apps.{alias.name}" for alias in node.names]
    return [module]


def app_imports(root: Path) -> Edges:
    """(importing app, imported app) → ["path:line module", …] for every `root/apps/**/*.py`."""
    edges: Edges = defaultdict(list)
    for path in sorted((root / "apps").rglob("*.py")):
        parts = path.relative_to(root / "apps").parts
        if len(parts) < 2:
            continue  # apps/__init__.py
        app = parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            for module in _imported_modules(node, path, root):
                names = module.split(".")
                if len(names) >= 2 and names[0] == "apps" and names[1] != app:
                    edges[(app, names[1])].append(f"{path.relative_to(root)}:{node.lineno} {module}")
    return dict(edges)


def installed_apps(root: Path) -> list[str]:
    return sorted(p.parent.name for p in (root / "apps").glob("*/__init__.py"))


def upward_imports(edges: Edges, layers: dict[str, int]) -> list[str]:
    """Imports from an app to one of a higher layer (core's layer holds core alone)."""
    found = []
    for (source, target), where in sorted(edges.items()):
        if source in layers and target in layers and layers[target] > layers[source]:
            found += [f"{source} → {target}: {w}" for w in where]
    return found


def cycles(edges: Edges) -> list[list[str]]:
    """Every strongly connected group of two or more apps (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        graph[source].add(target)
        graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(app: str) -> None:
        index[app] = low[app] = len(index)
        stack.append(app)
        on_stack.add(app)
        for target in sorted(graph[app]):
            if target not in index:
                visit(target)
                low[app] = min(low[app], low[target])
            elif target in on_stack:
                low[app] = min(low[app], index[target])
        if low[app] == index[app]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == app:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for app in sorted(graph):
        if app not in index:
            visit(app)
    return groups


def _cycle_report(edges: Edges, group: list[str]) -> str:
    lines = [f"apps import each other: {' ↔ '.join(group)}"]
    for (source, target), where in sorted(edges.items()):
        if source in group and target in group:
            lines += [f"  {source} → {target}: {w}" for w in where[:5]]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def layers() -> dict[str, int]:
    return layer_map((APPS / "README.md").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def edges() -> Edges:
    return app_imports(ROOT)


# --- The code base -------------------------------------------------------------------------


def test_every_app_has_a_layer_in_apps_readme(layers):
    missing = [app for app in installed_apps(ROOT) if app not in layers]
    assert not missing, f"Give these apps a layer in apps/README.md's layer map: {missing}"


def test_core_imports_no_other_app(edges):
    found = [w for (source, _), where in sorted(edges.items()) if source == "core" for w in where]
    assert not found, "apps/core imports other apps:\n" + "\n".join(found)


def test_no_app_imports_an_app_of_a_higher_layer(edges, layers):
    found = upward_imports(edges, layers)
    assert not found, "Imports against the layers of apps/README.md:\n" + "\n".join(found)


def test_no_two_apps_import_each_other(edges):
    groups = cycles(edges)
    assert not groups, "\n".join(_cycle_report(edges, group) for group in groups)


# --- The checker itself, on a small tree ---------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"apps/__init__.py": "", **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_checker_sees_every_form_of_import(tmp_path):
    root = _tree(
        tmp_path,
        {
            "apps/core/__init__.py": "",
            "apps/core/a.py": "def f():\n    from apps.billing.models import Plan\n",
            "apps/core/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import apps.accounts.models\n",
            "apps/core/sub/__init__.py": "",
            "apps/core/sub/c.py": "from ... import settings\nfrom ..d import x\n",
            "apps/core/d.py": "from apps import workflows as w\n",
        },
    )
    found = app_imports(root)
    assert sorted(found) == [("core", "accounts"), ("core", "billing"), ("core", "settings"), ("core", "workflows")]
    assert found[("core", "billing")] == ["apps/core/a.py:2 apps.billing.models"]


def test_the_checker_finds_upward_imports_and_cycles(tmp_path):
    root = _tree(
        tmp_path,
        {
            "apps/core/__init__.py": "",
            "apps/low/__init__.py": "from apps.high import x\n",
            "apps/high/__init__.py": "from apps.low import y\nfrom apps.core import z\n",
            "apps/mid/__init__.py": "from apps.low import y\n",
        },
    )
    layers = layer_map("Layer map:\n\n```text\ncore: core\nlow: low mid\nhigh: high\n```\n")
    found = app_imports(root)
    assert [line.split(":")[0] for line in upward_imports(found, layers)] == ["low → high"]
    assert cycles(found) == [["high", "low"]]
    assert cycles({("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): []}) == [["a", "b", "c"]]
    assert cycles({("a", "b"): [], ("b", "c"): []}) == []
