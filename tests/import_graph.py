"""Import graph of the ``specfit`` package: ``python tests/import_graph.py`` prints it and any cycle.

Every ``import``/``from ... import`` of a specfit module counts, at module
level or inside a function (a deferred import still ties the modules
together).  Importing ``a.b.c`` also runs ``a.b``'s ``__init__``, so an edge
to a submodule implies an edge to each enclosing package.  Reported:
cycles (strongly connected components with more than one module) and
private names (``_x``) imported from another module.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "specfit"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(current: str, is_package: bool, level: int, target: str | None) -> str:
    base = current.split(".") if is_package else current.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Edges module -> imported specfit modules, and private imports (module, source, name)."""
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[tuple[str, str, str]] = []
    for mod, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets: list[tuple[str, list[str]]] = []
            if isinstance(node, ast.Import):
                targets = [(a.name, []) for a in node.names if a.name.startswith("specfit")]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = _resolve(mod, is_package, node.level, node.module)
                elif node.module and node.module.startswith("specfit"):
                    base = node.module
                else:
                    continue
                names = [a.name for a in node.names]
                subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in modules]
                targets = [(base, [n for n in names if f"{base}.{n}" not in modules])] + [(s, []) for s in subs]
            for target, names in targets:
                if target not in modules:
                    continue
                for name in names:
                    if name.startswith("_") and not name.startswith("__"):
                        private.append((mod, target, name))
                parts = target.split(".")
                for i in range(1, len(parts) + 1):
                    dep = ".".join(parts[:i])
                    if dep in modules and dep != mod and not mod.startswith(dep + "."):
                        edges[mod].add(dep)
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


if __name__ == "__main__":
    edges, private = graph()
    for mod in sorted(edges):
        print(f"{mod} -> {', '.join(sorted(edges[mod])) or '-'}")
    found = cycles(edges)
    print(f"\ncycles: {found or 'none'}")
    print(f"private names imported across modules: {private or 'none'}")
    sys.exit(1 if found or private else 0)
