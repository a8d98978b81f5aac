"""⁷Li NMR shift tracking: one resonance per sample located to sub-point precision, and re-referencing.

A liquid-state ⁷Li line can be a few points wide on a ±10 ppm grid, so a
local optimiser started from the library's nominal center would not find it.
:func:`track_shifts` first locates each line (largest peak above a straight
line through the spectrum ends), measures its half-maximum width, and fits a
window of about ±10 FWHM around it with start values and bounds derived from
the data; lines only 1-3 points wide are flagged rather than silently trusted.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from specfit.errors import OptionError
from specfit.fitting.api import fit
from specfit.library.loader import Library, load_library
from specfit.results.kinds import stamp

#: Referencing convention of the shipped ``nmr/li7`` library (Harris et al., Pure Appl. Chem. 73, 1795 (2001)).
DEFAULT_REFERENCE_COMPOUND = "1 M LiCl in D2O"
#: Attribute names copied from the input when present (spectrometer frequency / spectral reference, Bruker style).
REFERENCING_ATTRS = ("SF", "SR", "BF1", "SFO1", "O1", "spectrometer_frequency", "nucleus", "reference_compound",
                     "reference_shift_ppm")
NARROW_POINTS = 3.0  # a line narrower than this many grid points is under-sampled
#: A line narrower than this many grid points is not resolved by the grid: its FWHM is reported as an upper
#: bound (this many points), its area is the data's integral and its center uncertainty is floored by the
#: sampling (:data:`CENTER_FLOOR` x the spacing).
UNDERSAMPLED_POINTS = 2.0
#: Center floor of an under-sampled line, in grid spacings: 1/sqrt(12), the standard deviation of a position
#: uniform within one grid cell (factor 1: one or two points carry the line, so where it sits inside the cell
#: is set by the lineshape model, not by the data; measured on bin-averaged synthetic lines of 0.3-1.5 points,
#: the fitted centers erred by < 0.01 spacing, so the floor is conservative).
CENTER_FLOOR = 1.0 / np.sqrt(12.0)


def _locate(x: NDArray, y: NDArray) -> tuple[float, float]:
    """Center and half-maximum FWHM (axis units) of the largest peak above the end-to-end line of ``y``.

    ``x`` ascending.  The width is interpolated linearly at half height on
    both flanks and never reported below one point spacing.
    """
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    line = y[0] + (y[-1] - y[0]) * (x - x[0]) / (x[-1] - x[0])
    z = y - line
    k = int(np.argmax(z))
    half = z[k] / 2.0
    dx = float(np.median(np.diff(x)))
    left = k
    while left > 0 and z[left] > half:
        left -= 1
    right = k
    while right < z.size - 1 and z[right] > half:
        right += 1

    def cross(i: int, j: int) -> float:  # linear interpolation of the half-height crossing between i and j
        if z[i] == z[j]:
            return float(x[i])
        return float(x[i] + (half - z[i]) * (x[j] - x[i]) / (z[j] - z[i]))

    lo = cross(left, left + 1) if left < k else float(x[k]) - dx / 2
    hi = cross(right - 1, right) if right > k else float(x[k]) + dx / 2
    # parabolic refinement of the maximum: a better start than the grid point for narrow lines
    c = float(x[k])
    if 0 < k < z.size - 1:
        denom = z[k - 1] - 2 * z[k] + z[k + 1]
        if denom < 0:
            c += 0.5 * dx * (z[k - 1] - z[k + 1]) / denom
    return c, max(hi - lo, dx)


def _local_library(lib: Library, center: float, fwhm: float, dx: float, half_window: float) -> Library:
    """The library's single component re-centred on the located line, with bounds from the data."""
    comp = lib.components[0]
    width_lo = min(comp.fwhm_range[0], 0.5 * dx)  # below half a point spacing a width is meaningless
    width_hi = max(comp.fwhm_range[1], 4.0 * fwhm)
    span = max(2.0 * fwhm, 3.0 * dx)  # the optimum cannot be further than this from the located maximum
    comp = replace(comp, center=center, center_range=(center - span, center + span),
                   fwhm=float(np.clip(fwhm, width_lo, width_hi)), fwhm_range=(width_lo, width_hi))
    return replace(lib, components=(comp,), window=(center - half_window, center + half_window))


