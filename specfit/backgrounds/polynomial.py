"""Linear and polynomial backgrounds fixed before the fit."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specfit.backgrounds._validation import background_method, end_levels


@background_method
def linear_background(x: NDArray, y: NDArray, *, n_average: int = 1) -> NDArray:
    """Straight line through the averaged end points (the XPS convention)."""
    low, high = end_levels(y, n_average)
    return low + (high - low) * (x - x[0]) / (x[-1] - x[0])


@background_method
def polynomial_background(x: NDArray, y: NDArray, *, degree: int = 2, max_iter: int = 1000,
                          tol: float = 1e-6) -> NDArray:
    """Polynomial baseline under the peaks (pybaselines ``imodpoly``, Zhao et al. 2007).

    The improved modified polynomial discounts points above the fit by the
    residual's standard deviation; plain ``modpoly`` bows up under the peaks.
    """
    from pybaselines.polynomial import imodpoly

    baseline, _ = imodpoly(y, x, poly_order=int(degree), max_iter=max_iter, tol=tol)
    return np.asarray(baseline, float)
