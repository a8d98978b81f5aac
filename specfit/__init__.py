"""specfit: spectra in, quantified chemistry out (Raman ion pairs, XPS depth profiles, 7Li NMR).

The public API is what this module exports; everything else is private.
"""

from __future__ import annotations

from . import accessor as _accessor  # noqa: F401  (registers DataArray.specfit)
from ._version import __version__
from .backgrounds import background
from .compare import compare
from .errors import DataError, FileFormatError, FitError, LibraryError, SpecfitError
from .fitting import fit
from .io import read
from .library import Library, list_libraries, load_library
from .results import open_results, save

_LAZY = {"xps": ("xps", None), "raman": ("raman", None),
         "nmr": ("nmr", None), "plotting": ("plotting", None), "examples": ("examples", None),
         "plot": ("figures", "plot"), "report": ("report", None), "curves": ("rebuild", "curves")}


def __getattr__(name: str):
    """Workflow modules load on first use, keeping ``import specfit`` light."""
    import importlib

    if name in _LAZY:
        module_name, attr = _LAZY[name]
        module = importlib.import_module(f"{__name__}.{module_name}")
        value = getattr(module, attr) if attr else module
        globals()[name] = value
        return value
    raise AttributeError(f"module 'specfit' has no attribute {name!r}")


__all__ = [
    "compare",
    "DataError", "FileFormatError", "FitError", "Library", "LibraryError", "SpecfitError", "__version__",
    "background", "curves", "fit", "list_libraries", "load_library", "open_results", "plot", "read", "save",
]
