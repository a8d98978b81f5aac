"""One decorator that validates and orders input for every background algorithm.

Algorithms are written for an ascending axis; the decorator sorts, calls and
returns the background in the caller's order, so ascending and descending
axes (XPS instruments store binding energy high-first) give identical results.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from specfit.errors import DataError


def validate_axis(x: ArrayLike, y: ArrayLike, *, min_points: int = 3) -> tuple[NDArray, NDArray]:
    """Return float copies of ``x`` and ``y`` after checking they form one spectrum."""
    x = np.array(x, dtype=float)
    y = np.array(y, dtype=float)
    if x.ndim != 1 or y.ndim != 1:
        raise DataError(f"x and y must be 1-D, got shapes {x.shape} and {y.shape}")
    if x.size != y.size:
        raise DataError(f"length mismatch: x has {x.size} points, y has {y.size}")
    if x.size < min_points:
        raise DataError(f"need at least {min_points} points, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise DataError("axis contains NaN or inf")
    if not np.all(np.isfinite(y)):
        raise DataError(f"intensity contains {int(np.sum(~np.isfinite(y)))} NaN/inf points")
    step = np.diff(x)
    if np.any(step == 0):
        raise DataError(f"axis has duplicated values (first at {x[1:][step == 0][0]:g})")
    if not (np.all(step > 0) or np.all(step < 0)):
        raise DataError("axis is not monotonic")
    return x, y


def background_method(func: Callable[..., NDArray]) -> Callable[..., NDArray]:
    """Wrap ``func(x_ascending, y, **options)`` with validation and un-sorting."""

    @functools.wraps(func)
    def wrapper(x: ArrayLike, y: ArrayLike, **options) -> NDArray:
        x, y = validate_axis(x, y)
        if x[0] > x[-1]:
            return func(x[::-1].copy(), y[::-1].copy(), **options)[::-1].copy()
        return func(x, y, **options)

    return wrapper


def check_n_average(n_average: object) -> None:
    """``n_average`` is a whole number of points >= 1 (a value below 1 was clamped silently: issue 22)."""
    if isinstance(n_average, bool) or not isinstance(n_average, (int, np.integer)) or n_average < 1:
        raise DataError(f"n_average must be a whole number of points >= 1, got {n_average!r}")


def end_levels(y: NDArray, n_average: int) -> tuple[float, float]:
    """Mean of the first and last ``n_average`` points (CasaXPS-style end-point averaging)."""
    check_n_average(n_average)
    n = int(max(1, min(n_average, y.size // 4 or 1)))
    return float(np.mean(y[:n])), float(np.mean(y[-n:]))
