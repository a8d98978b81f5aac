"""The API reference, generated from the docstrings: ``python tests/api_reference.py > docs/api.md``.

One section per public module (``specfit`` and the packages whose ``__all__``
declares their public names), one entry per name: its signature and the first
paragraph of its docstring.  ``tests/test_docs.py`` fails when ``docs/api.md``
is not what this prints.
"""

from __future__ import annotations

import importlib
import inspect
import re

MODULES = ("specfit", "specfit.lineshapes", "specfit.backgrounds", "specfit.library", "specfit.model",
           "specfit.engines", "specfit.results", "specfit.fitting", "specfit.io", "specfit.xps", "specfit.raman",
           "specfit.nmr", "specfit.plotting", "specfit.cli")


def _summary(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _signature(name: str, obj: object) -> str:
    if inspect.isclass(obj) or inspect.isfunction(obj):
        try:
            return re.sub(r" at 0x[0-9a-f]+", "", f"{name}{inspect.signature(obj)}")
        except (TypeError, ValueError):
            return name
    return name


def reference() -> str:
    """The whole page as Markdown."""
    lines = ["# API reference", "",
             "Generated from the docstrings by `python tests/api_reference.py > docs/api.md`; the tests fail "
             "when this page is out of date. Numpydoc docstrings give shapes, units, what is raised and the "
             "source of every formula: `help(specfit.fit)`.", ""]
    for mod_name in MODULES:
        module = importlib.import_module(mod_name)
        names = sorted(getattr(module, "__all__", ()), key=str.lower)
        lines += [f"## `{mod_name}`", "", _summary(module), ""]
        for name in names:
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                lines.append(f"- `{name}` (module): {_summary(obj)}")
            elif inspect.isclass(obj) or callable(obj):
                lines.append(f"- `{_signature(name, obj)}`: {_summary(obj)}")
            else:
                lines.append(f"- `{name}`: constant")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(reference(), end="")
