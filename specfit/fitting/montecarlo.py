"""Monte Carlo and residual-bootstrap standard errors (on request, ``fit(uncertainty=...)``).

The covariance errors are a linearisation; where bands overlap strongly, or
parameters sit near bounds, users ask for resampling.  Every draw refits the
whole batch with the same model, background and engine as the original fit:
``"montecarlo"`` adds Gaussian noise of the fitted residual scale to the best
fit, ``"bootstrap"`` adds residuals resampled with replacement.  Independent
fits of all draws run as one vectorised batch; global fits run draw by draw.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from specfit.errors import OptionError
from specfit.fitting.pipeline import FitOutcome, curves, run_fit
from specfit.fitting.uncertainty import QUANTITIES, component_quantities
from specfit.options import UNCERTAINTY_METHODS


def _synthetic(outcome: FitOutcome, n_draws: int, method: str, rng: np.random.Generator) -> NDArray:
    """Resampled spectra ``(n_draws, N, M)`` around the best fit (ascending axis)."""
    prep = outcome.prep
    best = curves(outcome)["best_fit"]
    resid = np.where(prep.weights > 0, prep.y - best, 0.0)
    n_pts = np.maximum(np.count_nonzero(prep.weights > 0, axis=1), 1)
    draws = np.empty((n_draws,) + prep.y.shape)
    if method == "montecarlo":
        dof = np.maximum(n_pts - outcome.n_varys, 1.0)
        scale = np.sqrt(np.nan_to_num(outcome.cost, nan=0.0) / dof)  # in weighted units
        with np.errstate(divide="ignore"):
            sigma = np.where(prep.weights > 0, scale[:, None] / prep.weights, 0.0)
        draws[:] = best + sigma * rng.standard_normal(draws.shape)
    else:  # bootstrap: residuals of the same spectrum, resampled with replacement
        for i in range(prep.y.shape[0]):
            pool = resid[i][prep.weights[i] > 0]
            if pool.size == 0:
                draws[:, i] = best[i]
                continue
            draws[:, i] = best[i] + rng.choice(pool, size=(n_draws, prep.y.shape[1]))
    return np.where(prep.weights > 0, draws, 0.0)


def resampled_quantities(outcome: FitOutcome, *, method: str = "montecarlo", n_draws: int = 100,
                         seed: int | None = 0) -> dict[str, NDArray]:
    """Component quantities of every draw, ``(n_draws, N, C)`` each; NaN where a draw failed."""
    if method not in UNCERTAINTY_METHODS[1:]:
        raise OptionError(f"unknown uncertainty method {method!r}; choose one of {', '.join(UNCERTAINTY_METHODS)}")
    prep, opts = outcome.prep, outcome.options
    rng = np.random.default_rng(seed)
    ys = _synthetic(outcome, n_draws, method, rng)
    n, c = prep.y.shape[0], len(outcome.spec.components)
    # every draw is fitted exactly as the original (same options, max_nfev included), without a progress bar
    opts = replace(opts, progress=False)
    # independent fits: all draws in one batch; a global fit couples a draw's spectra, so loop
    blocks = [ys.reshape(n_draws * n, -1)] if not opts.share else list(ys)
    thetas, oks = [], []
    for block in blocks:
        reps = block.shape[0] // n
        sub = replace(prep, y=block, weights=np.tile(prep.weights, (reps, 1)),
                      usable=np.tile(prep.usable & outcome.success, reps), messages=[""] * block.shape[0])
        out = run_fit(sub, outcome.library, opts)
        thetas.append(out.theta)
        oks.append(out.success)
    theta = np.concatenate(thetas)
    ok = np.concatenate(oks)
    values, _ = component_quantities(outcome.spec, np.nan_to_num(theta, nan=0.0))
    result = {}
    for q in QUANTITIES:
        v = np.where(ok[:, None], values[q], np.nan)
        result[q] = v.reshape(n_draws, n, c)
    return result


def resampled_errors(draws: dict[str, NDArray]) -> tuple[dict[str, NDArray], dict[str, NDArray]]:
    """Standard deviations ``(N, C)`` and covariances ``(N, C, C)`` over the draws (ddof 1)."""
    std, cov = {}, {}
    for q, v in draws.items():
        with np.errstate(invalid="ignore"):
            std[q] = np.nanstd(v, axis=0, ddof=1)
            centred = v - np.nanmean(v, axis=0)
            counts = np.sum(np.isfinite(v[..., :1]), axis=0)[..., None]
            prod = np.nansum(centred[..., :, None] * centred[..., None, :], axis=0)
            cov[q] = prod / np.maximum(counts - 1, 1)
    return std, cov


def apply_resampled_errors(ds, outcome: FitOutcome):
    """Replace the covariance-based errors of result ``ds`` by resampled ones (in place, returned).

    Method, number of draws and seed come from ``outcome.options``.
    """
    method, n_draws, seed = outcome.options.uncertainty, outcome.options.n_draws, outcome.options.seed
    std, cov = resampled_errors(resampled_quantities(outcome, method=method, n_draws=n_draws, seed=seed))
    failed = ~outcome.success
    shape = outcome.prep.batch_shape
    for q in QUANTITIES:
        err = std[q].copy()
        err[failed] = np.nan
        ds[f"{q}_stderr"].values[...] = err.reshape(shape + err.shape[1:])
    for q in ("area", "fraction"):
        c = cov[q].copy()
        c[failed] = np.nan
        ds[f"{q}_covariance"].values[...] = c.reshape(shape + c.shape[1:])
    ds.attrs["uncertainty"] = f"{method} ({n_draws} draws, seed {seed})"
    return ds
