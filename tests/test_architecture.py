"""The shape of the house: imports run down the floors (domain → web → core), no import circle,
operators' code never loaded by a served worker, one home for the Buddhist era."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lca"

#: which floors each floor may import; the app factory (``lca``) wires them all together, and
#: reaches the operators' commands only inside the ``flask lca`` group (tested below)
ALLOWED = {
    "core": {"core"},
    "web": {"core", "web"},
    "domain": {"core", "web", "domain"},
    "ops": {"core", "web", "domain", "ops"},
    "app": {"core", "web", "domain", "ops", "app"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def floor(name: str) -> str:
    """core (with the models), web, ops, the app factory, or a domain package."""
    if name == "lca":
        return "app"
    second = name.split(".")[1]
    if second in ("core", "models"):
        return "core"
    return second if second in ("web", "ops") else "domain"


def _resolve(name: str) -> str | None:
    while name and name not in modules():
        name = name.rpartition(".")[0]
    return name or None


def imports_of(name: str, top_level_only: bool = False) -> set[str]:
    """The LCA modules a module imports, anywhere in it (or only at its top level)."""
    tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {r for a in node.names if a.name.startswith("lca") and (r := _resolve(a.name))}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not node.module.startswith("lca"):
                continue
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                target = submodule if submodule in modules() else _resolve(node.module)
                if target:
                    found.add(target)
    found.discard(name)
    return found


def test_the_floors_are_all_there():
    names = set(modules())
    for expected in ("lca.core.db", "lca.core.errors", "lca.web.permissions", "lca.ops.commands"):
        assert expected in names
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert loose == [], f"modules loose at the top of lca/: {loose}"


def test_imports_run_down_the_floors():
    wrong = [
        f"{name} ({floor(name)}) imports {target} ({floor(target)})"
        for name in sorted(modules())
        for target in sorted(imports_of(name))
        if floor(target) not in ALLOWED[floor(name)]
    ]
    assert wrong == []


def test_the_app_factory_loads_the_operators_commands_only_when_one_is_run():
    assert not any(floor(t) == "ops" for t in imports_of("lca", top_level_only=True))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_anywhere():
    graph = {name: imports_of(name) for name in modules()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_a_served_worker_loads_no_operations_code(tmp_path):
    """What gunicorn loads (``wsgi:app``) holds no lca.ops module, no demo and no synth code."""
    env = {
        **os.environ,
        "LCA_ENV": "production",
        "LCA_SECRET_KEY": "x" * 64,
        "LCA_PUBLIC_URL": "https://lca.example.org",
        "LCA_DATABASE_URL": f"sqlite:///{tmp_path / 'lca.sqlite3'}",
        "LCA_DATA_DIR": str(tmp_path / "data"),
    }
    script = (
        "import json, sys, wsgi; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('lca'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert "lca.web.permissions" in loaded and "lca.certificates.services" in loaded
    operations = [m for m in loaded if m.startswith("lca.ops") or re.search("demo|synth", m)]
    assert operations == []


@pytest.mark.parametrize("command", ["seed", "demo", "synth", "backup", "restore", "keys"])
def test_the_operators_commands_are_still_listed(app, command):
    result = app.test_cli_runner().invoke(args=["lca", "--help"])
    assert result.exit_code == 0 and command in result.output


def test_the_buddhist_era_has_one_home():
    """No ``+ 543`` (or its name) outside lca/core/dates.py."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if path != PACKAGE / "core" / "dates.py"
        and re.search(r"\b543\b|BUDDHIST_ERA_OFFSET", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
