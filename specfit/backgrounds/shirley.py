"""Iterative Shirley background (Shirley, Phys. Rev. B 5, 4709 (1972); Proctor & Sherwood 1982).

The iteration ``B <- low + (high - low) * C(y - B) / C_end(y - B)`` (``C`` the
running trapezoid integral) is not run for a fixed number of steps: its fixed
point is ``B = low + k C(y - B)`` with one scalar ``k``, which for a given ``k``
is a triangular linear system (solved by forward recursion), and ``k`` is the
root of ``B_end(k) = high``.  The answer therefore never depends on an
iteration count; when no root exists (the plain iteration then oscillates or
diverges) the result says so (``converged = False``).  A negative step (the
high-BE end below the low-BE end) is a negative ``k`` and is handled the same way.

End levels follow CasaXPS when asked: ``region=(lo, hi)`` in axis units and
``endpoints="centred"`` average ``n_average`` points centred on the data points
nearest the region limits (points outside the region are used);
``endpoints="inward"`` averages the first/last ``n_average`` points inside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from ..errors import DataError
from ._validation import validate_axis

ENDPOINT_MODES = ("inward", "centred")


@dataclass(frozen=True)
class BackgroundInfo:
    """How a fixed background was obtained: ``converged`` False means do not trust it (flag it)."""

    converged: bool = True
    message: str = ""


def cumulative_trapezoid(y: NDArray, x: NDArray, axis: int = -1) -> NDArray:
    """Running trapezoid integral from the first point, same length as ``y`` (starts at 0)."""
    y = np.moveaxis(np.asarray(y, float), axis, -1)
    steps = 0.5 * (y[..., 1:] + y[..., :-1]) * np.diff(x)
    out = np.concatenate([np.zeros(y.shape[:-1] + (1,)), np.cumsum(steps, axis=-1)], axis=-1)
    return np.moveaxis(out, -1, axis)


def shirley_step(signal: NDArray, x: NDArray, low: float, high: float) -> NDArray:
    """One Shirley iteration for a given peak signal: ``low + (high - low) * cumulative / total``.

    The formula is symmetric in the axis direction, so it holds for binding
    and kinetic energy alike once ``x`` is ascending.
    """
    cumulative = cumulative_trapezoid(signal, x)
    total = cumulative[..., -1:]
    safe = np.where(np.abs(total) > 0, total, 1.0)
    return low + (high - low) * np.where(np.abs(total) > 0, cumulative / safe, 0.0)


def _fixed_point(x: NDArray, y: NDArray, low: float, k: float) -> NDArray:
    """Background solving ``B = low + k C(y - B)`` exactly (trapezoid ``C``, forward recursion)."""
    s = np.zeros_like(y)
    half = 0.5 * np.diff(x)
    r_prev = y[0] - low
    for i in range(1, y.size):
        s[i] = (s[i - 1] + half[i - 1] * (r_prev + y[i] - low)) / (1.0 + k * half[i - 1])
        r_prev = y[i] - low - k * s[i]
    return low + k * s


def shirley_fixed_point(x: NDArray, y: NDArray, low: float, high: float) -> tuple[NDArray, BackgroundInfo]:
    """Converged Shirley background on ascending ``x`` with given end levels, and whether it exists."""
    step = high - low
    scale = max(float(np.ptp(y)), abs(step), 1e-300)
    if abs(step) <= 1e-12 * scale:
        return np.full_like(y, low), BackgroundInfo()
    span = float(x[-1] - x[0])

    def mismatch(k: float) -> float:
        return (_fixed_point(x, y, low, k)[-1] - high) / scale

    signal = float(np.trapezoid(y - min(low, high), x))
    k0 = step / max(abs(signal), 1e-300 * span) * (1 if signal >= 0 else -1)
    # bracket the root on the side of k0, growing geometrically (k * span beyond ~700 overflows)
    limit = 700.0 / span
    lo_k, hi_k = (0.0, k0) if k0 > 0 else (k0, 0.0)
    f_zero = mismatch(0.0)
    for _ in range(60):
        edge = hi_k if k0 > 0 else lo_k
        f_edge = mismatch(edge)
        if np.sign(f_edge) != np.sign(f_zero) or f_edge == 0:
            root = brentq(mismatch, lo_k, hi_k, xtol=1e-14 * max(abs(k0), 1e-300), rtol=1e-13, maxiter=200)
            return _fixed_point(x, y, low, root), BackgroundInfo()
        if abs(edge) >= limit:
            break
        if k0 > 0:
            hi_k = min(hi_k * 2.0, limit)
        else:
            lo_k = max(lo_k * 2.0, -limit)
    return (low + step * (x - x[0]) / span,
            BackgroundInfo(False, f"Shirley background has no converged solution (end levels {low:g} -> {high:g});"
                                  " a straight line is returned"))


def end_level(x: NDArray, y: NDArray, at: float, n_average: int, mode: str, inside: tuple[int, int]) -> float:
    """Mean intensity at region limit ``at``: ``n_average`` points centred on it, or inward from it."""
    n = int(max(1, n_average))
    i = int(np.argmin(np.abs(x - at)))
    first, last = inside
    if mode == "centred":
        lo, hi = i - (n - 1) // 2, i + n // 2 + 1
        if i == last:  # centred windows are symmetric about the end point whichever end it is
            lo, hi = i - n // 2, i + (n - 1) // 2 + 1
        return float(np.mean(y[max(lo, 0):min(hi, y.size)]))
    n = min(n, max((last - first + 1) // 4, 1))
    return float(np.mean(y[i:i + n] if i == first else y[i - n + 1:i + 1]))


def region_indices(x: NDArray, region: tuple[float, float] | None) -> tuple[int, int]:
    """First and last index of ascending ``x`` inside ``region`` (whole axis when None)."""
    if region is None:
        return 0, x.size - 1
    lo, hi = sorted(float(v) for v in region)
    inside = np.nonzero((x >= lo - 1e-9 * abs(lo)) & (x <= hi + 1e-9 * abs(hi)))[0]
    if inside.size < 3:
        raise DataError(f"region [{lo:g}, {hi:g}] holds {inside.size} points of the axis "
                        f"[{x[0]:g}, {x[-1]:g}]; need at least 3")
    return int(inside[0]), int(inside[-1])


def shirley_with_info(x: ArrayLike, y: ArrayLike, *, n_average: int = 1, region: tuple[float, float] | None = None,
                      endpoints: str = "inward") -> tuple[NDArray, BackgroundInfo]:
    """Converged Shirley background and a :class:`BackgroundInfo` (see :func:`shirley_background`)."""
    if endpoints not in ENDPOINT_MODES:
        raise DataError(f"Shirley endpoints must be one of {', '.join(ENDPOINT_MODES)}, got {endpoints!r}")
    x, y = validate_axis(x, y)
    flip = x[0] > x[-1]
    if flip:
        x, y = x[::-1].copy(), y[::-1].copy()
    first, last = region_indices(x, region)
    low = end_level(x, y, x[first], n_average, endpoints, (first, last))
    high = end_level(x, y, x[last], n_average, endpoints, (first, last))
    inner, info = shirley_fixed_point(x[first:last + 1], y[first:last + 1], low, high)
    out = np.empty_like(y)
    out[:first], out[first:last + 1], out[last + 1:] = inner[0], inner, inner[-1]
    return (out[::-1].copy() if flip else out), info


def shirley_background(x: ArrayLike, y: ArrayLike, *, n_average: int = 1, region: tuple[float, float] | None = None,
                       endpoints: str = "inward") -> NDArray:
    """Converged iterative Shirley background.

    Parameters
    ----------
    x, y : array_like
        Axis (eV, either order) and intensity, 1-D of equal length.
    n_average : int
        Points averaged for each end level (CasaXPS averages end points).
    region : (lo, hi), optional
        Region limits in axis units (either order); default: the whole axis.
        Outside the region the background continues at its end levels.
    endpoints : {"inward", "centred"}
        ``"centred"`` is CasaXPS's convention: the ``n_average`` points centred
        on the point nearest each limit (reaching outside the region).

    Returns
    -------
    numpy.ndarray
        Background, same order as ``x``.

    Raises
    ------
    DataError
        Bad input, or no converged Shirley solution exists (use
        :func:`shirley_with_info` to get a flag instead).
    """
    background, info = shirley_with_info(x, y, n_average=n_average, region=region, endpoints=endpoints)
    if not info.converged:
        raise DataError(info.message)
    return background
