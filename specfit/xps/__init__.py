"""XPS depth-profile workflow: charge referencing, per-region fits, quantification, figures.

``fit_depth_profile(regions)`` fits every core level of an etching series and
returns an ``xarray.DataTree``: one child per region with the result schema of
``specfit.fit`` and, at the root, atomic % per element and species % within
each element along the batch (etch-time) dimension.

Names are loaded on first use (PEP 562), so that ``specfit.fit`` can import
:mod:`specfit.xps.charge` (CasaXPS calibrations) without importing the
workflow, which itself imports ``specfit.fitting``.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "ChargeReference": "charge", "apply_casa_calibration": "charge", "apply_shift": "charge",
    "casa_calibration": "charge", "measure_shift": "charge", "parse_reference": "charge",
    "parse_references": "charge", "element_of": "naming", "normalise_region": "naming", "region_library": "naming",
    "plot_depth_profile": "plots", "plot_region_fit": "plots", "fit_depth_profile": "profile",
    "stack_steps": "profile", "DEFAULT_RSF": "quant", "quantify": "quant",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
