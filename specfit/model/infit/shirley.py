"""Active Shirley: ``low + step x running integral of the fitted peaks``, refined with them.

The Shirley background is proportional to the peak area at lower binding
energy (D. A. Shirley, Phys. Rev. B 5, 4709 (1972)); refining it in the fit
with the peaks rather than iterating on the data first is the "active"
approach of A. Herrera-Gomez et al., Surf. Interface Anal. 46, 897 (2014).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specfit.backgrounds.shirley import cumulative_trapezoid, shirley_step
from specfit.model.infit import InFitBackground, SpecLike, register_infit_background


def shirley_guess(y: NDArray, x: NDArray, n_average: int = 3, n_iter: int = 30) -> NDArray:
    """A few Shirley iterations on the data ``(N, M)``: the starting background of each spectrum."""
    n = max(1, min(n_average, y.shape[1] // 4))
    low = y[:, :n].mean(axis=1, keepdims=True)
    high = y[:, -n:].mean(axis=1, keepdims=True)
    bg = np.repeat(low, y.shape[1], axis=1)
    scale = np.maximum(np.ptp(y, axis=1, keepdims=True), 1e-300)
    active = np.arange(y.shape[0])  # each spectrum stops when it settles: a start must not depend on the batch
    for _ in range(n_iter):
        new = shirley_step(y[active] - bg[active], x, low[active], high[active])
        settled = np.all(np.abs(new - bg[active]) <= 1e-3 * scale[active], axis=1)  # a start needs no more
        bg[active] = new
        active = active[~settled]
        if active.size == 0:
            break
    return bg


class ActiveShirley(InFitBackground):
    name = "shirley"

    def parameters(self, x: NDArray, degree: int, options: dict) -> tuple[list[tuple[str, float]], None]:
        return [("bg_low", 0.0), ("bg_step", 0.0)], None

    def curve(self, spec: SpecLike, theta: NDArray, x: NDArray, peaks_total: NDArray) -> NDArray:
        low, step = (theta[:, i][:, None] for i in spec.background_index)
        return low + step * cumulative_trapezoid(peaks_total, x)

    def model_and_jacobian(self, spec: SpecLike, theta: NDArray, x: NDArray, peaks: NDArray,
                           jac: NDArray) -> NDArray:
        i_low, i_step = spec.background_index
        step = theta[:, i_step][:, None, None]
        jac += step * cumulative_trapezoid(jac, x, axis=1)
        cumulative = cumulative_trapezoid(peaks, x)
        jac[:, :, i_low] = 1.0
        jac[:, :, i_step] = cumulative
        return peaks + theta[:, i_low][:, None] + theta[:, i_step][:, None] * cumulative

    def start_design(self, spec: SpecLike, x: NDArray, y: NDArray) -> tuple[NDArray, None, NDArray]:
        guess = shirley_guess(y, x)
        return y - guess, None, guess

    def start_values(self, spec: SpecLike, theta: NDArray, x: NDArray, coef: NDArray, areas: NDArray,
                     design: NDArray, state: NDArray) -> None:
        i_low, i_step = spec.background_index
        # integral of the starting peaks: each design column is one area parameter's unit-area curve
        total = np.maximum(np.sum(areas * np.trapezoid(design, x, axis=1), axis=1), 1e-300)
        theta[:, i_low] = state[:, 0]
        theta[:, i_step] = (state[:, -1] - state[:, 0]) / total


register_infit_background(ActiveShirley())
