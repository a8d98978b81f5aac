"""Vectorised Levenberg–Marquardt: many independent bounded least-squares problems at once.

Every spectrum of a batch is its own problem with its own damping and its own
convergence test, but all of them advance together through numpy array
operations (stacked normal equations solved by ``numpy.linalg.solve``), which
is what makes thousands of spectra per second possible.  Bounds are handled
by projection with an active set: a parameter at a bound whose gradient
points outward is frozen for that step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

ResidualJacobian = Callable[[NDArray, NDArray], tuple[NDArray, NDArray]]


@dataclass
class BatchSolution:
    """Result of :func:`levenberg_marquardt` for ``N`` problems of ``P`` parameters."""

    theta: NDArray  # (N, P)
    residual: NDArray  # (N, M) weighted residual at the solution
    jacobian: NDArray  # (N, M, P) weighted Jacobian at the solution
    cost: NDArray  # (N,) sum of squared weighted residuals
    nfev: NDArray  # (N,) model evaluations
    success: NDArray  # (N,) converged within max_nfev
    at_bound: NDArray  # (N, P) parameter pinned at a bound


def levenberg_marquardt(residual_jacobian: ResidualJacobian, theta0: NDArray, lower: NDArray, upper: NDArray, *,
                        max_nfev: int = 400, ftol: float = 1e-12, xtol: float = 1e-12,
                        lambda0: float = 1e-3) -> BatchSolution:
    """Minimise ``sum(r**2)`` for every row of ``theta0`` independently.

    Parameters
    ----------
    residual_jacobian : callable
        ``(theta_subset (n, P), rows (n,)) -> (r (n, M), J (n, M, P))``: weighted
        residual and its Jacobian for the problems listed in ``rows``.  It is
        called once per step, for the trial point: most steps are accepted, so
        the Jacobian is then already in hand for the next one.
    theta0 : ndarray, shape (N, P)
        Starting values (clipped into the bounds).
    lower, upper : ndarray, shape (P,) or (N, P)
        Bounds (``-inf``/``inf`` for none).
    max_nfev : int
        Model evaluations allowed per problem.
    ftol, xtol : float
        Converged when an accepted step reduces the cost by less than ``ftol``
        (relative) or changes every parameter by less than ``xtol`` (relative).
    """
    theta = np.clip(np.array(theta0, float, ndmin=2), lower, upper)
    n, p = theta.shape
    lower = np.broadcast_to(lower, (n, p))
    upper = np.broadcast_to(upper, (n, p))
    rows = np.arange(n)
    r, jac = residual_jacobian(theta, rows)
    cost = np.einsum("nm,nm->n", r, r)
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
        ja, ra, ta = jac[active], r[active], theta[active]
        jt = ja.transpose(0, 2, 1)
        grad = np.matmul(jt, ra[..., None])[..., 0]  # BLAS, several times faster than einsum here
        hess = np.matmul(jt, ja)
        pinned = ((ta <= lower[active]) & (grad > 0)) | ((ta >= upper[active]) & (grad < 0))
        diag = np.maximum(np.diagonal(hess, axis1=1, axis2=2), 1e-300 + 1e-12 * np.max(
            np.abs(np.diagonal(hess, axis1=1, axis2=2)), axis=1, keepdims=True))
        damped = hess + (lam[active][:, None, None] * diag[:, :, None]) * eye
        keep = ~pinned
        damped = damped * (keep[:, :, None] & keep[:, None, :]) + eye * pinned[:, :, None]
        rhs = -grad * keep
        try:
            step = np.linalg.solve(damped, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(damped, rhs)])
        trial = np.clip(ta + step, lower[active], upper[active])
        # Jacobian evaluated with the trial residual: the costly lineshape evaluation (Faddeeva
        # function) is shared, and an accepted step needs no further evaluation.
        r_trial, j_trial = residual_jacobian(trial, active)
        nfev[active] += 1
        cost_trial = np.einsum("nm,nm->n", r_trial, r_trial)
        better = np.isfinite(cost_trial) & (cost_trial <= cost[active])
        moved = np.abs(trial - ta)
        small_step = np.all(moved <= xtol * (np.abs(ta) + xtol), axis=1)
        reduction = (cost[active] - cost_trial) / np.maximum(cost[active], 1e-300)
        # predicted reduction of the linearised model (MINPACK's test: both must be tiny)
        predicted = -(2.0 * np.sum(grad * step, axis=1)
                      + np.sum(step * np.matmul(hess, step[..., None])[..., 0], axis=1)) / np.maximum(
                          cost[active], 1e-300)
        accepted = active[better]
        converged = better & (((reduction <= ftol) & (np.abs(predicted) <= ftol)) | small_step)
        converged |= ~better & (small_step | (lam[active] > 1e16))
        theta[accepted] = trial[better]
        r[accepted] = r_trial[better]
        jac[accepted] = j_trial[better]
        cost[accepted] = cost_trial[better]
        # Nielsen's damping update (gain ratio rho = actual / predicted reduction)
        rho = np.where(predicted > 0, reduction / np.maximum(predicted, 1e-300), 0.0)[better]
        lam[accepted] = np.maximum(lam[accepted] * np.maximum(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1e-12)
        nu[accepted] = 2.0
        rejected = active[~better]
        lam[rejected] *= nu[rejected]
        nu[rejected] *= 2.0
        done[active[converged]] = True
        success[active[converged]] = True
    grad = np.einsum("nmp,nm->np", jac, r)
    at_bound = ((theta <= lower) & (grad > 0)) | ((theta >= upper) & (grad < 0))
    success &= np.isfinite(cost)
    return BatchSolution(theta=theta, residual=r, jacobian=jac, cost=cost, nfev=nfev, success=success,
                         at_bound=at_bound)


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
    n, _, p = jacobian.shape
    hess = np.einsum("nmp,nmq->npq", jacobian, jacobian)
    d = np.sqrt(np.maximum(np.diagonal(hess, axis1=1, axis2=2), 1e-300))
    corr = hess / d[:, :, None] / d[:, None, :]
    cov = np.full((n, p, p), np.nan)
    s = np.linalg.svd(corr, compute_uv=False)
    ok = (s[:, -1] > rcond * s[:, 0]) & np.all(np.isfinite(hess), axis=(1, 2))
    if np.any(ok):
        inv = np.linalg.inv(corr[ok]) / d[ok][:, :, None] / d[ok][:, None, :]
        dof = n_points[ok] - p
        factor = np.where(dof > 0, cost[ok] / np.maximum(dof, 1), np.nan) if scale else np.ones(ok.sum())
        cov[ok] = inv * factor[:, None, None]
    return cov
