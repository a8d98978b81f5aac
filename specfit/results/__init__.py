"""What a result is (stage 4): the schema declared once, flags, result files, curves rebuilt on demand.

``schema`` declares every variable of a result; ``flags`` the flag codes and
their words; ``store`` saves and opens result files atomically; ``rebuild``
rebuilds a map's curves from its stored parameters (:func:`curves`).
The Dataset itself is built by :mod:`specfit.fitting.dataset`.
"""

from __future__ import annotations

from specfit.results.rebuild import curves
from specfit.results.schema import VARIABLES, schema_markdown
from specfit.results.store import open_results, save

__all__ = ["VARIABLES", "curves", "open_results", "save", "schema_markdown"]
