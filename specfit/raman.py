"""Raman ion-pair speciation: area fractions of free / CIP / AGG anions across a sample series.

The statistical uncertainty of a fraction (``fraction_stderr``, from the fit
covariance) says nothing about the choice of baseline, which in practice is
often the larger error.  :func:`speciation` therefore refits the series under
several baseline models and reports the spread of every fraction beside its
standard error, keeping the per-baseline fractions as well.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from .fitting import _as_tuple, resolve_library, run_fit
from .prepare import prepare
from .results import build_dataset
from .uncertainty import component_quantities

#: Baseline choices: name -> ``specfit.fit`` options.  In-fit polynomials are
#: refined with the peaks; ALS/arPLS (pybaselines) are subtracted before the fit.
BASELINES: dict[str, dict] = {
    "quadratic": {"background": "polynomial", "degree": 2},
    "linear": {"background": "linear"},
    "cubic": {"background": "polynomial", "degree": 3},
    "als": {"background": "als"},
    "arpls": {"background": "arpls"},
}
DEFAULT_BASELINES = ("quadratic", "linear", "als", "arpls")
SPREADS = ("range", "std")


def _fit_with_covariance(data: xr.DataArray, library: object, *, components: object, share: tuple[str, ...],
                         window: tuple[float, float] | None, engine: str, background: str, degree: int,
                         background_options: dict | None, max_nfev: int | None) -> xr.Dataset:
    """``specfit.fit`` plus the fraction covariance (the result schema keeps only the diagonal).

    The fractions of one spectrum sum to one, so their errors are correlated
    (negatively, for neighbouring overlapped bands); the full covariance
    ``G C G^T`` is what a user needs to propagate, e.g., a free/CIP ratio.
    """
    lib = resolve_library(library, components)
    prep = prepare(data, lib, window=window)
    options = dict(background=background, share=",".join(share), engine=engine, weights="none", degree=degree,
                   window=prep.window, background_options=background_options or {})
    outcome = run_fit(prep, lib, background=background, share=share, engine=engine, degree=degree,
                      background_options=background_options or {}, max_nfev=max_nfev, options=options)
    ds = build_dataset(outcome)
    theta = np.nan_to_num(outcome.theta, nan=0.0)
    _, grads = component_quantities(outcome.spec, theta)
    g = grads["fraction"]
    # same covariance as the core's propagation (bound parameters included); singular -> NaN
    cov = outcome.cov
    fcov = np.einsum("ncp,npq,ndq->ncd", g, cov, g)
    fcov[~np.isfinite(outcome.theta).all(axis=1)] = np.nan
    dims = tuple(ds["success"].dims)
    fcov = fcov.reshape(tuple(ds["success"].shape) + fcov.shape[1:])
    comps = ds["component"].values
    ds["fraction_covariance"] = (dims + ("component", "component2"), fcov)
    ds = ds.assign_coords(component2=("component2", comps))
    ds["fraction_covariance"].attrs.update(units="1", description="covariance of the fractions of one spectrum "
                                           "(statistical, from the fit covariance; rows sum to ~0)")
    return ds


def speciation(da: xr.DataArray, library: object = "raman/fsi_tfsi", *, components: object = None,
               share: object = ("center", "width"), baselines: Sequence[str] | None = DEFAULT_BASELINES,
               spread: str = "range", window: tuple[float, float] | None = None, engine: str = "batch",
               background_options: dict | None = None, max_nfev: int | None = None) -> xr.Dataset:
    """Area fractions of each ion-pair population of a sample series, with statistical and baseline errors.

    Parameters
    ----------
    da : xarray.DataArray
        Raman spectra; the last dimension is the Raman shift (cm-1), any other
        dimensions (e.g. ``sample``) form the series.
    library : str, path or Library
        Peak library (default ``"raman/fsi_tfsi"``: free, CIP, AGG).
    components : sequence of str, optional
        Restrict the library to these components.
    share : sequence of str or str
        Parameters shared across the series in one global fit (default center
        and width, i.e. FWHM and Voigt shape); ``()`` fits every spectrum alone.
    baselines : sequence of str or None
        Baseline models to refit with, names of :data:`BASELINES`
        (``quadratic``, ``linear``, ``cubic`` in-fit; ``als``, ``arpls``
        subtracted before). The first is the primary fit whose values fill the
        SPEC schema. ``None`` or one entry: the library's background only, no spread.
    spread : {"range", "std"}
        ``fraction_baseline_spread`` = max - min over the baseline choices
        (``range``, default: a conservative full span) or their standard
        deviation (``std``, ``ddof=0``).
    window : (lo, hi), optional
        Fitting window in cm-1; default: the library's.
    engine : {"batch", "lmfit"}
        Fitting engine (a global fit always uses the stacked solver).
    background_options : dict, optional
        Options of the subtracted baselines (e.g. ``{"lam": 1e5}`` for ALS).
    max_nfev : int, optional
        Model evaluations allowed per fit.

    Returns
    -------
    xarray.Dataset
        The SPEC result schema of the primary fit, plus
        ``fraction_covariance`` (series dims, ``component``, ``component2``),
        ``fraction_by_baseline`` (series dims, ``baseline``, ``component``),
        ``fraction_stderr_by_baseline`` and ``fraction_baseline_spread``
        (series dims, ``component``; fraction units, 0..1).
    """
    if spread not in SPREADS:
        raise ValueError(f"spread must be one of {SPREADS}, got {spread!r}")
    share_t = _as_tuple(share)
    lib = resolve_library(library, components)
    names = list(baselines) if baselines else []
    unknown = [b for b in names if b not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; choose from {', '.join(BASELINES)}")
    choices = [(b, BASELINES[b]) for b in names] or [(lib.background, {"background": lib.background})]
    fits = []
    for _, opts in choices:
        fits.append(_fit_with_covariance(da, lib, components=None, share=share_t, window=window, engine=engine,
                                         background=opts["background"], degree=opts.get("degree", 2),
                                         background_options=background_options, max_nfev=max_nfev))
    ds = fits[0]
    labels = [name for name, _ in choices]
    by = xr.concat([f["fraction"] for f in fits], dim=xr.DataArray(labels, dims="baseline", name="baseline"))
    by_err = xr.concat([f["fraction_stderr"] for f in fits], dim="baseline").assign_coords(baseline=labels)
    ok = xr.concat([f["success"] for f in fits], dim="baseline").assign_coords(baseline=labels)
    # a failed refit must not masquerade as a small (or large) spread
    by = by.where(ok)
    order = tuple(d for d in ds["fraction"].dims if d != "component") + ("baseline", "component")
    ds["fraction_by_baseline"] = by.transpose(*order)
    ds["fraction_stderr_by_baseline"] = by_err.transpose(*order)
    if spread == "range":
        sp = by.max("baseline") - by.min("baseline")
    else:
        sp = by.std("baseline", ddof=0)
    ds["fraction_baseline_spread"] = sp.transpose(*ds["fraction"].dims)
    ds["fraction_baseline_spread"].attrs.update(
        units="1", definition=(f"{'max - min' if spread == 'range' else 'standard deviation (ddof=0)'} of the "
                               f"fraction over the baseline choices {', '.join(labels)} (NaN where a refit failed)"))
    ds["fraction_by_baseline"].attrs.update(units="1", description="fraction refitted with each baseline model")
    ds.attrs.update(workflow="raman.speciation", baselines=labels, baseline_spread=spread,
                    primary_baseline=labels[0])
    return ds


__all__ = ["BASELINES", "DEFAULT_BASELINES", "speciation"]