def _refit_shape_at_bound(spectrum: xr.DataArray, local: Library, res: xr.Dataset, background: str,
                          engine: str) -> xr.Dataset:
    """Refit with the shape fixed when it ends at a bound of its range (e.g. a pure Lorentzian).

    At the bound the shape direction of the covariance is degenerate: the
    centre error came out 20-50x too small in tests, and the optimiser can
    stall there.  Fixing the shape at that bound (its value is then a choice,
    not an estimate) gives a regular covariance for the centre and width.
    """
    comp = local.components[0]
    lo, hi = comp.shape_range
    shape = float(res["shape"].squeeze())
    if not np.isfinite(shape) or hi <= lo:
        return res
    tol = 1e-3 * (hi - lo)
    bound = lo if shape - lo < tol else hi if hi - shape < tol else None
    if bound is None:
        return res
    center, fwhm = float(res["center"].squeeze()), float(res["fwhm"].squeeze())
    if not (np.isfinite(center) and np.isfinite(fwhm)):
        return res
    # the core's Voigt gradients are wrong exactly at shape = 1 (pure Lorentzian limit): use the Lorentzian itself
    lineshape = "lorentzian" if comp.lineshape == "voigt" and bound == 1.0 else comp.lineshape
    fixed = replace(comp, lineshape=lineshape, shape=bound, shape_range=(bound, bound),
                    center=float(np.clip(center, *comp.center_range)), fwhm=float(np.clip(fwhm, *comp.fwhm_range)))
    again = fit(spectrum, replace(local, components=(fixed,)), background=background, engine=engine)
    if bool(again["success"].all()) and float(again["chisqr"].sum()) <= float(res["chisqr"].sum()) * (1 + 1e-6):
        again.attrs["shape_fixed_at_bound"] = bound
        return again
    return res


def _undersampled(res: xr.Dataset, dx: float, axis: str) -> xr.Dataset:
    """A line narrower than :data:`UNDERSAMPLED_POINTS` grid points: FWHM an upper bound, area the integral.

    The area becomes the integral of the data minus the fitted background over the fitting window
    (its stderr from the residual scatter of the points integrated), the FWHM the upper bound
    ``UNDERSAMPLED_POINTS x dx`` (``fwhm_upper_bound`` True, stderr NaN), the center stderr at least
    ``CENTER_FLOOR x dx``.  ``insignificant`` then follows the integral, and an ``at_bound`` that is
    only the width on its lower limit is dropped (that limit is the under-sampling, now said as a note).
    """
    fwhm = float(res["fwhm"].squeeze())
    res["fwhm_upper_bound"] = xr.zeros_like(res["success"], dtype=bool)
    if not (np.isfinite(fwhm) and fwhm < UNDERSAMPLED_POINTS * dx) or "background" not in res:
        return res
    res = res.copy()
    ok = np.isfinite(res["data"].values) & np.isfinite(res["background"].values)
    x = np.asarray(res[axis].values, float)
    net = (res["data"] - res["background"]).values
    order = np.argsort(x[ok.ravel()]) if net.ndim == 1 else None
    xs, ys = (x[ok][order], net[ok][order]) if order is not None else (x, net)
    integral = float(np.trapezoid(ys, xs))
    resid = np.asarray(res["residual"].values, float) if "residual" in res else np.array([np.nan])
    sigma = float(np.sqrt(np.nanmean(resid**2)))
    integral_err = sigma * dx * np.sqrt(np.count_nonzero(ok))
    old_area = float(res["area"].squeeze())
    res["area"] = res["area"] * 0 + integral
    res["area_stderr"] = res["area_stderr"] * 0 + integral_err
    res["fwhm"] = res["fwhm"] * 0 + UNDERSAMPLED_POINTS * dx
    res["fwhm_stderr"] = res["fwhm_stderr"] * np.nan
    res["fwhm_upper_bound"] = xr.ones_like(res["success"], dtype=bool)
    res["center_stderr"] = np.fmax(res["center_stderr"].fillna(0.0), CENTER_FLOOR * dx)
    flags = [f for f in str(res["flags"].item()).split(",") if f]
    words = [w for w in str(res["fit_message"].item()).split("; ") if w]
    if "insignificant" in flags and integral >= 2.0 * integral_err:
        flags.remove("insignificant")
        words = [w for w in words if "below" not in w or "standard errors" not in w]
    width_words = [w for w in words if "FWHM at its lower limit" in w]
    if "at_bound" in flags and width_words and all("FWHM" in w for w in words if "limit" in w and "shape" not in w):
        flags.remove("at_bound")
        words = [w for w in words if w not in width_words]
    res["flags"] = res["flags"].copy(data=np.array(",".join(flags), dtype=str).reshape(res["flags"].shape))
    res["fit_message"] = res["fit_message"].copy(
        data=np.array("; ".join(words), dtype=str).reshape(res["fit_message"].shape))
    text = (f"under-sampled line: fitted FWHM {fwhm:.3g} ppm = {fwhm / dx:.2f} grid points (< "
            f"{UNDERSAMPLED_POINTS:g}); FWHM reported as the upper bound {UNDERSAMPLED_POINTS * dx:.3g} ppm, area = "
            f"integral of the data {integral:.4g} ± {integral_err:.2g} (line model {old_area:.4g}), center "
            f"stderr at least {CENTER_FLOOR * dx:.2g} ppm (spacing/sqrt(12))")
    if "notes" in res:
        note = str(res["notes"].item())
        res["notes"] = res["notes"].copy(data=np.array(",".join(c for c in (note, "undersampled_line") if c),
                                                       dtype=str).reshape(res["notes"].shape))
        words0 = str(res["note_message"].item())
        res["note_message"] = res["note_message"].copy(
            data=np.array(f"{words0}; {text}" if words0 else text, dtype=str).reshape(res["note_message"].shape))
    return res


