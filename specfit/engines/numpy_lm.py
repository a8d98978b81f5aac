"""Vectorised Levenberg–Marquardt: many independent bounded least-squares problems at once.

Every spectrum of a batch is its own problem with its own damping and its own
convergence test, but all of them advance together through numpy array
operations (stacked normal equations solved by ``numpy.linalg.solve``), which
is what makes thousands of spectra per second possible.  The model is
evaluated in cache-sized blocks of spectra, each reduced at once to its normal
equations: memory does not grow with ``N`` beyond ``(N, P, P)``.  Bounds are handled
by projection with an active set: a parameter at a bound whose gradient
points outward is frozen for that step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

ResidualJacobian = Callable[[NDArray, NDArray], tuple[NDArray, NDArray]]
NormalEquations = Callable[[NDArray, NDArray], tuple[NDArray, NDArray, NDArray]]


@dataclass
class BatchSolution:
    """Result of :func:`levenberg_marquardt` for ``N`` problems of ``P`` parameters."""

    theta: NDArray  # (N, P)
    residual: NDArray | None  # (N, M) weighted residual at the solution (None: keep_jacobian=False)
    jacobian: NDArray | None  # (N, M, P) weighted Jacobian at the solution (None: keep_jacobian=False)
    cost: NDArray  # (N,) sum of squared weighted residuals
    nfev: NDArray  # (N,) model evaluations
    success: NDArray  # (N,) converged within max_nfev
    at_bound: NDArray  # (N, P) parameter pinned at a bound


#: Bytes of one block's ``(n, M, P)`` Jacobian: the engine evaluates the model block by block and
#: keeps only ``J^T J``, ``J^T r`` and the cost of each problem, so memory stays at one block (cache-sized).
BLOCK_BYTES = 4 * 2**20


def _normal_equations(residual_jacobian: ResidualJacobian, theta: NDArray, rows: NDArray,
                      block: int) -> tuple[NDArray, NDArray, NDArray]:
    """Cost ``r.r``, gradient ``J^T r`` and ``J^T J`` of the problems ``rows``, evaluated block by block."""
    n, p = theta.shape
    cost = np.empty(n)
    grad = np.empty((n, p))
    hess = np.empty((n, p, p))
    for s in range(0, n, block):
        e = min(s + block, n)
        r, j = residual_jacobian(theta[s:e], rows[s:e])
        jt = j.transpose(0, 2, 1)
        cost[s:e] = np.einsum("nm,nm->n", r, r)
        grad[s:e] = np.matmul(jt, r[..., None])[..., 0]  # BLAS, several times faster than einsum here
        hess[s:e] = np.matmul(jt, j)
    return cost, grad, hess


def blocked_normal_equations(residual_jacobian: ResidualJacobian) -> NormalEquations:
    """``(theta, rows) -> (cost, J^T r, J^T J)`` from ``residual_jacobian``, evaluated in blocks of
    :data:`BLOCK_BYTES` of Jacobian (block size fixed at the first call)."""
    block = 0

    def normal_equations(theta: NDArray, rows: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        nonlocal block
        if not block:
            _, j0 = residual_jacobian(theta[:1], rows[:1])
            block = max(1, int(BLOCK_BYTES // max(j0.size * 8, 1)))
        return _normal_equations(residual_jacobian, theta, rows, block)

    return normal_equations


def levenberg_marquardt(residual_jacobian: ResidualJacobian, theta0: NDArray, lower: NDArray, upper: NDArray, *,
                        max_nfev: int = 400, ftol: float = 1e-12, xtol: float = 1e-12,
                        lambda0: float = 1e-3, keep_jacobian: bool = True,
                        normal_equations: NormalEquations | None = None) -> BatchSolution:
    """Minimise ``sum(r**2)`` for every row of ``theta0`` independently.

    Parameters
    ----------
    residual_jacobian : callable
        ``(theta_subset (n, P), rows (n,)) -> (r (n, M), J (n, M, P))``: weighted
        residual and its Jacobian for the problems listed in ``rows``.  It is
        called once per step, for the trial point, on blocks of at most
        :data:`BLOCK_BYTES` of Jacobian; each block is reduced at once to
        ``J^T J``, ``J^T r`` and the cost, so no ``(N, M, P)`` array is kept
        between steps and an accepted step needs no further evaluation.
    theta0 : ndarray, shape (N, P)
        Starting values (clipped into the bounds).
    lower, upper : ndarray, shape (P,) or (N, P)
        Bounds (``-inf``/``inf`` for none).
    max_nfev : int
        Model evaluations allowed per problem.
    ftol, xtol : float
        Converged when an accepted step reduces the cost by less than ``ftol``
        (relative, both actual and predicted: MINPACK's test) or changes every
        parameter by less than ``xtol`` (relative).
    lambda0 : float
        Initial Marquardt damping (relative to the diagonal of ``J^T J``);
        updated by Nielsen's rule (H. B. Nielsen, IMM-REP-1999-05, DTU).
    keep_jacobian : bool
        Evaluate the residual and Jacobian once more at the solution and
        return them (``(N, M)`` and ``(N, M, P)``); with ``False`` both fields
        are ``None`` (a caller that re-evaluates them saves one evaluation and
        the ``(N, M, P)`` memory).
    normal_equations : callable, optional
        ``(theta_subset, rows) -> (cost (n,), J^T r (n, P), J^T J (n, P, P))``
        of the same problem, e.g. :meth:`specfit.engines.fused.CompiledProblem.normal_equations`;
        used for every step instead of ``residual_jacobian`` (which then only
        gives the returned residual and Jacobian).

    Returns
    -------
    BatchSolution
    """
    theta = np.clip(np.array(theta0, float, ndmin=2), lower, upper)
    n, p = theta.shape
    lower = np.broadcast_to(lower, (n, p))
    upper = np.broadcast_to(upper, (n, p))
    rows = np.arange(n)
    if normal_equations is None:
        normal_equations = blocked_normal_equations(residual_jacobian)
    cost, grad, hess = normal_equations(theta, rows)
    nfev = np.ones(n, int)
    lam = np.full(n, lambda0)
    nu = np.full(n, 2.0)
    done = ~np.isfinite(cost)
    success = np.zeros(n, bool)
    eye = np.eye(p)
    while True:
        active = np.nonzero(~done & (nfev < max_nfev))[0]
        if active.size == 0:
            break
        ga, ha, ta = grad[active], hess[active], theta[active]
        pinned = ((ta <= lower[active]) & (ga > 0)) | ((ta >= upper[active]) & (ga < 0))
        hdiag = np.diagonal(ha, axis1=1, axis2=2)
        diag = np.maximum(hdiag, 1e-300 + 1e-12 * np.max(np.abs(hdiag), axis=1, keepdims=True))
        keep = ~pinned
        damped = (ha + (lam[active][:, None, None] * diag[:, :, None]) * eye) * (keep[:, :, None] & keep[:, None, :])
        damped += eye * pinned[:, :, None]
        rhs = -ga * keep
        try:
            step = np.linalg.solve(damped, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(damped, rhs)])
        trial = np.clip(ta + step, lower[active], upper[active])
        # the Jacobian comes with the trial residual: the costly lineshape evaluation (Faddeeva
        # function) is shared, and an accepted step needs no further evaluation.
        cost_trial, grad_trial, hess_trial = normal_equations(trial, active)
        nfev[active] += 1
        ca = cost[active]
        better = np.isfinite(cost_trial) & (cost_trial <= ca)
        moved = np.abs(trial - ta)
        small_step = np.all(moved <= xtol * (np.abs(ta) + xtol), axis=1)
        reduction = (ca - cost_trial) / np.maximum(ca, 1e-300)
        # predicted reduction of the linearised model (MINPACK's test: both must be tiny)
        predicted = -(2.0 * np.sum(ga * step, axis=1)
                      + np.sum(step * np.matmul(ha, step[..., None])[..., 0], axis=1)) / np.maximum(ca, 1e-300)
        converged = better & (((reduction <= ftol) & (np.abs(predicted) <= ftol)) | small_step)
        converged |= ~better & (small_step | (lam[active] > 1e16))
        accepted = active[better]
        theta[accepted] = trial[better]
        cost[accepted] = cost_trial[better]
        grad[accepted] = grad_trial[better]
        hess[accepted] = hess_trial[better]
        # Nielsen's damping update (gain ratio rho = actual / predicted reduction)
        rho = np.where(predicted > 0, reduction / np.maximum(predicted, 1e-300), 0.0)[better]
        lam[accepted] = np.maximum(lam[accepted] * np.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1e-12)
        nu[accepted] = 2.0
        rejected = active[~better]
        lam[rejected] *= nu[rejected]
        nu[rejected] *= 2.0
        done[active[converged]] = True
        success[active[converged]] = True
    at_bound = ((theta <= lower) & (grad > 0)) | ((theta >= upper) & (grad < 0))
    success &= np.isfinite(cost)
    residual = jacobian = None
    if keep_jacobian:
        residual, jacobian = _residual_jacobian_blocks(residual_jacobian, theta, rows)
    return BatchSolution(theta=theta, residual=residual, jacobian=jacobian, cost=cost, nfev=nfev, success=success,
                         at_bound=at_bound)


def _residual_jacobian_blocks(residual_jacobian: ResidualJacobian, theta: NDArray,
                              rows: NDArray) -> tuple[NDArray, NDArray]:
    """Residual ``(N, M)`` and Jacobian ``(N, M, P)`` at ``theta``, filled block by block."""
    residual = jacobian = None
    block = 256
    for s in range(0, theta.shape[0], block):
        e = min(s + block, theta.shape[0])
        r, j = residual_jacobian(theta[s:e], rows[s:e])
        if residual is None:
            residual = np.empty((theta.shape[0], r.shape[1]))
            jacobian = np.empty((theta.shape[0],) + j.shape[1:])
        residual[s:e], jacobian[s:e] = r, j
    return residual, jacobian


def covariance(jacobian: NDArray, cost: NDArray, n_points: NDArray, *, scale: bool = True,
               rcond: float = 1e-13) -> NDArray:
    """Parameter covariance ``s^2 (J^T J)^-1`` for every problem; NaN where not estimable.

    Parameters
    ----------
    jacobian : ndarray, shape (N, M, P)
        Weighted Jacobian at the solution.
    cost : ndarray, shape (N,)
        Sum of squared weighted residuals.
    n_points : ndarray, shape (N,)
        Points that carried weight.
    scale : bool
        Scale by the reduced chi-square (lmfit's ``scale_covar``).
    rcond : float
        Reciprocal condition limit of the correlation matrix below which the
        covariance is declared singular (all NaN) rather than made up.
    """
    hess = np.matmul(jacobian.transpose(0, 2, 1), jacobian)
    return covariance_from_normal(hess, cost, n_points, scale=scale, rcond=rcond)


def covariance_from_normal(hess: NDArray, cost: NDArray, n_points: NDArray, *, scale: bool = True,
                           rcond: float = 1e-13) -> NDArray:
    """:func:`covariance` from the normal matrices ``J^T J`` ``(N, P, P)`` (no Jacobian needed).

    The condition test uses the eigenvalues of the (symmetric, positive
    semi-definite) correlation matrix, which are its singular values.
    """
    n, p, _ = hess.shape
    finite = np.all(np.isfinite(hess), axis=(1, 2))
    d = np.sqrt(np.maximum(np.diagonal(hess, axis1=1, axis2=2), 1e-300))
    corr = hess / d[:, :, None] / d[:, None, :]
    corr[~finite] = np.eye(p)
    cov = np.full((n, p, p), np.nan)
    ev = np.linalg.eigvalsh(corr)  # ascending
    ok = finite & (ev[:, 0] > rcond * ev[:, -1])
    if np.any(ok):
        inv = np.linalg.inv(corr[ok]) / d[ok][:, :, None] / d[ok][:, None, :]
        dof = n_points[ok] - p
        factor = np.where(dof > 0, cost[ok] / np.maximum(dof, 1), np.nan) if scale else np.ones(ok.sum())
        cov[ok] = inv * factor[:, None, None]
    return cov
