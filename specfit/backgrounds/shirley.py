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

from specfit.backgrounds._validation import check_n_average, validate_axis
from specfit.errors import DataError

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


QUADRATURES = ("trapezoid", "casaxps")
UNSTABLE_MODES = ("linear", "fixed_point")


def _fixed_point(x: NDArray, y: NDArray, low: float, k: float, quadrature: str = "trapezoid") -> NDArray:
    """Background solving ``B = low + k C(y - B)`` exactly (forward recursion).

    ``C`` is the running trapezoid integral, or for ``"casaxps"`` the running sum
    of ``(y - B) dx`` over the points strictly below (CasaXPS's quadrature, read
    off its exported backgrounds).  With ``s = C(y - B)`` the recursion is the
    first-order linear one ``s_i = a s_(i-1) + c_i``; on an evenly spaced axis
    ``a`` is constant and it runs as a recursive filter (``scipy.signal.lfilter``,
    the same arithmetic in C, about 30x faster than the Python loop kept for
    uneven axes).
    """
    from scipy.signal import lfilter  # here: importing scipy.signal costs 0.35 s, at every ``import specfit``

    dx = np.diff(x)
    s = np.zeros_like(y)
    even = y.size > 2 and np.ptp(dx) <= 1e-9 * abs(dx[0])
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging k gives inf: the caller's convergence test
        if quadrature == "casaxps":
            if even:  # s_i = (1 - k h) s_(i-1) + h (y_(i-1) - low)
                h = float(dx.mean())
                s[1:] = lfilter([1.0], [1.0, -(1.0 - k * h)], h * (y[:-1] - low))
                return low + k * s
            for i in range(1, y.size):
                s[i] = s[i - 1] + dx[i - 1] * (y[i - 1] - low - k * s[i - 1])
            return low + k * s
        half = 0.5 * dx
        if even:  # s_i = [(1 - k h/2) s_(i-1) + h/2 (y_(i-1) + y_i - 2 low)] / (1 + k h/2)
            h2 = float(half.mean())
            d = 1.0 + k * h2
            s[1:] = lfilter([1.0], [1.0, -(1.0 - k * h2) / d], h2 * (y[:-1] + y[1:] - 2.0 * low) / d)
            return low + k * s
        r_prev = y[0] - low
        for i in range(1, y.size):
            s[i] = (s[i - 1] + half[i - 1] * (r_prev + y[i] - low)) / (1.0 + k * half[i - 1])
            r_prev = y[i] - low - k * s[i]
        return low + k * s


_QUADRATURE_CACHE: dict = {}


def _quadrature_matrix(x: NDArray, quadrature: str) -> NDArray:
    """``Q`` with ``(Q v)_i`` the running integral of ``v`` up to point ``i`` (read-only; the last axis's
    matrix is kept: a batch of spectra shares one axis)."""
    if x.size > 3000:
        raise DataError(f"Shirley region of {x.size} points is too long (at most 3000)")
    key = (quadrature, x.size, x.tobytes())
    q = _QUADRATURE_CACHE.get(key)
    if q is not None:
        return q
    if quadrature == "casaxps":
        dx = np.diff(x)
        q = np.tril(np.broadcast_to(np.append(dx, 0.0), (x.size, x.size)), k=-1)
    else:
        q = cumulative_trapezoid(np.eye(x.size), x, axis=0)
    q.setflags(write=False)
    _QUADRATURE_CACHE.clear()
    _QUADRATURE_CACHE[key] = q
    return q


def iteration_converges(x: NDArray, y: NDArray, low: float, high: float, quadrature: str,
                        max_iter: int = 1000, tol: float = 1e-9) -> bool:
    """True when the plain Shirley iteration from a flat background settles (change < ``tol`` of the data range).

    This decides only *whether* the iteration converges; the background itself
    is the exactly solved fixed point, so it never depends on an iteration count.
    """
    q = _quadrature_matrix(x, quadrature)
    scale = max(float(np.ptp(y)), abs(high - low), 1e-300)
    background = np.full_like(y, low)
    for _ in range(max_iter):
        s = q @ (y - background)
        if s[-1] == 0 or not np.isfinite(s[-1]):
            return False
        new = low + (high - low) * s / s[-1]
        change = float(np.max(np.abs(new - background)))
        background = new
        if change < tol * scale:
            return True
    return False


def noise_sigma(y: NDArray) -> float:
    """Robust standard deviation of point-to-point noise: MAD of the second differences / sqrt(6).

    Smooth peaks sampled on several points barely move second differences, so the
    estimate follows the noise, not the signal.
    """
    if y.size < 8:
        return 0.0
    d2 = y[:-2] - 2.0 * y[1:-1] + y[2:]
    return float(1.4826 * np.median(np.abs(d2 - np.median(d2))) / np.sqrt(6.0))


