"""No import circles between the package's modules (type-only imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bridge"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules of the package that ``path`` imports (``from x import y`` counts ``x.y`` when it
    is a module, else ``x``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known
                     else node.module for a in node.names]
        else:
            continue
        out.update(n for n in names if n in known)
    return out


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    known = set(files)
    graph = {}
    for name, path in files.items():
        # a package's __init__ re-exporting its submodules is not an edge back into them
        graph[name] = {m for m in _imports(path, known) if m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_no_import_circles() -> None:
    graph = _graph()
    # a package __init__ that imports from its own submodules is the package's face, and a
    # submodule importing its package's name is the same module: drop those edges
    for name in graph:
        graph[name] = {m for m in graph[name] if not (m.startswith(name + ".") or name.startswith(m + "."))}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_globals_do_not_know_the_assembled_runtime() -> None:
    graph = _graph()
    for name, deps in graph.items():
        if name.startswith("bridge.globals"):
            assert "bridge.runtime.runtime" not in deps, name
            assert not any(d.startswith("bridge.worker") for d in deps), name


def test_the_engine_imports_no_bridge_side_module() -> None:
    forbidden = ("bridge.worker", "bridge.runtime", "bridge.globals", "bridge.cli", "bridge.client")
    arrows = [(name, dep) for name, deps in _graph().items() if name.startswith("bridge.engine")
              for dep in deps if dep.startswith(forbidden) or dep == "bridge"]
    assert arrows == []


def test_the_cli_uses_only_public_faces() -> None:
    faces = ("bridge.client", "bridge.engine", "bridge.errors", "bridge.globals", "bridge.testing",
             "bridge.wire", "bridge.worker", "bridge.runtime.runtime", "bridge._version")
    def in_cli(module: str) -> bool:  # bridge.cli and its modules, not bridge.client
        return module == "bridge.cli" or module.startswith("bridge.cli.")

    arrows = [(name, dep) for name, deps in _graph().items() if in_cli(name)
              for dep in deps if not in_cli(dep) and dep not in faces]
    assert arrows == []
