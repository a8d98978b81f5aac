"""Levenberg–Marquardt compiled per spectrum: each spectrum iterates to convergence inside one numba loop.

:func:`specfit.engines.numpy_lm.levenberg_marquardt` advances every spectrum of a batch
together, one numpy step per iteration; its Python work per iteration is the
same whether 10 000 or 3 spectra are still iterating, and the last, slowest
spectra of a chunk run alone.  Here the same algorithm -- Marquardt damping
relative to the diagonal of ``J^T J`` updated by Nielsen's rule (H. B.
Nielsen, IMM-REP-1999-05, DTU), bounds by projection with an active set (a
parameter at a bound whose gradient points outward is frozen for the step),
MINPACK's relative ``ftol`` test on the actual and predicted reduction and an
``xtol`` test on the step -- runs spectrum by spectrum in compiled code over
the fused evaluation of :mod:`specfit.engines.fused`, spectra in parallel (a
thread pool) when called from the main thread.  Nothing proportional to the
number of spectra is done in Python, and no ``(N, M, P)`` array exists.

Tested against :func:`specfit.engines.numpy_lm.levenberg_marquardt` (the same steps: chi-square equal
to 1e-7, usually 1e-14) in ``tests/test_engines_compiled.py``.  Needs numba.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specfit.engines.fused import (
    CompiledProblem,
    for_chunks,
    lstsq_symmetric,
    scratch_arrays,
    solve_small,
    spectrum_normal_equations,
)
from specfit.lineshapes.faddeeva import HAVE_NUMBA, kernel_ready, voigt_ready

__all__ = ["compiled_levenberg_marquardt", "lm_ready"]


def _lm_spectrum(theta, lo, hi, x, y_row, w_row, cp, project, max_nfev, ftol, xtol, lambda0, hess):
    """Fit one spectrum from ``theta`` (overwritten with the answer, ``hess`` with its ``J^T J``);
    returns ``(cost, nfev, converged)``."""
    n_par = theta.size
    scratch = scratch_arrays(n_par, cp[0].size, x.size)
    grad = np.empty(n_par)
    grad_t = np.empty(n_par)
    hess_t = np.empty((n_par, n_par))
    trial = np.empty(n_par)
    step = np.empty(n_par)
    rhs = np.empty(n_par)
    damped = np.empty((n_par, n_par))
    keep = np.empty(n_par, np.bool_)
    bvec = np.empty(n_par)
    dscale = np.empty(n_par)
    for p in range(n_par):
        theta[p] = min(max(theta[p], lo[p]), hi[p])
    cost = spectrum_normal_equations(theta, x, y_row, w_row, cp, project, scratch, grad, hess)
    nfev = 1
    if not np.isfinite(cost):
        return cost, nfev, False
    lam = lambda0
    nu = 2.0
    while nfev < max_nfev:
        big = 0.0
        for p in range(n_par):
            big = max(big, abs(hess[p, p]))
        for p in range(n_par):
            keep[p] = not ((theta[p] <= lo[p] and grad[p] > 0) or (theta[p] >= hi[p] and grad[p] < 0))
        for p in range(n_par):
            diag = max(hess[p, p], 1e-300 + 1e-12 * big)
            for q in range(n_par):
                damped[p, q] = hess[p, q] if (keep[p] and keep[q]) else 0.0
            damped[p, p] = hess[p, p] + lam * diag if keep[p] else 1.0
            rhs[p] = -grad[p] if keep[p] else 0.0
        # Jacobi scaling (unit diagonal) before elimination: parameters of very different scales (a
        # Shirley step against a center) must not trip the pivot test of solve_small
        for p in range(n_par):
            dscale[p] = 1.0 / np.sqrt(damped[p, p]) if damped[p, p] > 0 else 1.0
        for p in range(n_par):
            bvec[p] = rhs[p] * dscale[p]
            for q in range(n_par):
                damped[p, q] *= dscale[p] * dscale[q]
        if solve_small(damped, bvec, step):
            for p in range(n_par):
                step[p] *= dscale[p]
        else:
            for p in range(n_par):  # singular damped system: minimum-norm least squares (as LAPACK gelsd)
                diag = max(hess[p, p], 1e-300 + 1e-12 * big)
                for q in range(n_par):
                    damped[p, q] = hess[p, q] if (keep[p] and keep[q]) else 0.0
                damped[p, p] = hess[p, p] + lam * diag if keep[p] else 1.0
            if not lstsq_symmetric(damped, rhs, step):
                return cost, nfev, False
        small_step = True
        for p in range(n_par):
            trial[p] = min(max(theta[p] + step[p], lo[p]), hi[p])
        cost_t = spectrum_normal_equations(trial, x, y_row, w_row, cp, project, scratch, grad_t, hess_t)
        nfev += 1
        for p in range(n_par):
            if abs(trial[p] - theta[p]) > xtol * (abs(theta[p]) + xtol):
                small_step = False
        better = np.isfinite(cost_t) and cost_t <= cost
        denom = max(cost, 1e-300)
        reduction = (cost - cost_t) / denom
        lin = 0.0
        quad = 0.0
        for p in range(n_par):
            lin += grad[p] * step[p]
            hs = 0.0
            for q in range(n_par):
                hs += hess[p, q] * step[q]
            quad += step[p] * hs
        predicted = -(2.0 * lin + quad) / denom
        if better:
            converged = ((reduction <= ftol) and (abs(predicted) <= ftol)) or small_step
        else:
            converged = small_step or lam > 1e16
        if better:
            for p in range(n_par):
                theta[p] = trial[p]
                grad[p] = grad_t[p]
                for q in range(n_par):
                    hess[p, q] = hess_t[p, q]
            cost = cost_t
            rho = reduction / max(predicted, 1e-300) if predicted > 0 else 0.0
            lam = max(lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1e-12)
            nu = 2.0
        else:
            lam *= nu
            nu *= 2.0
        if converged:
            return cost, nfev, True
    return cost, nfev, False


def _lm_one(i, theta, lo, hi, rows, x, y, w, cp, project, max_nfev, ftol, xtol, lambda0, cost, nfev, success, hess):
    c, k, ok = _lm_spectrum(theta[i], lo[i], hi[i], x, y[rows[i]], w[rows[i]], cp, project, max_nfev, ftol, xtol,
                            lambda0, hess[i])
    cost[i] = c
    nfev[i] = k
    success[i] = ok and np.isfinite(c)


def _lm_kernel(theta, lo, hi, rows, x, y, w, cp, project, max_nfev, ftol, xtol, lambda0, cost, nfev, success,
               hess):
    """Spectra ``0 .. n-1`` of the arguments in order (parallel by :func:`specfit.lineshapes.faddeeva.for_chunks`)."""
    for i in range(theta.shape[0]):
        _lm_one(i, theta, lo, hi, rows, x, y, w, cp, project, max_nfev, ftol, xtol, lambda0, cost, nfev, success, hess)


if HAVE_NUMBA:
    import numba

    _lm_spectrum = numba.njit(cache=True, no_cpython_wrapper=True)(_lm_spectrum)  # see fused.py, compilation time
    _lm_one = numba.njit(inline="always")(_lm_one)
    _lm_kernel = numba.njit(cache=True, nogil=True)(_lm_kernel)


def lm_ready(compiled: CompiledProblem) -> bool:
    """Whether :func:`compiled_levenberg_marquardt` runs compiled now (:func:`specfit.lineshapes.faddeeva.kernel_ready`:
    False while its first compilation runs in the background; the caller then uses the numpy engine)."""
    p = compiled.problem.spec.n_params
    if (compiled.codes == 2).any():
        voigt_ready()  # before the engine: the numpy path meanwhile uses it once ready
    return kernel_ready(_lm_kernel, (np.zeros((1, p)), np.zeros((1, p)), np.zeros((1, p)), np.zeros(1, np.int64),
                                     compiled.x, compiled.y, compiled.weights, compiled.arrays(), False, 1, 1.0, 1.0,
                                     1.0, np.zeros(1), np.zeros(1, np.int64), np.zeros(1, np.bool_),
                                     np.zeros((1, p, p))))


def compiled_levenberg_marquardt(compiled: CompiledProblem, theta0: NDArray, lower: NDArray, upper: NDArray,
                                 rows: NDArray | None = None, *, project: bool = False, max_nfev: int = 400,
                                 ftol: float = 1e-12, xtol: float = 1e-12,
                                 lambda0: float = 1e-3) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """Minimise the weighted chi-square of every spectrum ``rows`` of ``compiled`` independently.

    Parameters
    ----------
    compiled : CompiledProblem
        Fused evaluation (:func:`specfit.engines.fused.compile_problem`).
    theta0 : ndarray, shape (n, P)
        Starting values (clipped into the bounds); not modified.
    lower, upper : ndarray, shape (P,) or (n, P)
        Bounds.
    rows : ndarray of int, shape (n,), optional
        Spectra of the problem fitted (default: all, in order).
    project : bool
        Variable projection: at every evaluation the linear parameters (areas,
        background coefficients) take their bounded least-squares values
        (G. H. Golub & V. Pereyra, Inverse Problems 19, R1 (2003)).
    max_nfev, ftol, xtol, lambda0
        As for :func:`specfit.engines.numpy_lm.levenberg_marquardt`.

    Returns
    -------
    theta : ndarray, shape (n, P)
    cost : ndarray, shape (n,)
        Sum of squared weighted residuals.
    nfev : ndarray of int, shape (n,)
    success : ndarray of bool, shape (n,)
        Converged within ``max_nfev``.
    hess : ndarray, shape (n, P, P)
        ``J^T J`` of the weighted residual at ``theta`` (for the covariance: no
        further evaluation needed).
    """
    theta = np.array(theta0, float, order="C", ndmin=2)
    n, p = theta.shape
    rows = np.arange(n, dtype=np.int64) if rows is None else np.ascontiguousarray(rows, np.int64)
    lo = np.ascontiguousarray(np.broadcast_to(lower, (n, p)), float)
    hi = np.ascontiguousarray(np.broadcast_to(upper, (n, p)), float)
    cost, nfev, success = np.empty(n), np.zeros(n, np.int64), np.zeros(n, np.bool_)
    hess = np.full((n, p, p), np.nan)
    if n == 0:
        return theta, cost, nfev.astype(int), success, hess
    arrays, project = compiled.arrays(), project and compiled.lin_idx.size > 0

    def work(s, e):
        _lm_kernel(theta[s:e], lo[s:e], hi[s:e], rows[s:e], compiled.x, compiled.y, compiled.weights, arrays, project,
                   int(max_nfev), float(ftol), float(xtol), float(lambda0), cost[s:e], nfev[s:e], success[s:e],
                   hess[s:e])

    for_chunks(work, n)
    return theta, cost, nfev.astype(int), success, hess
