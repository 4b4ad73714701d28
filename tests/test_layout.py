"""The layout's import rules, checked over the source with `ast` (every import: module level, in functions and
under TYPE_CHECKING).

- audit's stages import one way: cli → exports → casework → rules → registry → intake; geo below them all.
- geo imports nothing of audit or web; audit and geo never import flask or web.
- No import circle between modules of audit and geo.
"""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("intake", "registry", "rules", "casework", "exports", "cli")  # lowest first
WEB_ONLY = ("flask", "flask_login", "flask_wtf", "flask_babel", "werkzeug", "jinja2", "waitress", "web")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path, packages: tuple[str, ...] = ("audit", "geo")) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(root, path)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file; `from pkg import sub` counts as pkg.sub when sub is a
    module, else as pkg."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.append((sub if sub in known else target, node.lineno))
    return out


def stage(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] == "geo":
        return -1
    if parts[0] == "audit" and len(parts) > 1 and parts[1] in STAGES:
        return STAGES.index(parts[1])
    return None


def violations(root: Path) -> list[str]:
    """Every import that runs the wrong way, every web import in audit/geo, and every circle."""
    known = modules(root)
    problems = []
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        graph[name] = set()
        for target, line in imports(name, path, known):
            where = f"{path.relative_to(root)}:{line} imports {target}"
            top = target.split(".")[0]
            if top in WEB_ONLY:
                problems.append(f"{where}: audit and geo never import the web layer")
                continue
            if top not in ("audit", "geo"):
                continue
            if name.startswith("geo") and top == "audit":
                problems.append(f"{where}: geo sits below audit")
            mine, theirs = stage(name), stage(target)
            if mine is not None and theirs is not None and theirs > mine:
                problems.append(f"{where}: {STAGES[theirs]} sits above {STAGES[mine] if mine >= 0 else 'geo'}")
            if target in known and target != name:
                graph[name].add(target)
    problems += [f"import circle: {' → '.join(c)}" for c in circles(graph)]
    return problems


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component) + [sorted(component)[0]])

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_imports_run_one_way_with_no_circle():
    assert violations(ROOT) == []


def test_every_stage_says_what_it_owns():
    for name in STAGES:
        doc = ast.get_docstring(ast.parse((ROOT / "audit" / name / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "import" in doc.lower(), f"audit/{name}/__init__.py needs a docstring saying what it owns and imports"


@pytest.fixture
def tree(tmp_path):
    for package in ("audit", "geo"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.mark.parametrize("module, line, expected", [
    ("audit/intake/parse.py", "from audit.registry.models import Device", "registry sits above intake"),
    ("audit/registry/store.py", "from ..rules.engine import run_rules", "rules sits above registry"),
    ("audit/rules/base.py", "    from ..casework import decisions", "casework sits above rules"),
    ("audit/casework/ledger.py", "from audit.exports import export", "exports sits above casework"),
    ("audit/exports/data.py", "from ..cli import main", "cli sits above exports"),
    ("geo/crs.py", "from audit.intake import columns", "geo sits below audit"),
    ("audit/rules/engine.py", "import flask", "never import the web layer"),
    ("geo/metric.py", "from web.layers import build", "never import the web layer"),
    ("geo/metric.py", "from geo.spacing import close_pairs", "import circle"),
])
def test_a_planted_wrong_way_import_is_found(tree, module, line, expected):
    path = tree / module
    text = path.read_text(encoding="utf-8")
    body = f"\n\ndef _planted():\n{line if line.startswith(' ') else '    ' + line}\n" if line.startswith(" ") \
        else f"\n{line}\n"
    path.write_text(text + body, encoding="utf-8")
    found = violations(tree)
    assert any(expected in v for v in found), found
