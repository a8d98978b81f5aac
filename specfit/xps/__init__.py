"""XPS depth-profile workflow: charge referencing, per-region fits, quantification, figures.

``fit_depth_profile(regions)`` fits every core level of an etching series and
returns an ``xarray.DataTree``: one child per region with the result schema of
``specfit.fit`` and, at the root, atomic % per element and species % within
each element along the batch (etch-time) dimension.
"""

from __future__ import annotations

from .charge import ChargeReference, apply_shift, parse_reference
from .naming import element_of, normalise_region, region_library
from .plots import plot_depth_profile, plot_region_fit
from .profile import fit_depth_profile
from .quant import DEFAULT_RSF, quantify

__all__ = [
    "DEFAULT_RSF", "ChargeReference", "apply_shift", "element_of", "fit_depth_profile", "normalise_region",
    "parse_reference", "plot_depth_profile", "plot_region_fit", "quantify", "region_library",
]
