"""Tougaard background with the universal inelastic cross-section (Tougaard, Surf. Interface Anal. 25, 137 (1997))."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ._validation import background_method, end_levels

#: Universal cross-section constant C (eV^2) for most metals and oxides (Tougaard 1997).
TOUGAARD_C = 1643.0


def tougaard_kernel(loss: NDArray, c: float = TOUGAARD_C) -> NDArray:
    """Universal loss function K(T) = T / (C + T^2)^2 for energy loss T >= 0 (eV^-3), 0 below."""
    loss = np.asarray(loss, float)
    return np.where(loss > 0, loss / (c + loss**2) ** 2, 0.0)


@background_method
def tougaard_background(x: NDArray, y: NDArray, *, c: float = TOUGAARD_C, n_average: int = 1,
                        kinetic: bool = False) -> NDArray:
    """Two-parameter universal Tougaard background, B fitted to the high-loss end.

    Parameters
    ----------
    x, y : array_like
        Binding energy in eV (either order) and intensity.
    c : float
        Cross-section constant C in eV^2 (1643 eV^2 universal).
    n_average : int
        End points averaged for the levels.
    kinetic : bool
        True when ``x`` is kinetic energy (losses then lie at lower x).

    Returns
    -------
    numpy.ndarray
        Background, same order as ``x``.
    """
    if kinetic:  # losses towards low kinetic energy: mirror to a binding-like axis
        return tougaard_background.__wrapped__(-x[::-1], y[::-1], c=c, n_average=n_average)[::-1]
    low, high = end_levels(y, n_average)
    signal = y - low
    dx = np.gradient(x)
    # background(E_i) = B * sum_j K(E_i - E_j) signal_j dE_j over lower binding energies
    loss = x[:, None] - x[None, :]
    integral = tougaard_kernel(loss, c) @ (signal * dx)
    n = int(max(1, min(n_average, y.size // 4 or 1)))
    tail = integral[-n:]
    b = float(np.sum(tail * (high - low)) / np.sum(tail * tail)) if np.any(tail) else 0.0
    return low + b * integral
