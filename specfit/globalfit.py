"""Global fits: chosen parameters shared by every spectrum of a batch.

``share=("center", "width")`` gives each component one center and one set of
width/shape parameters for the whole series, while areas and backgrounds stay
per spectrum.  The stacked problem is solved with scipy's trust-region
reflective least squares (bounds handled natively); the Jacobian is
block-arrow shaped (shared columns for every spectrum, a diagonal block per
spectrum) and is passed sparse when large.  Its covariance is inverted blockwise
(Schur complement), so a long series never needs the full dense inverse.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import least_squares

from .engine import BatchSolution
from .errors import FitError
from .problem import FitProblem

#: ``share`` words and the parameter groups they tie.
SHARE_GROUPS = {"center": ("center",), "width": ("width", "shape"), "fwhm": ("width",), "shape": ("shape",)}


def shared_mask(groups: tuple[str, ...], share: tuple[str, ...]) -> NDArray:
    """Boolean mask of the parameters shared across spectra."""
    wanted: set[str] = set()
    for word in share:
        if word not in SHARE_GROUPS:
            raise FitError(f"cannot share {word!r}; choose from {', '.join(SHARE_GROUPS)}")
        wanted.update(SHARE_GROUPS[word])
    return np.array([g in wanted for g in groups], bool)


def fit_global(problem: FitProblem, theta0: NDArray, shared: NDArray, *,
               max_nfev: int = 200) -> tuple[BatchSolution, NDArray, NDArray]:
    """Fit all spectra of ``problem`` at once with the ``shared`` parameters in common.

    Parameters
    ----------
    problem : FitProblem
        The batch (only usable spectra).
    theta0 : ndarray, shape (N, P)
        Starting values (e.g. independent fits); shared parameters start at the median.
    shared : ndarray of bool, shape (P,)
        Parameters common to all spectra.

    Returns
    -------
    solution, covariance, n_varys
        Per-spectrum parameters in the full layout, covariance ``(N, P, P)``
        (shared blocks included) and the effective number of free parameters
        of each spectrum (its own plus its share of the common ones).
    """
    spec = problem.spec
    n, p = theta0.shape
    s_idx = np.nonzero(shared)[0]
    l_idx = np.nonzero(~shared)[0]
    n_s, n_l = s_idx.size, l_idx.size
    rows = np.arange(n)
    lower = np.concatenate([spec.lower[s_idx], np.tile(spec.lower[l_idx], n)])
    upper = np.concatenate([spec.upper[s_idx], np.tile(spec.upper[l_idx], n)])

    def unpack(z: NDArray) -> NDArray:
        theta = np.empty((n, p))
        theta[:, s_idx] = z[:n_s]
        theta[:, l_idx] = z[n_s:].reshape(n, n_l)
        return theta

    def fun(z: NDArray) -> NDArray:
        return problem.residual(unpack(z), rows).ravel()

    m = problem.x.size
    big = n * m * (n_s + n * n_l) > 2e7

    def jac(z: NDArray):
        _, j = problem.residual_jacobian(unpack(z), rows)
        shared_cols = j[:, :, s_idx].reshape(n * m, n_s)
        local = j[:, :, l_idx]
        if not big:
            out = np.zeros((n * m, n_s + n * n_l))
            out[:, :n_s] = shared_cols
            for i in range(n):
                out[i * m:(i + 1) * m, n_s + i * n_l:n_s + (i + 1) * n_l] = local[i]
            return out
        return sparse.hstack([sparse.csr_matrix(shared_cols), sparse.block_diag(list(local), format="csr")],
                             format="csr")

    z0 = np.concatenate([np.median(theta0[:, s_idx], axis=0), theta0[:, l_idx].ravel()])
    z0 = np.clip(z0, lower, upper)
    # trf needs strictly feasible starts
    span = np.where(np.isfinite(upper - lower), upper - lower, 1.0)
    z0 = np.clip(z0, lower + 1e-10 * span, upper - 1e-10 * span)
    result = least_squares(fun, z0, jac=jac, bounds=(lower, upper), method="trf", x_scale="jac",
                           ftol=1e-12, xtol=1e-12, gtol=1e-12, max_nfev=max_nfev,
                           tr_solver="lsmr" if big else "exact")
    theta = unpack(result.x)
    r, j = problem.residual_jacobian(theta, rows)
    cost = np.einsum("nm,nm->n", r, r)
    pinned = result.active_mask != 0
    free_s = ~pinned[:n_s]
    free_l = ~pinned[n_s:].reshape(n, n_l)
    at_bound = np.zeros((n, p), bool)
    at_bound[:, s_idx] = ~free_s
    at_bound[:, l_idx] = ~free_l
    total_free = int(free_s.sum() + free_l.sum())
    n_points = problem.n_points
    dof = int(n_points.sum()) - total_free
    s2 = float(cost.sum() / dof) if dof > 0 else np.nan
    cov = block_covariance(j, s_idx, l_idx) * s2
    n_varys = free_l.sum(axis=1) + free_s.sum() / n
    success = np.full(n, bool(result.success) and result.status > 0)
    nfev = np.full(n, int(result.nfev))
    return BatchSolution(theta, r, j, cost, nfev, success, at_bound), cov, n_varys


def block_covariance(j: NDArray, s_idx: NDArray, l_idx: NDArray) -> NDArray:
    """Unscaled ``(J^T J)^-1`` of the block-arrow problem, per spectrum in the full layout.

    Parameters resting on a bound stay in, as for independent fits (see ``fitting._solve``).
    """
    n, _, p = j.shape
    a = j[:, :, s_idx]
    b = j[:, :, l_idx]
    n_s = s_idx.size
    u = np.einsum("nms,nmt->st", a, a)
    w = np.einsum("nms,nml->nsl", a, b)
    v = np.einsum("nml,nmk->nlk", b, b)
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


_block_covariance = block_covariance  # old name, kept until every caller uses the public one
