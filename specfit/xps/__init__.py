"""XPS workflow: charge referencing, per-region fits, quantification (a workflow on top of the core).

``fit_depth_profile(regions, libraries)`` fits every core level of an etching
series and returns an ``xarray.DataTree``: one child per region with the
result schema of ``specfit.fit`` and, at the root, atomic % per element and
species % within each element along the batch (etch-time) dimension.  One
charge shift per step by consensus of every region's reference lines
(:mod:`specfit.xps.consensus`); core levels without a library integrated
(:func:`specfit.xps.quant.integrate_region`); cross-region checks
(:mod:`specfit.xps.crossregion`).  See ``docs/xps_profiles.md``.

Importing this package registers with the core what the core must not import:
``fit(data, "casa")`` (the CasaXPS model stored in a VAMAS block comment,
:func:`specfit.xps.casa_model.library_from_casa`) and the CasaXPS calibration a
VAMAS file may carry (:func:`specfit.xps.charge.apply_casa_calibration`).
Figures of a profile are in :mod:`specfit.plotting.xps`.
"""

from __future__ import annotations

import xarray as xr

from specfit.fitting import register_calibration
from specfit.library import register_library_source
from specfit.xps.background_spread import compare_backgrounds
from specfit.xps.casa_model import library_from_casa
from specfit.xps.charge import (
    ChargeReference,
    apply_casa_calibration,
    apply_shift,
    casa_calibration,
    measure_shift,
    parse_reference,
    parse_references,
)
from specfit.xps.consensus import consensus_shifts
from specfit.xps.crossregion import cross_region_checks
from specfit.xps.naming import element_of, normalise_region, region_library
from specfit.xps.profile import fit_depth_profile, stack_steps
from specfit.xps.quant import DEFAULT_RSF, integrate_region, quantify


def stored_calibration(data: xr.DataArray) -> tuple[xr.DataArray, object, str]:
    """The CasaXPS calibration stored in ``data``'s VAMAS comment, applied: ``(data, shift, comment text)``."""
    if "casaxps_comment" not in data.attrs:
        return data, 0.0, ""
    shifted, shift = apply_casa_calibration(data)
    return shifted, shift, shifted.attrs.get("casaxps_calibration", "")


register_library_source("casa", library_from_casa, "reads the CasaXPS model stored in a VAMAS file")
register_calibration("xps", stored_calibration)

__all__ = ["DEFAULT_RSF", "ChargeReference", "apply_casa_calibration", "apply_shift", "casa_calibration",
           "compare_backgrounds", "consensus_shifts", "cross_region_checks", "element_of", "fit_depth_profile",
           "integrate_region", "library_from_casa", "measure_shift", "normalise_region", "parse_reference",
           "parse_references", "quantify", "region_library", "stack_steps", "stored_calibration"]
