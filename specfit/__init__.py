"""specfit: spectra in, quantified chemistry out (Raman ion pairs, XPS depth profiles, 7Li NMR).

The public API is what this module exports; everything else is private.
"""

from __future__ import annotations

from specfit import accessor as _accessor  # noqa: F401  (registers DataArray.specfit)
from specfit import xps  # registers what the core reads from XPS files (the "casa" library, stored calibrations)
from specfit._version import __version__
from specfit.backgrounds import background
from specfit.comparison import compare
from specfit.errors import DataError, FileFormatError, FitError, LibraryError, SpecfitError
from specfit.fitting import fit
from specfit.io import read
from specfit.library import Library, list_libraries, load_library
from specfit.results import curves, open_results, save

_LAZY = {"raman": ("raman", None), "nmr": ("nmr", None), "plotting": ("plotting", None),
         "examples": ("examples", None), "plot": ("plotting", "plot"), "report": ("report", None)}


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
    "background", "curves", "fit", "list_libraries", "load_library", "open_results", "plot", "read", "save", "xps",
]