def shirley_fixed_point(x: NDArray, y: NDArray, low: float, high: float, *, quadrature: str = "trapezoid",
                        unstable: str = "linear", level_noise: float = 0.0,
                        noise: float = 0.0) -> tuple[NDArray, BackgroundInfo]:
    """Converged Shirley background on ascending ``x`` with given end levels, and whether it exists.

    When the fixed point overshoots its end levels (by > 1 % of the step, plus what
    the noise explains) or the plain iteration would not converge to it (both happen
    with a negative step, high-BE end below the low-BE end, and data mostly below the
    levels), ``unstable="linear"`` returns the straight line between the levels, as
    CasaXPS's exported backgrounds do; ``"fixed_point"`` returns the fixed point.

    ``level_noise`` (standard error of the end levels) and ``noise`` (of one point)
    set the overshoot that noise alone produces: an end level off by ``d`` makes the
    step overshoot by up to ``|k| d span`` (``k`` the Shirley constant), and the
    running integral of the noise moves it by ``|k| noise sqrt(dx span)``.  Three
    standard errors of both are tolerated, so noisy end points of a valid Shirley
    step keep the Shirley background (issue 22: the straight line that replaced it
    on noise alone biased the areas).  :func:`shirley_with_info` passes them for
    ``quadrature="trapezoid"`` only; ``"casaxps"`` keeps CasaXPS's plain 1 % rule.
    """
    step = high - low
    scale = max(float(np.ptp(y)), abs(step), 1e-300)
    span = float(x[-1] - x[0])
    if abs(step) <= 1e-12 * scale:
        return np.full_like(y, low), BackgroundInfo()

    def mismatch(k: float) -> float:
        return (_fixed_point(x, y, low, k, quadrature)[-1] - high) / scale

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
            from scipy.optimize import brentq  # here: scipy.optimize's import costs 0.2 s

            root = brentq(mismatch, lo_k, hi_k, xtol=1e-14 * max(abs(k0), 1e-300), rtol=1e-13, maxiter=200)
            background = _fixed_point(x, y, low, root, quadrature)
            # a Shirley background is a monotone step between its end levels; one that overshoots them
            # by more than 1 % of the step (data mostly below the levels) is what CasaXPS replaces by a line
            overshoot = max(float(background.max()) - max(low, high), min(low, high) - float(background.min()))
            by_noise = 3.0 * abs(root) * (level_noise * span + noise * np.sqrt(span * span / max(x.size - 1, 1)))
            if unstable == "linear" and (overshoot > 0.01 * abs(step) + by_noise
                                         or not iteration_converges(x, y, low, high, quadrature)):
                return (low + step * (x - x[0]) / span,
                        BackgroundInfo(True, "Shirley step not monotone or iteration unstable: straight line "
                                             "between the end levels (CasaXPS)"))
            return background, BackgroundInfo()
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
    check_n_average(n_average)
    n = int(n_average)
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
                      endpoints: str = "inward", quadrature: str = "trapezoid",
                      unstable: str = "linear") -> tuple[NDArray, BackgroundInfo]:
    """Converged Shirley background and a :class:`BackgroundInfo` (see :func:`shirley_background`)."""
    for key, value, allowed in (("endpoints", endpoints, ENDPOINT_MODES), ("quadrature", quadrature, QUADRATURES),
                                ("unstable", unstable, UNSTABLE_MODES)):
        if value not in allowed:
            raise DataError(f"Shirley {key} must be one of {', '.join(allowed)}, got {value!r}")
    x, y = validate_axis(x, y)
    flip = x[0] > x[-1]
    if flip:
        x, y = x[::-1].copy(), y[::-1].copy()
    first, last = region_indices(x, region)
    low = end_level(x, y, x[first], n_average, endpoints, (first, last))
    high = end_level(x, y, x[last], n_average, endpoints, (first, last))
    inside = y[first:last + 1]
    # specfit's own convention tolerates the overshoot that noise explains; quadrature="casaxps" reproduces
    # CasaXPS, whose exports replace any step overshooting by > 1 % (real N 1s export: 6.6 %, within noise)
    sigma = noise_sigma(inside) if quadrature == "trapezoid" else 0.0
    averaged = int(max(1, n_average)) if endpoints == "centred" else \
        min(int(max(1, n_average)), max((last - first + 1) // 4, 1))
    inner, info = shirley_fixed_point(x[first:last + 1], inside, low, high, quadrature=quadrature,
                                      unstable=unstable, level_noise=sigma / np.sqrt(averaged), noise=sigma)
    out = np.empty_like(y)
    out[:first], out[first:last + 1], out[last + 1:] = inner[0], inner, inner[-1]
    return (out[::-1].copy() if flip else out), info


def shirley_background(x: ArrayLike, y: ArrayLike, *, n_average: int = 1, region: tuple[float, float] | None = None,
                       endpoints: str = "inward", quadrature: str = "trapezoid",
                       unstable: str = "linear") -> NDArray:
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
    quadrature : {"trapezoid", "casaxps"}
        Running integral: trapezoid rule, or CasaXPS's running sum over the
        points below (use with ``endpoints="centred"`` to reproduce CasaXPS).
    unstable : {"linear", "fixed_point"}
        When the plain Shirley iteration would not converge (it can happen with a
        negative step, high-BE end below the low-BE end): the straight line
        between the end levels (what CasaXPS exports), or the fixed point anyway.

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
    background, info = shirley_with_info(x, y, n_average=n_average, region=region, endpoints=endpoints,
                                         quadrature=quadrature, unstable=unstable)
    if not info.converged:
        raise DataError(info.message)
    return background
