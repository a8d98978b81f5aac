"""Starting values from the library and the data.

With centers and widths at their library values the model is linear in the
areas and the linear background coefficients, so one least-squares solve
(shared design matrix, one right-hand side per spectrum) gives every
spectrum's starting areas from its own intensities -- heights come from the
data, never from constants.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specfit.model.infit import get_infit_background
from specfit.model.spec import ModelSpec, peak_curves


def _area_columns(spec: ModelSpec, x: NDArray, theta: NDArray) -> tuple[list[int], NDArray]:
    """Unit-area design columns, one per free area parameter (ties and doublets folded in).

    ``(1, M, K)`` when every spectrum starts from the same centers, widths and
    shapes (the usual case: the library's values), so a map costs one
    evaluation of its lines, not one per spectrum; ``(N, M, K)`` otherwise.
    """
    area_params = [i for i, g in enumerate(spec.groups) if g == "area"]
    line_params = [i for i, g in enumerate(spec.groups) if g not in ("area", "background")]
    if np.all(theta[:, line_params] == theta[:1, line_params]):
        theta = theta[:1]
    columns = []
    for index in area_params:
        probe = theta.copy()
        probe[:, area_params] = 0.0
        probe[:, index] = 1.0
        # only peaks contribute: background parameters are not part of peak_curves
        columns.append(peak_curves(spec, probe, x).sum(axis=1))
    return area_params, np.stack(columns, axis=-1) if columns else np.zeros(theta.shape[:1] + (x.size, 0))


def _weighted_least_squares(design: NDArray, target: NDArray, weights: NDArray) -> NDArray:
    """Coefficients ``(N, K)`` minimising ``|w (target - design c)|`` per spectrum (tiny ridge keeps them regular).

    ``design`` is ``(N, M, K)`` or ``(1, M, K)``; with a common design, the
    spectra of unit weights share one ``(K, K)`` system.  Which way a spectrum
    is solved depends on that spectrum alone, and no sum goes through BLAS
    (whose rounding varies with N and its threads): a spectrum's start must not
    depend on the batch it is in (a dask chunk, a worker's single-threaded BLAS).
    """
    n, k = target.shape[0], design.shape[2]
    coef = np.empty((n, k))
    shared = np.all(weights == 1.0, axis=1) if design.shape[0] == 1 else np.zeros(n, bool)

    def ridge(normal: NDArray) -> NDArray:
        return 1e-10 * np.maximum(np.trace(normal, axis1=-2, axis2=-1), 1e-300)[..., None, None] * np.eye(k)

    if shared.any():
        rows = slice(None) if shared.all() else shared  # no (N, M) copy for a map of finite spectra
        normal = np.einsum("mk,ml->kl", design[0], design[0])
        rhs = np.einsum("nm,mk->nk", target[rows], design[0])
        coef[rows] = np.einsum("nl,kl->nk", rhs, np.linalg.inv(normal + ridge(normal)))
    if not shared.all():
        rest = ~shared
        dw = np.broadcast_to(design, (n,) + design.shape[1:])[rest] * weights[rest][:, :, None]
        normal = np.einsum("nmk,nml->nkl", dw, dw)
        rhs = np.einsum("nmk,nm->nk", dw, target[rest] * weights[rest])
        coef[rest] = np.linalg.solve(normal + ridge(normal), rhs[..., None])[..., 0]
    return coef


def _seed_wide_centers(spec: ModelSpec, x: NDArray, y: NDArray, theta: NDArray) -> None:
    """Start a center whose allowed range is much wider than its width at the data maximum in that range.

    A search range many line widths wide (e.g. a 7Li line anywhere in +/-10 ppm)
    cannot be found by a local optimiser from the library's nominal center.
    """
    line = y[:, :1] + (y[:, -1:] - y[:, :1]) * (x - x[0]) / max(x[-1] - x[0], 1e-300)
    excess = y - line
    for i, group in enumerate(spec.groups):
        if group != "center":
            continue
        lo, hi = spec.lower[i], spec.upper[i]
        fwhm_idx = [j for j, g in enumerate(spec.groups) if g == "width" and spec.owners[j] == spec.owners[i]]
        width = spec.default[fwhm_idx[0]] if fwhm_idx else np.inf
        inside = (x >= lo) & (x <= hi)
        if hi - lo <= 4.0 * width or inside.sum() < 3:
            continue
        k = np.argmax(np.where(inside, excess, -np.inf), axis=1)
        theta[:, i] = x[k]


def initial_theta(spec: ModelSpec, x: NDArray, y: NDArray, weights: NDArray,
                  nominal: NDArray | None = None) -> NDArray:
    """Starting parameters ``(N, P)`` for the spectra ``y`` ``(N, M)`` on ascending ``x``.

    Centers, widths and shapes start at ``nominal`` ``(P,)`` (default: the
    library's values, ``spec.default``); a center whose range spans many
    widths is seeded at the data maximum in that range; areas and polynomial
    background coefficients are each spectrum's least-squares values for
    those lines; a Shirley background starts from an iterated Shirley of the data.
    """
    n = y.shape[0]
    theta = np.tile(spec.default if nominal is None else nominal, (n, 1))
    _seed_wide_centers(spec, x, y, theta)
    area_idx, design = _area_columns(spec, x, theta)
    target = y.copy()
    background = get_infit_background(spec.background)
    target, basis, state = background.start_design(spec, x, target)
    if basis is not None:
        basis = basis[None]
        design = np.concatenate([design, np.broadcast_to(basis, design.shape[:1] + basis.shape[1:])], axis=2)
    coef = _weighted_least_squares(design, target, weights)
    k = len(area_idx)
    scale = np.maximum(np.abs(target).max(axis=1), 1e-300) * (x[-1] - x[0]) * 1e-4
    areas = np.maximum(coef[:, :k], scale[:, None])
    theta[:, area_idx] = areas
    background.start_values(spec, theta, x, coef[:, k:], areas, design, state)
    return np.clip(theta, spec.lower, spec.upper)


__all__ = ["initial_theta"]
