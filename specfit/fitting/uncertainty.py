"""Component quantities and their standard errors from the parameter covariance.

Every reported quantity (area, center, FWHM, height, fraction) is a function
of the free parameters; its standard error is ``sqrt(g^T C g)`` with ``g`` its
exact gradient, so correlations are kept: a fraction's error accounts for the
correlation of all areas, and a doublet's area is the sum of its two lines.
A parameter resting on a bound keeps its place in the covariance (as in lmfit:
its correlations still widen the other errors -- holding it fixed understated
fraction errors several-fold in overlapped bands) but its own standard error,
and that of any quantity depending on it alone, is NaN; a singular covariance
gives NaN everywhere -- never a made-up number.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specfit.lineshapes.profiles import peak_height
from specfit.model.spec import ModelSpec, ParamMap

QUANTITIES = ("center", "fwhm", "height", "area", "fraction")


def _grad(pm: ParamMap, n: int, p: int) -> NDArray:
    g = np.zeros((n, p))
    if pm.index >= 0:
        g[:, pm.index] = pm.scale
    return g


def component_quantities(spec: ModelSpec, theta: NDArray) -> tuple[dict[str, NDArray], dict[str, NDArray]]:
    """Values ``(N, C)`` and gradients ``(N, C, P)`` of every quantity of every component."""
    n, p = theta.shape
    c = len(spec.components)
    values = {q: np.zeros((n, c)) for q in QUANTITIES}
    grads = {q: np.zeros((n, c, p)) for q in QUANTITIES}
    main_seen: set[int] = set()
    for term in spec.terms:
        k = term.component
        values["area"][:, k] += term.area.value(theta)
        grads["area"][:, k] += _grad(term.area, n, p)
        if k in main_seen:
            continue
        main_seen.add(k)
        for q, pm in (("center", term.center), ("fwhm", term.fwhm)):
            values[q][:, k] = pm.value(theta)
            grads[q][:, k] = _grad(pm, n, p)
        area, fwhm, shape = (pm.value(theta) for pm in (term.area, term.fwhm, term.shape))
        height = peak_height(term.lineshape, area, fwhm, shape)
        values["height"][:, k] = height
        with np.errstate(divide="ignore", invalid="ignore"):
            per_area = np.where(area != 0, height / area, peak_height(term.lineshape, 1.0, fwhm, shape))
        g = per_area[:, None] * _grad(term.area, n, p) - (height / fwhm)[:, None] * _grad(term.fwhm, n, p)
        if term.shape.index >= 0:
            h = 1e-6
            dh = (peak_height(term.lineshape, area, fwhm, shape + h)
                  - peak_height(term.lineshape, area, fwhm, shape - h)) / (2 * h)
            g += dh[:, None] * _grad(term.shape, n, p)
        grads["height"][:, k] = g
    total = values["area"].sum(axis=1, keepdims=True)
    safe = np.where(total != 0, total, np.nan)
    values["fraction"] = values["area"] / safe
    total_grad = grads["area"].sum(axis=1, keepdims=True)
    grads["fraction"] = (grads["area"] * safe[:, :, None] - values["area"][:, :, None] * total_grad) / safe[
        :, :, None] ** 2
    return values, grads


def propagate(grads: NDArray, cov: NDArray, free: NDArray) -> NDArray:
    """Standard errors ``(N, C)`` of quantities with gradients ``(N, C, P)``.

    A quantity that depends only on parameters resting on a bound (``free``
    False), or any quantity of a spectrum whose covariance is singular, gets NaN.
    """
    singular = ~np.any(np.isfinite(cov), axis=(1, 2))
    cov0 = np.nan_to_num(cov, nan=0.0)
    var = np.einsum("ncp,npq,ncq->nc", grads, cov0, grads)
    # a quantity of no parameter at all is a value the user fixed (Library.constrained): exact, stderr 0
    touches_free = np.any((grads != 0) & free[:, None, :], axis=2) | ~np.any(grads != 0, axis=2)
    with np.errstate(invalid="ignore"):
        err = np.sqrt(np.where(var >= 0, var, np.nan))
    err[~touches_free] = np.nan
    err[singular] = np.nan
    return err


def covariance_of(grads: NDArray, cov: NDArray) -> NDArray:
    """Covariance ``(N, C, C)`` of quantities with gradients ``(N, C, P)``; NaN where singular."""
    singular = ~np.any(np.isfinite(cov), axis=(1, 2))
    out = np.einsum("ncp,npq,ndq->ncd", grads, np.nan_to_num(cov, nan=0.0), grads)
    out[singular] = np.nan
    return out
