"""Raman ion-pair speciation: area fractions of free / CIP / AGG anions across a sample series.

The statistical uncertainty of a fraction (``fraction_stderr``, from the fit
covariance) says nothing about the choice of baseline, which in practice is
often the larger error.  :func:`speciation` therefore refits the series under
several baseline models and reports the spread of every fraction beside its
standard error, keeping the per-baseline fractions as well.  The other
choice that moves fractions of overlapped bands is one common Voigt shape
versus one per band (:mod:`specfit.model.shapetie`): the primary fit is refitted with
the other choice and the difference reported as ``fraction_shape_spread``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import xarray as xr

from specfit.backgrounds.registry import get_background
from specfit.errors import OptionError
from specfit.fitting.api import fit, resolve_library
from specfit.model.shapetie import tie_shapes
from specfit.options import as_names
from specfit.results.kinds import stamp

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


def speciation(da: xr.DataArray, library: object = "raman/fsi_tfsi", *, components: object = None,
               share: object = ("center", "width"), baselines: Sequence[str] | None = DEFAULT_BASELINES,
               spread: str = "range", window: tuple[float, float] | None = None, engine: str = "batch",
               background_options: dict | None = None, max_nfev: int | None = None,
               shape_tie: str | None = None) -> xr.Dataset:
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
    shape_tie : {"none", "all", "auto"}, optional
        One Voigt shape for all bands or one each (default: the library's,
        ``auto`` for the Raman libraries); see :mod:`specfit.model.shapetie`.

    Returns
    -------
    xarray.Dataset
        The SPEC result schema of the primary fit, plus
        ``fraction_covariance`` (series dims, ``component``, ``component_2``),
        ``fraction_by_baseline`` (series dims, ``baseline``, ``component``),
        ``fraction_stderr_by_baseline`` and ``fraction_baseline_spread``
        (series dims, ``component``; fraction units, 0..1); when the bands'
        shapes can be tied, ``fraction_by_shape_model`` (series dims,
        ``shape_model`` = common / per_band, ``component``) and
        ``fraction_shape_spread`` (their absolute difference).
    """
    if spread not in SPREADS:
        raise OptionError(f"spread must be one of {', '.join(SPREADS)}, got {spread!r}")
    share_t = as_names(share)
    lib = resolve_library(library, components)
    names = list(baselines) if baselines else []
    unknown = [b for b in names if b not in BASELINES]
    if unknown:
        raise OptionError(f"unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(BASELINES)}")
    choices = [(b, BASELINES[b]) for b in names] or [(lib.background, {"background": lib.background})]

    def run(opts: dict, tie: str | None, uncertainty: str = "statistical") -> xr.Dataset:
        # the options of the subtracted baselines (ALS lam, ...) do not apply to the in-fit polynomials
        bg_opts = None if get_background(opts["background"]).in_fit else background_options
        return fit(da, lib, share=share_t, window=window, engine=engine, background=opts["background"],
                   degree=opts.get("degree", 2), background_options=bg_opts, max_nfev=max_nfev, shape_tie=tie,
                   uncertainty=uncertainty)

    # the primary fit carries the combined uncertainty over its own alternatives (specfit.fitting.model_spread);
    # the refits with other baselines are the baseline spread (subtracted baselines change the data, so their
    # BIC cannot weigh them against the in-fit ones: their range or std is reported beside it)
    fits = [run(opts, shape_tie, "combined" if i == 0 else "statistical") for i, (_, opts) in enumerate(choices)]
    ds = fits[0]
    if tie_shapes(lib) != lib:
        _add_shape_spread(ds, run(choices[0][1], "none" if json.loads(ds.attrs["shape_tied_to"]) else "all"))
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
    stamp(ds, "raman_speciation")
    ds.attrs.update(workflow="raman.speciation", baselines=labels, baseline_spread=spread,
                    primary_baseline=labels[0])
    return ds


def _add_shape_spread(ds: xr.Dataset, other: xr.Dataset) -> None:
    """Fractions with the other shape model beside the primary's, and their difference."""
    tied = bool(json.loads(ds.attrs["shape_tied_to"]))
    common, per_band = (ds, other) if tied else (other, ds)
    by = xr.concat([common["fraction"].where(common["success"]), per_band["fraction"].where(per_band["success"])],
                   dim=xr.DataArray(["common", "per_band"], dims="shape_model", name="shape_model"))
    order = tuple(d for d in ds["fraction"].dims if d != "component") + ("shape_model", "component")
    ds["fraction_by_shape_model"] = by.transpose(*order)
    ds["fraction_by_shape_model"].attrs.update(units="1", description="fraction with one common Voigt shape for "
                                               "all bands, and with one shape per band")
    ds["fraction_shape_spread"] = abs(by.sel(shape_model="common", drop=True)
                                      - by.sel(shape_model="per_band", drop=True)).transpose(*ds["fraction"].dims)
    ds["fraction_shape_spread"].attrs.update(units="1", definition="|common-shape - per-band-shape fraction| "
                                             "for the primary baseline (NaN where a fit failed)")
    ds.attrs["primary_shape_model"] = "common" if tied else "per_band"


__all__ = ["BASELINES", "DEFAULT_BASELINES", "speciation"]
