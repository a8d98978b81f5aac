"""``specfit.fit``: a library and a batch of spectra in, a result Dataset out."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from .backgrounds import background as fixed_background
from .engine import BatchSolution, covariance, levenberg_marquardt
from .errors import DataError, FitError, LibraryError
from .globalfit import fit_global, shared_mask
from .initial import initial_theta
from .library import BACKGROUNDS, SHAPE_TIES, Library, load_library
from .model import IN_FIT_BACKGROUNDS, ModelSpec, background_curve, compile_model, peak_curves
from .prepare import Prepared, prepare
from .problem import FitProblem
from .shapetie import ALPHA, common_shape_pvalue, shapes_shared_by_series, tie_shapes

ENGINES = ("batch", "lmfit")
UNCERTAINTY_METHODS = ("covariance", "montecarlo", "bootstrap")
PRE_SUBTRACTED = {"shirley_fixed": "shirley", "tougaard": "tougaard", "als": "als", "arpls": "arpls"}


@dataclass
class FitOutcome:
    """Everything the result builder needs, arrays over all N spectra of the batch."""

    spec: ModelSpec
    prep: Prepared
    library: Library
    theta: NDArray  # (N, P)
    cov: NDArray  # (N, P, P)
    free: NDArray  # (N, P)
    cost: NDArray
    nfev: NDArray
    success: NDArray
    n_varys: NDArray
    fixed_bg: NDArray  # (N, M) background subtracted before the fit
    options: dict


def _as_tuple(value: object) -> tuple[str, ...]:
    if value is None or value == "" or value == ():
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in value)


def _parse_lineshape(text: str) -> tuple[str, float | None]:
    """``"voigt"`` -> (voigt, free shape); CasaXPS notation ``"GL(30)"``/``"SGL(10)"`` -> fixed p/100."""
    import re

    match = re.fullmatch(r"\s*(s?gl)\s*\(\s*(\d+(?:\.\d*)?)\s*\)\s*", text, flags=re.IGNORECASE)
    if match:
        percent = float(match.group(2))
        if not 0 <= percent <= 100:
            raise LibraryError(f"lineshape {text!r}: the Lorentzian percentage must lie in 0..100")
        return match.group(1).lower(), percent / 100.0
    return text.strip().lower(), None


def resolve_library(library: object, components: object = None, lineshape: str | None = None) -> Library:
    """Load ``library``, restrict it to ``components`` and optionally override every lineshape.

    An overridden lineshape starts at its default shape parameter, free over
    its whole range (for ``voigt``: Gaussian to Lorentzian).
    """
    lib = load_library(library)
    names = _as_tuple(components)
    lib = lib.subset(names) if names else lib
    if lineshape:
        from .lineshapes import get_lineshape

        name, fixed = _parse_lineshape(lineshape)
        try:
            ls = get_lineshape(name)
        except KeyError as exc:
            raise LibraryError(str(exc.args[0])) from None
        shape = ls.default_shape if fixed is None else fixed
        limits = ls.shape_limits if fixed is None else (fixed, fixed)
        comps = tuple(replace(c, lineshape=name, shape=shape, shape_range=limits) for c in lib.components)
        lineshape = name
        lib = replace(lib, components=comps, lineshape=lineshape)
    return lib


def _subtract_fixed(prep: Prepared, kind: str, options: dict) -> NDArray:
    out = np.zeros_like(prep.y)
    algo = PRE_SUBTRACTED[kind]
    for i in np.nonzero(prep.usable)[0]:
        ok = prep.weights[i] > 0
        try:
            bg = fixed_background(prep.x[ok], prep.y[i, ok], algo, **options)
        except DataError as exc:
            prep.usable[i], prep.messages[i] = False, f"background failed: {exc}"
            continue
        out[i] = np.interp(prep.x, prep.x[ok], bg)
    return out


def fit(data: object, library: object, *, components: object = None, background: str | None = None,
        share: object = None, window: tuple[float, float] | None = None, engine: str = "batch",
        weights: str | None = None, degree: int = 2, background_options: dict | None = None,
        max_nfev: int | None = None, lineshape: str | None = None, uncertainty: str = "covariance",
        n_draws: int = 100, seed: int | None = 0, shape_tie: str | None = None) -> xr.Dataset:
    """Fit every spectrum of ``data`` with the components of ``library``.

    Parameters
    ----------
    data : xarray.DataArray or (x, y)
        Spectra; the last dimension is the spectral axis (eV, cm-1 or ppm),
        any other dimensions are batch dimensions carried to the result.
    library : str, path or Library
        Library name (``"raman/fsi_tfsi"``), a TOML path, or a loaded library.
    components : sequence of str or str, optional
        Restrict the library to these components (``"LiF,C-F"`` works too).
    background : str, optional
        ``none``, ``linear``, ``polynomial`` or ``shirley`` (refined in the fit,
        Shirley "active"), or ``shirley_fixed``, ``tougaard``, ``als``,
        ``arpls`` (subtracted before); default: the library's.
    share : sequence of str, optional
        Parameters shared across the batch in one global fit: ``"center"``,
        ``"width"`` (FWHM and shape), ``"fwhm"``, ``"shape"``.
    window : (lo, hi), optional
        Fitting window in axis units; default: the library's.
    engine : {"batch", "lmfit"}
        Vectorised Levenberg–Marquardt, or lmfit spectrum by spectrum.
    weights : {None, "poisson"}
        Unweighted least squares, or ``1/sqrt(counts)`` weights.
    degree : int
        Degree of the in-fit ``polynomial`` background.
    background_options : dict, optional
        Options of a subtracted background (e.g. ``{"n_average": 5}``).
    max_nfev : int, optional
        Model evaluations allowed.
    lineshape : str, optional
        Override the lineshape of every component: a name (shape parameter then
        free over its range) or CasaXPS notation ``"GL(30)"``/``"SGL(30)"`` (fixed).
    uncertainty : {"covariance", "montecarlo", "bootstrap"}
        How ``*_stderr`` and the covariances are estimated: linearised
        covariance (default), or refits of ``n_draws`` resampled data sets
        (Gaussian noise of the residual scale, or resampled residuals).
    n_draws, seed : int
        Number of resampled data sets and the random seed (reproducible by default).
    shape_tie : {"none", "all", "auto"}, optional
        One shape parameter for all components, one each, or one unless a
        global fit's series rejects it (F-test); default: the library's
        ``shape_tie``.  See :mod:`specfit.shapetie`.

    Returns
    -------
    xarray.Dataset
        The result schema of the specification (``component`` dimension,
        ``center``/``fwhm``/``height``/``area``/``fraction`` with
        ``*_stderr``, fit statistics, curves).
    """
    from .results import build_dataset

    lib = resolve_library(library, components, lineshape)
    share_t = _as_tuple(share)
    background = background or lib.background
    tie = shape_tie or lib.shape_tie
    if background not in BACKGROUNDS:
        raise LibraryError(f"unknown background {background!r}; choose one of {', '.join(BACKGROUNDS)}")
    if uncertainty not in UNCERTAINTY_METHODS:
        raise FitError(f"unknown uncertainty {uncertainty!r}; choose one of {', '.join(UNCERTAINTY_METHODS)}")
    if engine not in ENGINES:
        raise FitError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if tie not in SHAPE_TIES:
        raise FitError(f"unknown shape_tie {tie!r}; choose one of {', '.join(SHAPE_TIES)}")
    if _is_dask(data):
        from .daskfit import fit_dask

        return fit_dask(data, lib, background=background, share=share_t, window=window, engine=engine,
                        weights=weights, degree=degree, background_options=background_options,
                        max_nfev=max_nfev, uncertainty=uncertainty, n_draws=n_draws, seed=seed, shape_tie=tie)
    prep = prepare(data, lib, window=window, weights=weights)
    options = dict(background=background, share=",".join(share_t), engine=engine, weights=weights or "none",
                   degree=degree, window=prep.window, background_options=background_options or {},
                   components=list(lib.component_names), lineshape_override=lineshape or "",
                   uncertainty=uncertainty, n_draws=n_draws, seed=seed, shape_tie=tie)
    run = dict(background=background, share=share_t, engine=engine, degree=degree,
               background_options=background_options or {}, max_nfev=max_nfev, options=options)
    tested = (tie == "auto" and shapes_shared_by_series(share_t) and int(prep.usable.sum()) > 1
              and tie_shapes(lib) != lib)
    if tested:
        outcome = _fit_common_or_per_band_shapes(prep, lib, run)
    else:
        outcome = run_fit(prep, tie_shapes(lib) if tie != "none" else lib, **run)
    ds = build_dataset(outcome)
    if uncertainty != "covariance":
        from .montecarlo import apply_resampled_errors

        ds = apply_resampled_errors(ds, outcome, method=uncertainty, n_draws=n_draws, seed=seed)
    return ds


def _fit_common_or_per_band_shapes(prep: Prepared, lib: Library, run: dict) -> FitOutcome:
    """Global fits with per-band and with one common shape; the common one unless the series rejects it."""
    per_band = run_fit(replace(prep, messages=list(prep.messages)), lib, **run)
    common = run_fit(prep, tie_shapes(lib), **run)
    rows = prep.usable & per_band.success & common.success
    n_removed = per_band.spec.groups.count("shape") - common.spec.groups.count("shape")
    pvalue = common_shape_pvalue(float(per_band.cost[rows].sum()), float(common.cost[rows].sum()),
                                 int(np.count_nonzero(prep.weights[rows] > 0)), float(per_band.n_varys[rows].sum()),
                                 n_removed)
    chosen = per_band if pvalue < ALPHA else common
    chosen.options = {**chosen.options, "shape_tie_pvalue": pvalue}
    return chosen


def _is_dask(data: object) -> bool:
    return isinstance(data, xr.DataArray) and data.chunks is not None


def run_fit(prep: Prepared, lib: Library, *, background: str, share: tuple[str, ...], engine: str,
            degree: int, background_options: dict, max_nfev: int | None, options: dict) -> FitOutcome:
    """Fit prepared data; spectra that cannot be fitted are flagged, the rest go on."""
    in_fit = background if background in IN_FIT_BACKGROUNDS else "none"
    fixed_bg = (_subtract_fixed(prep, background, background_options) if background in PRE_SUBTRACTED
                else np.zeros_like(prep.y))
    spec = compile_model(lib, prep.x, background=in_fit, degree=degree)
    n, p = prep.y.shape[0], spec.n_params
    theta = np.full((n, p), np.nan)
    cov = np.full((n, p, p), np.nan)
    free = np.zeros((n, p), bool)
    cost = np.full(n, np.nan)
    nfev = np.zeros(n, int)
    success = np.zeros(n, bool)
    n_varys = np.full(n, float(p))
    rows = np.nonzero(prep.usable)[0]
    if rows.size:
        problem = FitProblem(spec, prep.x, prep.y[rows] - fixed_bg[rows], prep.weights[rows])
        theta0 = initial_theta(spec, prep.x, problem.y, problem.weights)
        sol, c, nv = _solve(problem, theta0, share, engine, max_nfev)
        theta[rows], cov[rows], free[rows] = sol.theta, c, ~sol.at_bound
        cost[rows], nfev[rows], success[rows], n_varys[rows] = sol.cost, sol.nfev, sol.success, nv
        for i in rows[~sol.success]:
            prep.messages[i] = (prep.messages[i] + "; " if prep.messages[i] else "") + "did not converge"
    return FitOutcome(spec, prep, lib, theta, cov, free, cost, nfev, success, n_varys, fixed_bg, options)


def _solve(problem: FitProblem, theta0: NDArray, share: tuple[str, ...], engine: str,
           max_nfev: int | None) -> tuple[BatchSolution, NDArray, NDArray]:
    spec = problem.spec
    if engine == "lmfit" and not share:
        from .lmfit_engine import fit_with_lmfit

        sol, cov = fit_with_lmfit(problem, theta0, max_nfev=max_nfev or 2000)
        free = ~sol.at_bound
        return sol, cov, free.sum(axis=1).astype(float)
    sol = levenberg_marquardt(problem.residual_jacobian, theta0, spec.lower, spec.upper, max_nfev=max_nfev or 400)
    if share and problem.y.shape[0] > 1:
        mask = shared_mask(spec.groups, share)
        if mask.any():
            return fit_global(problem, sol.theta, mask, max_nfev=max_nfev or 200)
    # Parameters resting on a bound stay in the covariance, as in lmfit: holding them fixed
    # understated fraction errors up to 7x in overlapped bands.  Their own stderr is NaN.
    cov = covariance(sol.jacobian, sol.cost, problem.n_points)
    return sol, cov, (~sol.at_bound).sum(axis=1).astype(float)


def curves(outcome: FitOutcome) -> dict[str, NDArray]:
    """Model curves on the ascending axis: best fit, background, components ``(N, C, M)``."""
    spec, x = outcome.spec, outcome.prep.x
    theta = np.nan_to_num(outcome.theta, nan=0.0)
    comp = peak_curves(spec, theta, x)
    peaks = comp.sum(axis=1)
    bg = background_curve(spec, theta, x, peaks) + outcome.fixed_bg
    bad = ~np.isfinite(outcome.theta).all(axis=1)
    comp[bad], bg[bad] = np.nan, np.nan
    return {"best_fit": peaks + bg, "background": bg, "component_curve": comp}