def _stack(da: xr.DataArray) -> tuple[xr.DataArray, tuple[str, ...]]:
    dims = tuple(da.dims[:-1])
    if not dims:
        return da.expand_dims(_spectrum=[0]), dims
    if len(dims) == 1:
        return da, dims
    return da.stack(_spectrum=dims).transpose("_spectrum", da.dims[-1]), dims


def _reference_index(da: xr.DataArray, reference: object) -> int:
    """Index of the reference spectrum along the (single, stacked) batch dim: a label or an integer."""
    dim = da.dims[0]
    if reference is None:
        return 0
    labels = list(da[dim].values) if dim in da.coords else []
    if reference in labels:
        return labels.index(reference)
    if isinstance(reference, (int, np.integer)) and -da.sizes[dim] <= reference < da.sizes[dim]:
        return int(reference) % da.sizes[dim]
    raise OptionError(f"reference {reference!r} is neither a {dim!r} label ({labels}) nor an index")


def track_shifts(da: xr.DataArray, library: object = "nmr/li7", *, reference: object = None,
                 half_window_fwhm: float = 10.0, min_half_window_points: int = 15, background: str | None = None,
                 engine: str = "batch", reference_compound: str = DEFAULT_REFERENCE_COMPOUND) -> xr.Dataset:
    """Center of the ⁷Li resonance of every sample and its shift relative to a reference sample.

    Parameters
    ----------
    da : xarray.DataArray
        Spectra; the last dimension is the chemical shift (ppm, either order),
        other dimensions (e.g. ``sample``) are samples.
    library : str, path or Library
        A one-component library (default ``"nmr/li7"``); its lineshape, shape
        and background are used, its center and window are replaced per
        sample by the located line.
    reference : label or int, optional
        Reference sample: a coordinate value of the batch dimension or an
        index (default: the first sample).
    half_window_fwhm : float
        Half-width of the fitting window in units of the located FWHM.
    min_half_window_points : int
        Lower limit of the half-window in grid points (keeps enough baseline
        around 1-3-point-wide lines).
    background : str, optional
        Background model (default: the library's, linear for ``nmr/li7``).
    engine : {"batch", "lmfit"}
        Fitting engine.
    reference_compound : str
        Stored in ``attrs`` (the 0 ppm convention of the axis).

    Returns
    -------
    xarray.Dataset
        Over the batch dims: ``center``, ``center_stderr``, ``fwhm``,
        ``fwhm_stderr``, ``height``, ``area`` (+ stderr), ``shift_delta`` and
        ``shift_delta_stderr`` (ppm, center minus the reference's center;
        errors added in quadrature, 0 for the reference itself),
        ``narrow_line`` (FWHM below 3 grid points), ``points_per_fwhm``,
        ``success``, ``redchi``; ``data``/``best_fit`` on the full axis
        (``best_fit`` NaN outside each sample's window); referencing metadata
        in ``attrs``.
    """
    lib = load_library(library)
    if len(lib.components) != 1:
        raise OptionError(f"{lib.name}: track_shifts needs a one-component library, got {lib.component_names}")
    flat, batch_dims = _stack(da)
    axis = flat.dims[-1]
    x_all = np.asarray(flat[axis].values, float)
    order = np.argsort(x_all)
    dx = float(np.median(np.abs(np.diff(x_all))))
    ref = _reference_index(flat, reference)
    rows, curves = [], []
    for i in range(flat.sizes[flat.dims[0]]):
        one = flat.isel({flat.dims[0]: i})
        c0, w0 = _locate(x_all[order], np.asarray(one.values, float)[order])
        half = max(half_window_fwhm * w0, min_half_window_points * dx)
        local = _local_library(lib, c0, w0, dx, half)
        spectrum = one.drop_vars([d for d in one.coords if d != axis])
        res = fit(spectrum, local, background=background or lib.background, engine=engine)
        res = _refit_shape_at_bound(spectrum, local, res, background or lib.background, engine)
        res = _undersampled(res, dx, axis)
        # each sample has its own local model (window, free or fixed shape): its parameter vector is not
        # comparable across samples, so the shift table keeps the physical quantities only
        drop = [axis, "parameters", "parameter"] + [v for v in res.data_vars if axis in res[v].dims]
        rows.append(res.squeeze("component", drop=True).drop_vars(drop, errors="ignore"))
        curves.append(res["best_fit"].reindex({axis: flat[axis].values}))
    out = xr.concat(rows, dim=flat.dims[0], coords="minimal", compat="override", combine_attrs="drop_conflicts")
    out = out.assign_coords({flat.dims[0]: flat[flat.dims[0]]})
    out["data"] = flat
    out["best_fit"] = xr.concat(curves, dim=flat.dims[0]).assign_coords({flat.dims[0]: flat[flat.dims[0]]})
    out = _add_deltas(out, ref, dx)
    if batch_dims and len(batch_dims) > 1:
        out = out.unstack("_spectrum")
    elif not batch_dims:
        out = out.isel(_spectrum=0, drop=True)
    out.attrs.update(_referencing_attrs(da, lib, reference_compound, ref, flat, dx, half_window_fwhm))
    stamp(out, "nmr_shifts")
    if bool(out["narrow_line"].any()):
        warnings.warn(f"{int(out['narrow_line'].sum())} line(s) narrower than {NARROW_POINTS:g} grid points "
                      f"(spacing {dx:.4g} ppm): centers are interpolated, widths only indicative", stacklevel=2)
        out.attrs["warning"] = f"line(s) narrower than {NARROW_POINTS:g} grid points; width only indicative"
    return out


