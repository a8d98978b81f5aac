"""Linear and polynomial backgrounds fixed before the fit."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._validation import background_method, end_levels


@background_method
def linear_background(x: NDArray, y: NDArray, *, n_average: int = 1) -> NDArray:
    """Straight line through the averaged end points (the XPS convention)."""
    low, high = end_levels(y, n_average)
    return low + (high - low) * (x - x[0]) / (x[-1] - x[0])


@background_method
def polynomial_background(x: NDArray, y: NDArray, *, degree: int = 2, max_iter: int = 250,
                          tol: float = 1e-3) -> NDArray:
    """Modified-polynomial baseline that lies under the peaks (pybaselines ``modpoly``)."""
    from pybaselines.polynomial import modpoly

    baseline, _ = modpoly(y, x, poly_order=int(degree), max_iter=max_iter, tol=tol)
    return np.asarray(baseline, float)
