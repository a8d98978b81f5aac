"""The facts every engine's answer is judged by, computed once from the final Jacobian.

Which parameters rest on a bound, how many parameters were free, the
covariance and its scaling are computed by :func:`finalize` from the final
normal equations, whatever engine produced the parameters.  So the batch
engine, lmfit and the global fit cannot disagree on ``at_bound`` or on a
standard error unless they disagree on the minimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from specfit.engines.base import EngineResult
from specfit.engines.fused import compile_problem
from specfit.engines.global_lm import block_covariance_from_normal
from specfit.engines.numpy_lm import blocked_normal_equations, covariance_from_normal
from specfit.model.problem import FitProblem

#: Relative distance to a bound (of the bound's range, or of the bound's size when the
#: range is open) below which a parameter "rests on" that bound.  lmfit's bounded
#: parameters end within ~1e-8 of their bound, the batch engine exactly on it.
BOUND_RTOL = 1e-6


@dataclass
class Solution:
    """An engine's answer with the facts computed once for every engine."""

    theta: NDArray  # (N, P)
    cost: NDArray  # (N,)
    nfev: NDArray  # (N,)
    success: NDArray  # (N,)
    message: list[str]
    at_bound: NDArray  # (N, P)
    cov: NDArray  # (N, P, P) scaled covariance, NaN where not estimable
    n_varys: NDArray  # (N,) free parameters (a global fit's shared ones counted pro rata)



def at_bound(theta: NDArray, lower: NDArray, upper: NDArray) -> NDArray:
    """Parameters resting on a bound of their range, ``(N, P)`` bool.

    One definition for every engine: within :data:`BOUND_RTOL` of the bound,
    relative to the range (or to the bound's magnitude, at least 1, when the
    other side is open).
    """
    span = upper - lower
    finite = np.isfinite(span)
    scale_lo = np.where(finite, span, np.maximum(np.abs(np.where(np.isfinite(lower), lower, 0.0)), 1.0))
    scale_hi = np.where(finite, span, np.maximum(np.abs(np.where(np.isfinite(upper), upper, 0.0)), 1.0))
    with np.errstate(invalid="ignore"):
        near_lo = np.isfinite(lower) & (theta - lower <= BOUND_RTOL * scale_lo)
        near_hi = np.isfinite(upper) & (upper - theta <= BOUND_RTOL * scale_hi)
    return (near_lo | near_hi) & np.isfinite(theta)


def finalize(problem: FitProblem, result: EngineResult, shared: NDArray | None = None) -> Solution:
    """Bounds, free-parameter count and scaled covariance of ``result``, from the final Jacobian.

    The covariance is ``s^2 (J^T J)^-1`` (Bevington & Robinson, *Data
    Reduction and Error Analysis*, 3rd ed., ch. 8) with ``s^2 = chi^2 / (n -
    n_free)``, ``n_free`` the parameters not resting on a bound; parameters on
    a bound keep their place in ``J^T J`` (their correlations still widen the
    other errors, as in lmfit) and their own errors are reported NaN
    downstream.  For a global fit (``shared`` parameters) the block-arrow
    ``J^T J`` is inverted by its Schur complement and ``s^2`` pooled over the
    series.
    """
    spec = problem.spec
    n = result.theta.shape[0]
    rows = np.arange(n)
    bound = at_bound(result.theta, spec.lower, spec.upper)
    if result.hess is not None:  # the engine's last accepted evaluation: no need to evaluate again
        cost, hess = result.cost, result.hess
    else:
        compiled = compile_problem(problem)  # normal equations only: no (N, M, P) Jacobian is formed
        if compiled is not None and not compiled.normal_equations_ready():
            compiled = None  # compiling in the background (first run on this machine): numpy meanwhile
        normal = compiled.normal_equations if compiled else blocked_normal_equations(problem.residual_jacobian)
        with np.errstate(all="ignore"):
            cost, _, hess = normal(result.theta, rows)
        cost = np.where(np.isfinite(cost), cost, result.cost)
    n_points = problem.n_points
    if shared is None or not shared.any() or n < 2:
        n_varys = (~bound).sum(axis=1).astype(float)
        with np.errstate(all="ignore"):
            cov = covariance_from_normal(hess, cost, n_points, scale=False)
            dof = n_points - n_varys
            s2 = np.where(dof > 0, cost / np.maximum(dof, 1), np.nan)
        cov = cov * s2[:, None, None]
    else:
        s_idx, l_idx = np.nonzero(shared)[0], np.nonzero(~shared)[0]
        free_shared = ~bound[0, s_idx]
        n_varys = (~bound[:, l_idx]).sum(axis=1) + free_shared.sum() / n
        dof = float(n_points.sum() - n_varys.sum())
        s2 = float(cost.sum() / dof) if dof > 0 else np.nan
        with np.errstate(all="ignore"):
            cov = block_covariance_from_normal(hess, s_idx, l_idx) * s2
    return Solution(theta=result.theta, cost=cost, nfev=result.nfev, success=result.success,
                    message=list(result.message), at_bound=bound, cov=cov, n_varys=n_varys)