def _add_deltas(out: xr.Dataset, ref: int, dx: float) -> xr.Dataset:
    dim = out["center"].dims[0]
    center = out["center"]
    err = out["center_stderr"]
    ref_c, ref_e = center.isel({dim: ref}), err.isel({dim: ref})
    delta = center - ref_c
    delta_err = np.sqrt(err**2 + ref_e**2)
    delta_err[{dim: ref}] = 0.0  # the reference minus itself is exactly zero
    out["shift_delta"] = delta.assign_attrs(units="ppm", description="center minus the reference sample's center")
    out["shift_delta_stderr"] = delta_err.assign_attrs(units="ppm", description="errors of both centers in quadrature")
    out["points_per_fwhm"] = (out["fwhm"] / dx).assign_attrs(units="1")
    out["narrow_line"] = (out["points_per_fwhm"] < NARROW_POINTS).assign_attrs(
        description=f"fitted FWHM below {NARROW_POINTS:g} grid points: under-sampled line")
    out["center"].attrs["units"] = "ppm"
    return out


def _referencing_attrs(da: xr.DataArray, lib: Library, compound: str, ref: int, flat: xr.DataArray, dx: float,
                       half_window: float) -> dict:
    attrs = {k: da.attrs[k] for k in REFERENCING_ATTRS if k in da.attrs}
    attrs.setdefault("reference_compound", compound)
    attrs.setdefault("reference_shift_ppm", 0.0)
    attrs.setdefault("reference_offset_ppm", float(da.attrs.get("reference_offset_ppm", 0.0)))
    dim = flat.dims[0]
    label = flat[dim].values[ref] if dim in flat.coords else ref
    attrs.update(workflow="nmr.track_shifts", library=lib.name, library_hash=lib.content_hash,
                 reference_sample=str(label), grid_spacing_ppm=dx, half_window_fwhm=half_window,
                 nucleus=str(da.attrs.get("nucleus", "7Li")))
    for key in ("SF", "SR"):  # keep what is unknown explicit rather than absent
        attrs.setdefault(key, "unknown")
    attrs["referencing"] = json.dumps({k: attrs[k] for k in ("reference_compound", "reference_shift_ppm",
                                                              "reference_offset_ppm", "SF", "SR")}, default=str)
    return attrs


