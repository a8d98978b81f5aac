"""Global fits: chosen parameters shared by every spectrum of a batch.

``share=("center", "width")`` gives each component one center and one set of
width/shape parameters for the whole series, while areas and backgrounds stay
per spectrum.  The stacked problem's Jacobian is block-arrow shaped: shared
columns ``A_i`` for every spectrum and a diagonal block ``B_i`` per spectrum.
Its normal matrix therefore needs only the per-spectrum normal equations
``J_i^T J_i`` (whose blocks are ``A_i^T A_i``, ``A_i^T B_i``, ``B_i^T B_i``)
and ``J_i^T r_i``: a Levenberg–Marquardt step is solved by the Schur
complement of the local blocks (B. Triggs et al., "Bundle adjustment - a
modern synthesis", LNCS 1883 (2000), section 6.1), so time and memory grow
linearly with the number of spectra and no dense ``(N M, N P)`` matrix is ever
formed.  Bounds are handled as in :func:`specfit.engines.numpy_lm.levenberg_marquardt`
(projection, with a parameter pinned at a bound whose gradient points outward
frozen for the step); the damping follows Nielsen's rule.  The covariance is
inverted the same blockwise way.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specfit.engines.base import Engine, EngineOptions, EngineResult, register_engine
from specfit.engines.batch import BatchEngine
from specfit.engines.numpy_lm import BatchSolution, NormalEquations, blocked_normal_equations
from specfit.model.problem import FitProblem


def _blocks(hess: NDArray, s_idx: NDArray, l_idx: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """``U = sum_i H_i[s, s]`` ``(S, S)``, ``W_i = H_i[s, l]`` ``(N, S, L)``, ``V_i = H_i[l, l]`` ``(N, L, L)``."""
    u = hess[:, s_idx[:, None], s_idx[None, :]].sum(axis=0)
    w = hess[:, s_idx[:, None], l_idx[None, :]]
    v = hess[:, l_idx[:, None], l_idx[None, :]]
    return u, w, v


def _solve_batched(a: NDArray, b: NDArray) -> NDArray:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        return np.stack([np.linalg.lstsq(ai, bi, rcond=None)[0] for ai, bi in zip(a, b)])


def _schur_step(u: NDArray, w: NDArray, v: NDArray, g_s: NDArray, g_l: NDArray) -> tuple[NDArray, NDArray]:
    """Solve ``[[U, W^T...], [W_i^T, V_i]] [ds; dl_i] = -[g_s; g_l,i]`` by the Schur complement of the ``V_i``."""
    n_s = u.shape[0]
    rhs = np.concatenate([np.transpose(w, (0, 2, 1)), -g_l[:, :, None]], axis=2)  # (N, L, S + 1)
    sol = _solve_batched(v, rhs)
    v_inv_wt, v_inv_g = sol[:, :, :n_s], sol[:, :, n_s]  # V^-1 W^T, -V^-1 g_l
    schur = u - np.einsum("nsl,nlt->st", w, v_inv_wt)
    rhs_s = -g_s - np.einsum("nsl,nl->s", w, v_inv_g)
    if n_s:
        try:
            d_s = np.linalg.solve(schur, rhs_s)
        except np.linalg.LinAlgError:
            d_s = np.linalg.lstsq(schur, rhs_s, rcond=None)[0]
    else:
        d_s = np.zeros(0)
    d_l = v_inv_g - np.einsum("nls,s->nl", v_inv_wt, d_s)
    return d_s, d_l


def _pinned(theta: NDArray, grad: NDArray, lower: NDArray, upper: NDArray) -> NDArray:
    return ((theta <= lower) & (grad > 0)) | ((theta >= upper) & (grad < 0))


def _damped(h: NDArray, lam: float, pinned: NDArray) -> NDArray:
    """``h + lam diag(h)`` with pinned rows/columns replaced by the identity; ``h`` ``(..., K, K)``."""
    k = h.shape[-1]
    eye = np.eye(k)
    diag = np.diagonal(h, axis1=-2, axis2=-1)
    diag = np.maximum(diag, 1e-300 + 1e-12 * np.max(np.abs(diag), axis=-1, keepdims=True))
    keep = ~pinned
    out = (h + lam * diag[..., :, None] * eye) * (keep[..., :, None] & keep[..., None, :])
    return out + eye * pinned[..., :, None]


def global_levenberg_marquardt(normal_equations: NormalEquations, theta0: NDArray, shared: NDArray,
                               lower: NDArray, upper: NDArray, *, max_nfev: int = 200, ftol: float = 1e-12,
                               xtol: float = 1e-12, lambda0: float = 1e-3) -> tuple[NDArray, NDArray, NDArray,
                                                                                   NDArray, int, bool]:
    """Levenberg–Marquardt on the stacked problem with the ``shared`` parameters common to all rows.

    Parameters
    ----------
    normal_equations : callable
        ``(theta (N, P), rows (N,)) -> (cost (N,), J^T r (N, P), J^T J (N, P, P))`` per spectrum.
    theta0 : ndarray, shape (N, P)
        Start; the shared columns must be equal in every row.
    shared : ndarray of bool, shape (P,)
    lower, upper : ndarray, shape (P,)
    max_nfev : int
        Evaluations of the whole batch allowed.
    ftol, xtol : float
        Converged when an accepted step reduces the total cost by less than
        ``ftol`` (actual and predicted, relative) or moves every parameter by
        less than ``xtol`` (relative).

    Returns
    -------
    theta, cost, grad, hess, nfev, converged
        Per-spectrum parameters ``(N, P)``, costs, ``J^T r`` and ``J^T J`` at
        the solution, evaluations used and whether the tolerances were met.
    """
    n, p = theta0.shape
    s_idx, l_idx = np.nonzero(shared)[0], np.nonzero(~shared)[0]
    rows = np.arange(n)
    theta = np.clip(np.array(theta0, float), lower, upper)
    cost, grad, hess = normal_equations(theta, rows)
    nfev = 1
    total = float(cost.sum())
    if not np.isfinite(total):
        return theta, cost, grad, hess, nfev, False
    lam, nu = lambda0, 2.0
    converged = False
    lo_s, hi_s, lo_l, hi_l = lower[s_idx], upper[s_idx], lower[l_idx], upper[l_idx]
    while nfev < max_nfev:
        g_s, g_l = grad[:, s_idx].sum(axis=0), grad[:, l_idx]
        u, w, v = _blocks(hess, s_idx, l_idx)
        t_s, t_l = theta[0, s_idx], theta[:, l_idx]
        pin_s = _pinned(t_s, g_s, lo_s, hi_s)
        pin_l = _pinned(t_l, g_l, lo_l, hi_l)
        keep_s, keep_l = ~pin_s, ~pin_l
        w_free = w * keep_s[None, :, None] * keep_l[:, None, :]
        d_s, d_l = _schur_step(_damped(u, lam, pin_s), w_free, _damped(v, lam, pin_l), g_s * keep_s, g_l * keep_l)
        trial = np.empty_like(theta)
        trial[:, s_idx] = np.clip(t_s + d_s, lo_s, hi_s)
        trial[:, l_idx] = np.clip(t_l + d_l, lo_l, hi_l)
        c_t, g_t, h_t = normal_equations(trial, rows)
        nfev += 1
        total_t = float(c_t.sum())
        step = trial - theta
        st_s, st_l = step[0, s_idx], step[:, l_idx]
        # predicted reduction of the linearised model, with the undamped blocks
        quad = (st_s @ u @ st_s + 2.0 * np.einsum("s,nsl,nl->", st_s, w, st_l)
                + np.einsum("nl,nlk,nk->", st_l, v, st_l))
        predicted = -(2.0 * (g_s @ st_s + np.sum(g_l * st_l)) + quad) / max(total, 1e-300)
        reduction = (total - total_t) / max(total, 1e-300)
        small_step = bool(np.all(np.abs(step) <= xtol * (np.abs(theta) + xtol)))
        if np.isfinite(total_t) and total_t <= total:
            theta, cost, grad, hess, total = trial, c_t, g_t, h_t, total_t
            rho = reduction / predicted if predicted > 0 else 0.0
            lam = max(lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3), 1e-12)
            nu = 2.0
            if (reduction <= ftol and abs(predicted) <= ftol) or small_step:
                converged = True
                break
        else:
            lam *= nu
            nu *= 2.0
            if small_step or lam > 1e16:
                converged = True
                break
    return theta, cost, grad, hess, nfev, converged


def fit_global(problem: FitProblem, theta0: NDArray, shared: NDArray, *, max_nfev: int = 200,
               keep_jacobian: bool = True) -> tuple[BatchSolution, NDArray, NDArray]:
    """Fit all spectra of ``problem`` at once with the ``shared`` parameters in common.

    Parameters
    ----------
    problem : FitProblem
        The batch (only usable spectra).
    theta0 : ndarray, shape (N, P)
        Starting values (e.g. independent fits); shared parameters start at the median.
    shared : ndarray of bool, shape (P,)
        Parameters common to all spectra.
    max_nfev : int
        Evaluations of the whole batch allowed.
    keep_jacobian : bool
        Return the residual ``(N, M)`` and Jacobian ``(N, M, P)`` at the
        solution in the :class:`~specfit.engines.numpy_lm.BatchSolution` (else ``None``).

    Returns
    -------
    solution, covariance, n_varys
        Per-spectrum parameters in the full layout, covariance ``(N, P, P)``
        (shared blocks included, scaled by the pooled reduced chi-square) and
        the effective number of free parameters of each spectrum (its own plus
        its share of the common ones).
    """
    from specfit.engines.fused import compile_problem

    spec = problem.spec
    n, p = theta0.shape
    shared = np.asarray(shared, bool)
    s_idx, l_idx = np.nonzero(shared)[0], np.nonzero(~shared)[0]
    compiled = compile_problem(problem)
    if compiled is not None and not compiled.normal_equations_ready(start=True):
        compiled = None  # first run on this machine: compiling in the background, numpy path meanwhile
    evaluate = compiled.normal_equations if compiled else blocked_normal_equations(problem.residual_jacobian)
    start = np.array(theta0, float)
    start[:, s_idx] = np.median(start[:, s_idx], axis=0)
    theta, cost, grad, hess, nfev, converged = global_levenberg_marquardt(
        evaluate, start, shared, spec.lower, spec.upper, max_nfev=max_nfev)
    g_s = grad[:, s_idx].sum(axis=0)
    pin = _pinned(theta, grad, spec.lower, spec.upper)
    pin[:, s_idx] = _pinned(theta[0, s_idx], g_s, spec.lower[s_idx], spec.upper[s_idx])
    free_s = ~pin[0, s_idx]
    free_l = ~pin[:, l_idx]
    total_free = int(free_s.sum() + free_l.sum())
    dof = int(problem.n_points.sum()) - total_free
    s2 = float(cost.sum() / dof) if dof > 0 else np.nan
    cov = block_covariance_from_normal(hess, s_idx, l_idx) * s2
    n_varys = free_l.sum(axis=1) + free_s.sum() / n
    success = np.full(n, bool(converged and np.isfinite(cost).all()))
    r = j = None
    if keep_jacobian:
        r, j = (compiled or problem).residual_jacobian(theta, np.arange(n))
    sol = BatchSolution(theta, r, j, cost, np.full(n, nfev), success, pin)
    return sol, cov, n_varys


def block_covariance_from_normal(hess: NDArray, s_idx: NDArray, l_idx: NDArray) -> NDArray:
    """Unscaled ``(J^T J)^-1`` of the block-arrow problem, per spectrum in the full layout.

    Parameters
    ----------
    hess : ndarray, shape (N, P, P)
        Per-spectrum normal matrices ``J_i^T J_i`` (all parameters, full layout).
    s_idx, l_idx : ndarray of int
        Shared and local parameter indices.

    Returns
    -------
    ndarray, shape (N, P, P)
        Shared-shared, shared-local and local-local blocks of the inverse of
        the stacked normal matrix, by the Schur complement; all NaN when singular.
        Parameters resting on a bound stay in, as for independent fits.
    """
    n, p, _ = hess.shape
    s_idx, l_idx = np.asarray(s_idx, int), np.asarray(l_idx, int)
    n_s = s_idx.size
    u, w, v = _blocks(hess, s_idx, l_idx)
    cov = np.full((n, p, p), np.nan)
    try:
        v_inv = np.linalg.inv(v)
        x = np.einsum("nlk,nsk->nls", v_inv, w)  # V^-1 W^T
        schur = u - np.einsum("nsl,nlt->st", w, x)
        s_ss = np.linalg.inv(schur) if n_s else np.zeros((0, 0))
    except np.linalg.LinAlgError:
        return cov
    s_sl = -np.einsum("st,nlt->nsl", s_ss, x)
    s_ll = v_inv + np.einsum("nls,st,nkt->nlk", x, s_ss, x)
    cov[:, s_idx[:, None], s_idx[None, :]] = s_ss
    cov[:, s_idx[:, None], l_idx[None, :]] = s_sl
    cov[:, l_idx[:, None], s_idx[None, :]] = np.transpose(s_sl, (0, 2, 1))
    cov[:, l_idx[:, None], l_idx[None, :]] = s_ll
    return cov



@register_engine
class GlobalEngine(Engine):
    """Independent batch fits as a start, then one fit of the whole batch with shared parameters."""

    name = "global"
    shares = True
    selectable = False  # chosen by share=..., not by name

    def shared_mask(self, problem: FitProblem, options: EngineOptions) -> NDArray:
        wanted = options.shared_groups
        return np.array([g in wanted for g in problem.spec.groups], bool)

    def path(self, spec: object) -> str:
        return BatchEngine().path(spec)  # the per-spectrum start; the global step is numpy (block-arrow LM)

    def solve(self, problem: FitProblem, theta0: NDArray, options: EngineOptions) -> EngineResult:
        start = BatchEngine().solve(problem, theta0, options)
        mask = self.shared_mask(problem, options)
        if not mask.any() or problem.y.shape[0] < 2:
            return start
        from specfit.engines.fused import compile_problem

        compiled = compile_problem(problem)
        building = compiled is not None and not compiled.normal_equations_ready(start=False)
        sol, _, _ = fit_global(problem, start.theta, mask, max_nfev=options.max_nfev or 200, keep_jacobian=False)
        message = ["" if ok else "global fit did not converge" for ok in sol.success]
        path = start.path or (f"{self.path(problem.spec)}; the shared-parameter step on numpy (its compiled "
                              "kernel was being built for this machine)" if building else "")
        return EngineResult(sol.theta, sol.cost, sol.nfev, sol.success, message, path=path)
