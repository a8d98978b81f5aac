"""Iterative Shirley background (Shirley, Phys. Rev. B 5, 4709 (1972); Proctor & Sherwood 1982)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._validation import background_method, end_levels


def cumulative_trapezoid(y: NDArray, x: NDArray, axis: int = -1) -> NDArray:
    """Running trapezoid integral from the first point, same length as ``y`` (starts at 0)."""
    y = np.moveaxis(np.asarray(y, float), axis, -1)
    steps = 0.5 * (y[..., 1:] + y[..., :-1]) * np.diff(x)
    out = np.concatenate([np.zeros(y.shape[:-1] + (1,)), np.cumsum(steps, axis=-1)], axis=-1)
    return np.moveaxis(out, -1, axis)


def shirley_step(signal: NDArray, x: NDArray, low: float, high: float) -> NDArray:
    """Shirley background for a given peak signal: ``low + (high - low) * cumulative / total``.

    The formula is symmetric in the axis direction, so it holds for binding
    and kinetic energy alike once ``x`` is ascending.
    """
    cumulative = cumulative_trapezoid(signal, x)
    total = cumulative[..., -1:]
    safe = np.where(np.abs(total) > 0, total, 1.0)
    return low + (high - low) * np.where(np.abs(total) > 0, cumulative / safe, 0.0)


@background_method
def shirley_background(x: NDArray, y: NDArray, *, n_average: int = 1, max_iter: int = 100,
                       tol: float = 1e-7) -> NDArray:
    """Iterative Shirley background, iterated to convergence.

    Parameters
    ----------
    x, y : array_like
        Axis (eV, either order) and intensity.
    n_average : int
        Points averaged at each end to fix the end levels (CasaXPS averages end points).
    max_iter : int
        Iteration limit.
    tol : float
        Convergence: largest change of the background relative to the data range.

    Returns
    -------
    numpy.ndarray
        Background, same order as ``x``.
    """
    low, high = end_levels(y, n_average)
    scale = max(float(np.ptp(y)), 1e-300)
    background = np.full_like(y, low)
    for _ in range(max_iter):
        new = shirley_step(y - background, x, low, high)
        change = float(np.max(np.abs(new - background)))
        background = new
        if change < tol * scale:
            break
    return background
