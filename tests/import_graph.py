"""Import graph of the ``specfit`` package by layer: ``python tests/import_graph.py`` prints it and any fault.

Every ``import``/``from ... import`` of a specfit module counts, at module
level or inside a function (a deferred import still ties the modules
together).  Importing ``a.b.c`` also runs ``a.b``'s ``__init__``, so an edge
to a submodule implies an edge to each enclosing package.  Reader plugins
loaded by name (``specfit.io._READER_MODULES``) count as imported by
``specfit.io``.  Reported, each a failure (exit 1):

- cycles (strongly connected components with more than one module);
- private names (``_x``) imported from another module;
- upward imports: a module importing a module of a higher layer (:data:`LAYERS`:
  the data flow lineshape -> model -> engine -> result -> fit -> workflow ->
  CLI/plots); in particular the core never imports a workflow, the CLI or plotting;
- orphans: modules nothing imports (other than the package root, the script entry points and ``__main__``).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "specfit"

#: Layers, lowest first: (name, module prefixes).  A module may import its own layer and those below.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("specfit._version", "specfit.errors", "specfit.atomicio")),
    ("lineshapes, backgrounds, readers", ("specfit.lineshapes", "specfit.backgrounds", "specfit.io")),
    ("library", ("specfit.library",)),
    ("model", ("specfit.model",)),
    ("engines", ("specfit.engines",)),
    ("options", ("specfit.options",)),
    ("results", ("specfit.results",)),
    ("fitting", ("specfit.fitting",)),
    ("workflows", ("specfit.xps", "specfit.raman", "specfit.nmr", "specfit.comparison", "specfit.examples")),
    ("CLI, plots", ("specfit.plotting", "specfit.report", "specfit.cli", "specfit.demo", "specfit.accessor")),
    ("package", ("specfit",)),
)
#: Layers below this index are the core.
CORE = 8


def layer_of(module: str) -> int:
    """Index in :data:`LAYERS` of ``module`` (longest matching prefix)."""
    best, found = -1, len(LAYERS)
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), i
    return found


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


def plugin_edges(edges: dict[str, set[str]]) -> None:
    """Reader modules imported by name from ``specfit/io/__init__.py`` become edges ``specfit.io -> reader``."""
    tree = ast.parse((ROOT / "io" / "__init__.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_READER_MODULES" for t in node.targets):
            for elt in node.value.elts:
                name = f"specfit.io.{elt.value}"
                if name in edges:
                    edges["specfit.io"].add(name)


def upward(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports of a higher layer: ``(module, imported)``."""
    return sorted((mod, dep) for mod, deps in edges.items() for dep in deps if layer_of(dep) > layer_of(mod))


def entry_points() -> set[str]:
    """The package root and the modules of ``[project.scripts]`` in pyproject.toml."""
    project = tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {"specfit"} | {target.split(":")[0] for target in project.get("scripts", {}).values()}


def orphans(edges: dict[str, set[str]]) -> list[str]:
    """Modules no other module imports (the package root and script entry points excepted)."""
    imported = {dep for deps in edges.values() for dep in deps}
    return sorted(m for m in edges if m not in entry_points() and m not in imported and not m.endswith(".__main__"))


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


def faults() -> dict[str, list]:
    """Every fault of the graph by kind (empty lists when clean)."""
    edges, private = graph()
    plugin_edges(edges)
    return {"cycles": cycles(edges), "private names imported across modules": private,
            "upward imports": upward(edges), "orphan modules": orphans(edges)}


if __name__ == "__main__":
    edges, _ = graph()
    plugin_edges(edges)
    for i, (name, _) in enumerate(LAYERS):
        mods = sorted(m for m in edges if layer_of(m) == i)
        print(f"== layer {i}: {name}{' (core)' if i < CORE else ''}")
        for mod in mods:
            print(f"  {mod} -> {', '.join(sorted(edges[mod])) or '-'}")
    found = faults()
    print()
    for kind, items in found.items():
        print(f"{kind}: {items or 'none'}")
    sys.exit(1 if any(found.values()) else 0)
