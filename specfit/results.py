"""The result Dataset (SPEC schema), and saving/opening it atomically as NetCDF4."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xarray as xr

from ._version import __version__
from .errors import FileFormatError, SpecfitError
from .fitting import FitOutcome, curves
from .shapetie import shape_links
from .uncertainty import QUANTITIES, component_quantities, covariance_of, propagate


def _reshape(outcome: FitOutcome, array: np.ndarray) -> np.ndarray:
    return array.reshape(outcome.prep.batch_shape + array.shape[1:])


def build_dataset(outcome: FitOutcome) -> xr.Dataset:
    """Assemble the result Dataset of one fit."""
    prep, spec, lib = outcome.prep, outcome.spec, outcome.library
    bdims = prep.batch_dims
    theta = np.nan_to_num(outcome.theta, nan=0.0)
    values, grads = component_quantities(spec, theta)
    bad = ~np.isfinite(outcome.theta).all(axis=1)
    data_vars: dict[str, tuple] = {}
    for q in QUANTITIES:
        value = values[q].copy()
        err = propagate(grads[q], outcome.cov, outcome.free)
        value[bad], err[bad] = np.nan, np.nan
        data_vars[q] = (bdims + ("component",), _reshape(outcome, value))
        data_vars[f"{q}_stderr"] = (bdims + ("component",), _reshape(outcome, err))
    # full covariances, so sums and ratios of components can be propagated downstream
    # (an element's total XPS area, a free/CIP ratio)
    for q in ("area", "fraction"):
        qcov = covariance_of(grads[q], outcome.cov)
        qcov[bad] = np.nan
        data_vars[f"{q}_covariance"] = (bdims + ("component", "component_2"), _reshape(outcome, qcov))
    n_points = np.count_nonzero(prep.weights > 0, axis=1)
    chisqr = outcome.cost
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = n_points - outcome.n_varys
        redchi = np.where(dof > 0, chisqr / dof, np.nan)
        neg2loglik = n_points * np.log(chisqr / n_points)
        aic = neg2loglik + 2 * outcome.n_varys
        bic = neg2loglik + np.log(n_points) * outcome.n_varys
    cur = curves(outcome)
    best = cur["best_fit"]
    best[bad] = np.nan
    data = np.where(prep.weights > 0, prep.y, np.nan)
    resid = data - best
    mean = np.nanmean(data, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        rsquared = 1.0 - np.nansum(resid**2, axis=1) / np.nansum((data - mean) ** 2, axis=1)
    rsquared[bad] = np.nan
    per_spectrum = {"success": outcome.success & ~bad, "redchi": redchi, "rsquared": rsquared, "aic": aic,
                    "bic": bic, "nfev": outcome.nfev, "chisqr": chisqr,
                    "charge_shift": np.zeros(bad.size)}
    for name, arr in per_spectrum.items():
        data_vars[name] = (bdims, _reshape(outcome, np.asarray(arr)))
    data_vars["fit_message"] = (bdims, _reshape(outcome, np.array(prep.messages, dtype=object)).astype(str))
    flip = slice(None, None, -1) if prep.descending else slice(None)
    axis = prep.axis_dim
    for name, arr in (("data", data), ("best_fit", best), ("background", cur["background"]),
                      ("residual", resid)):
        data_vars[name] = (bdims + (axis,), _reshape(outcome, arr[:, flip]))
    data_vars["component_curve"] = (bdims + ("component", axis),
                                    _reshape(outcome, cur["component_curve"][:, :, flip]))
    shape_vals = np.stack([spec_term_shape(spec, theta, k) for k in range(len(spec.components))], axis=1)
    data_vars["shape"] = (bdims + ("component",), _reshape(outcome, shape_vals))
    coords = dict(prep.batch_coords)
    coords[axis] = prep.original[axis].variable if axis in prep.original.coords else (axis, prep.x[flip])
    comps = [lib.component(name) for name in spec.components]
    coords["component"] = ("component", list(spec.components))
    coords["component_2"] = ("component_2", list(spec.components))
    coords["component_label"] = ("component", [c.label for c in comps])
    coords["lineshape"] = ("component", [c.lineshape for c in comps])
    coords["rsf"] = ("component", [c.rsf for c in comps])
    coords["element"] = ("component", [c.element for c in comps])
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update(_attrs(outcome))
    for name, unit in (("center", _unit(lib)), ("fwhm", _unit(lib)), ("area", f"data x {_unit(lib)}"),
                       ("fraction", "1")):
        ds[name].attrs["units"] = unit
    return ds


def spec_term_shape(spec, theta, k: int) -> np.ndarray:
    """Shape parameter of component ``k`` (its main line)."""
    term = next(t for t in spec.terms if t.component == k)
    return term.shape.value(theta)


def _unit(lib) -> str:
    return {"xps": "eV", "raman": "cm-1", "nmr": "ppm"}.get(lib.technique, "")


def _attrs(outcome: FitOutcome) -> dict:
    lib, opts = outcome.library, outcome.options
    comps = [lib.component(name) for name in outcome.spec.components]
    # only when the series was tested: a NaN attribute would not compare equal after a round trip
    tested = {"shape_tie_pvalue": float(opts["shape_tie_pvalue"])} if "shape_tie_pvalue" in opts else {}
    return tested | {
        "specfit_version": __version__,
        "library": lib.name,
        "library_path": lib.path,
        "library_hash": lib.content_hash,
        "technique": lib.technique,
        "background": opts["background"],
        "lineshape": lib.lineshape,
        "lineshapes": json.dumps({c.name: [c.lineshape, c.shape, list(c.shape_range)] for c in comps}),
        "share": opts["share"],
        "shape_tie": opts.get("shape_tie", "none"),
        "shape_tied_to": json.dumps(shape_links(lib)),
        "engine": opts["engine"],
        "uncertainty": "covariance",
        "weights": opts["weights"],
        "window": list(opts["window"]),
        "options": json.dumps(opts, default=str),
        "parameters": json.dumps(list(outcome.spec.names)),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# ------------------------------------------------------------------ persistence
def _atomic_write(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(ds: xr.Dataset | xr.DataTree, path: str | Path, *, protect: tuple[str | Path, ...] = ()) -> Path:
    """Write ``ds`` (a result Dataset or DataTree) to NetCDF4/HDF5 atomically (temp file + rename).

    ``protect`` lists input files that must never be overwritten.
    """
    path = Path(path)
    for p in protect:
        if Path(p).exists() and path.exists() and Path(p).resolve() == path.resolve():
            raise SpecfitError(f"{path}: refusing to overwrite an input file")
    if isinstance(ds, xr.DataTree):
        _atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=True))
    else:
        _atomic_write(path, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=True))
    return path


def open_results(path: str | Path) -> xr.Dataset | xr.DataTree:
    """Open a result file written by :func:`save` (fully loaded, file closed)."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    try:
        tree = xr.open_datatree(path, engine="h5netcdf")
    except Exception as exc:  # h5py/h5netcdf raise many types for corrupt files
        raise FileFormatError(f"{path}: not a readable NetCDF4/HDF5 result file ({type(exc).__name__})") from None
    with tree:
        if tree.children:
            return tree.load().copy()
        return tree.to_dataset().load().copy()