def rereference(obj: xr.DataArray | xr.Dataset, offset_ppm: float | None = None, *,
                reference: tuple[object, float] | None = None, reference_compound: str | None = None):
    """Shift the ppm scale of spectra or of a :func:`track_shifts` result by one offset.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        Spectra (last dim = chemical shift, ppm) or a result of :func:`track_shifts`.
    offset_ppm : float, optional
        Added to every shift (axis coordinate and ``center``).
    reference : (sample, ppm), optional
        Instead of an offset: the sample (label or index) whose line should
        read ``ppm`` after re-referencing (e.g. ``("LiCl", 0.0)``). For raw
        spectra the line is located by :func:`track_shifts`.
    reference_compound : str, optional
        New reference compound recorded in ``attrs``.

    Returns
    -------
    Same type as ``obj``
        A copy with the shifted scale; ``attrs["reference_offset_ppm"]``
        accumulates the applied offsets. ``shift_delta`` is unchanged
        (differences do not depend on the reference).
    """
    if (offset_ppm is None) == (reference is None):
        raise OptionError("give exactly one of offset_ppm or reference=(sample, ppm)")
    if reference is not None:
        sample, target = reference
        result = obj if isinstance(obj, xr.Dataset) and "center" in obj else track_shifts(obj, reference=sample)
        dim = result["center"].dims[0]
        idx = _reference_index(result["center"], sample)
        offset_ppm = float(target) - float(result["center"].isel({dim: idx}))
    offset = float(offset_ppm)
    out = obj.copy()
    axis = _ppm_axis(out)
    if axis is not None:
        out = out.assign_coords({axis: out[axis] + offset})
        out[axis].attrs.update(obj[axis].attrs)
    if isinstance(out, xr.Dataset) and "center" in out:
        out["center"] = out["center"] + offset
        out["center"].attrs.update(obj["center"].attrs)
    out.attrs["reference_offset_ppm"] = float(obj.attrs.get("reference_offset_ppm", 0.0)) + offset
    if reference_compound is not None:
        out.attrs["reference_compound"] = reference_compound
    return out


def _ppm_axis(obj: xr.DataArray | xr.Dataset) -> str | None:
    if isinstance(obj, xr.DataArray):
        return obj.dims[-1]
    for name in ("chemical_shift", "ppm"):
        if name in obj.dims:
            return name
    if "data" in obj:
        return obj["data"].dims[-1]
    return None


__all__ = ["rereference", "track_shifts"]
