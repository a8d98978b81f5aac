"""Starting values from the library and the data.

With centers and widths at their library values the model is linear in the
areas and the polynomial background coefficients, so one least-squares solve
(shared design matrix, one right-hand side per spectrum) gives every
spectrum's starting areas from its own intensities -- heights come from the
data, never from constants.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .backgrounds.shirley import shirley_step
from .model import ModelSpec, peak_curves, polynomial_basis


def _area_columns(spec: ModelSpec, x: NDArray) -> tuple[list[int], NDArray]:
    """Unit-area design columns, one per free area parameter (ties and doublets folded in)."""
    theta = spec.default.copy()
    area_params = [i for i, g in enumerate(spec.groups) if g == "area"]
    columns = []
    for index in area_params:
        probe = theta.copy()
        for j in area_params:
            probe[j] = 0.0
        probe[index] = 1.0
        # background parameters are zero in spec.default, so only peaks contribute
        columns.append(peak_curves(spec, probe[None], x)[0].sum(axis=0))
    return area_params, np.stack(columns, axis=-1) if columns else np.zeros((x.size, 0))


def _shirley_guess(y: NDArray, x: NDArray, n_average: int = 3, n_iter: int = 30) -> NDArray:
    n = max(1, min(n_average, y.shape[1] // 4))
    low = y[:, :n].mean(axis=1, keepdims=True)
    high = y[:, -n:].mean(axis=1, keepdims=True)
    bg = np.repeat(low, y.shape[1], axis=1)
    for _ in range(n_iter):
        bg = shirley_step(y - bg, x, low, high)
    return bg


def initial_theta(spec: ModelSpec, x: NDArray, y: NDArray, weights: NDArray) -> NDArray:
    """Starting parameters ``(N, P)`` for the spectra ``y`` ``(N, M)`` on ascending ``x``."""
    n = y.shape[0]
    theta = np.tile(spec.default, (n, 1))
    area_idx, design = _area_columns(spec, x)
    target = y.copy()
    shirley_bg = None
    if spec.background == "shirley":
        shirley_bg = _shirley_guess(y, x)
        target = y - shirley_bg
    elif spec.background in ("linear", "polynomial"):
        design = np.concatenate([design, polynomial_basis(spec, x)], axis=1)
    mask = weights > 0
    if np.all(mask):
        coef = np.linalg.lstsq(design, target.T, rcond=None)[0].T
    else:
        coef = np.stack([np.linalg.lstsq(design[m], t[m], rcond=None)[0] for m, t in zip(mask, target)])
    k = len(area_idx)
    scale = np.maximum(np.abs(target).max(axis=1), 1e-300) * (x[-1] - x[0]) * 1e-4
    areas = np.maximum(coef[:, :k], scale[:, None])
    theta[:, area_idx] = areas
    if spec.background in ("linear", "polynomial"):
        theta[:, list(spec.background_index)] = coef[:, k:]
    elif spec.background == "shirley":
        i_low, i_step = spec.background_index
        total = np.maximum(np.trapezoid(peak_curves(spec, theta, x).sum(axis=1), x), 1e-300)
        theta[:, i_low] = shirley_bg[:, 0]
        theta[:, i_step] = (shirley_bg[:, -1] - shirley_bg[:, 0]) / total
    return np.clip(theta, spec.lower, spec.upper)


__all__ = ["initial_theta"]
