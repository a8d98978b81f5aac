"""Charge referencing: one binding-energy shift per etch step, applied to every region of that step.

The shift of step ``i`` is ``E_ref - E_fit[i]`` where ``E_fit`` is the fitted
center of the reference component (default C 1s ``C-C`` at 284.8 eV; on Li
metal adventitious carbon is unreliable, so e.g. ``LiF@F1s=685.0`` is used).
Corrected energies are ``E + shift``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import SpecfitError
from .naming import normalise_region

_REFERENCE = re.compile(r"^\s*(?P<component>[^@=]+?)\s*@\s*(?P<region>[^=]+?)\s*=\s*(?P<energy>[-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class ChargeReference:
    """Reference line: ``component`` of ``region`` belongs at ``energy`` (eV)."""

    component: str = "C-C"
    region: str = "C1s"
    energy: float = 284.8  # eV, adventitious carbon C 1s (Moulder et al. 1992)

    def __str__(self) -> str:
        return f"{self.component}@{self.region}={self.energy:g}"


def parse_reference(text: str | ChargeReference | None) -> ChargeReference | None:
    """``"LiF@F1s=685.0"`` -> ``ChargeReference("LiF", "F1s", 685.0)``; None passes through.

    Raises
    ------
    SpecfitError
        If ``text`` is not ``COMPONENT@REGION=ENERGY``.
    """
    if text is None or isinstance(text, ChargeReference):
        return text
    match = _REFERENCE.match(str(text))
    if not match:
        raise SpecfitError(f"charge reference {text!r}: expected COMPONENT@REGION=ENERGY, e.g. C-C@C1s=284.8")
    try:
        energy = float(match["energy"])
    except ValueError:
        raise SpecfitError(f"charge reference {text!r}: energy {match['energy']!r} is not a number") from None
    return ChargeReference(match["component"], normalise_region(match["region"]), energy)


def shifts_from_fit(result: xr.Dataset, reference: ChargeReference) -> xr.DataArray:
    """Per-step shift (eV) from a fit of the reference region; NaN where that fit failed.

    Parameters
    ----------
    result : xarray.Dataset
        ``specfit.fit`` result of the (uncorrected) reference region.
    reference : ChargeReference
        Which component, and where it belongs.

    Returns
    -------
    xarray.DataArray
        ``reference.energy - center``, dims = batch dims of ``result``.
    """
    names = [str(c) for c in result["component"].values]
    if reference.component not in names:
        raise SpecfitError(f"charge reference {reference}: region {reference.region} has no component "
                           f"{reference.component!r} (components: {', '.join(names)})")
    center = result["center"].sel(component=reference.component, drop=True)
    ok = result["success"] & np.isfinite(center)
    shift = (reference.energy - center).where(ok)
    shift.attrs = {"units": "eV", "long_name": "charge shift", "reference": str(reference)}
    return shift.drop_vars([c for c in shift.coords if c not in shift.dims and c not in result["success"].coords])


def apply_shift(data: xr.DataArray, shift: xr.DataArray | float) -> xr.DataArray:
    """Shift every spectrum of ``data`` by its step's ``shift`` (eV) on one common axis.

    The common part (median shift) moves the axis itself, exactly; only the
    step-to-step differences, usually a fraction of the energy step, are
    resampled by linear interpolation.  Points shifted in from outside the
    measured range are NaN (the fit gives them zero weight).

    Parameters
    ----------
    data : xarray.DataArray
        Spectra, last dimension the binding-energy axis (either order).
    shift : xarray.DataArray or float
        Shift per step (dims = batch dims of ``data``), or one shift for all.

    Returns
    -------
    xarray.DataArray
        Same dims and batch coordinates, axis = original axis + median shift.
    """
    axis = data.dims[-1]
    shift = xr.DataArray(shift) if not isinstance(shift, xr.DataArray) else shift
    shift = shift.fillna(0.0)
    common = float(np.median(shift.values)) if shift.size else 0.0
    x = np.asarray(data[axis].values, float)
    out = data.assign_coords({axis: (axis, x + common, data[axis].attrs)})
    residual = (shift - common).broadcast_like(data.isel({axis: 0}, drop=True))
    if np.allclose(residual.values, 0.0):
        return out
    order = np.argsort(x)
    xs = x[order]

    def _resample(y: np.ndarray, delta: float) -> np.ndarray:
        # Spectrum measured at x belongs at x + delta; read it back on the grid x.
        return np.interp(xs, xs + delta, y[order], left=np.nan, right=np.nan)[np.argsort(order)]

    values = xr.apply_ufunc(_resample, data.drop_vars(axis), residual, input_core_dims=[[axis], []],
                            output_core_dims=[[axis]], vectorize=True)
    out = out.copy(data=values.transpose(*data.dims).values)
    return out
