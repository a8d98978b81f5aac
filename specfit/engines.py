"""Engines behind one interface, and the facts every engine's answer is judged by.

An engine solves a :class:`~specfit.problem.FitProblem` from a start
``theta0`` and returns an :class:`EngineResult` (parameters, cost, model
evaluations, convergence, a message per spectrum).  Everything a user reads
about the quality of that answer -- which parameters rest on a bound, how many
parameters were free, the covariance and its scaling -- is computed once, by
:func:`finalize`, from the final Jacobian, whatever engine produced the
parameters.  So the batch engine, lmfit and the global fit cannot disagree on
``at_bound`` or on a standard error unless they disagree on the minimum.

Engines are registered by name in :data:`ENGINES` (astropy.modeling's
``Fitter`` pattern: one interface, the same tests run over every engine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .engine import blocked_normal_equations, covariance_from_normal, levenberg_marquardt
from .globalfit import block_covariance_from_normal, fit_global
from .options import SHARE_GROUPS, FitOptions
from .problem import FitProblem

#: Relative distance to a bound (of the bound's range, or of the bound's size when the
#: range is open) below which a parameter "rests on" that bound.  lmfit's bounded
#: parameters end within ~1e-8 of their bound, the batch engine exactly on it.
BOUND_RTOL = 1e-6


@dataclass
class EngineResult:
    """What an engine found for ``N`` spectra of ``P`` parameters."""

    theta: NDArray  # (N, P)
    cost: NDArray  # (N,) sum of squared weighted residuals
    nfev: NDArray  # (N,) model evaluations
    success: NDArray  # (N,) converged
    message: list[str]  # per spectrum, "" when converged cleanly
    hess: NDArray | None = None  # (N, P, P) J^T J at theta when the engine has it (finalize then re-uses it)


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


class Engine:
    """Interface of a fitting engine; subclasses implement :meth:`solve`."""

    name = ""
    #: whether the engine fits parameters shared across the batch (``share=...``)
    shares = False

    def solve(self, problem: FitProblem, theta0: NDArray, options: FitOptions) -> EngineResult:
        raise NotImplementedError

    def shared_mask(self, problem: FitProblem, options: FitOptions) -> NDArray:
        """Parameters common to every spectrum (none for independent fits)."""
        return np.zeros(problem.spec.n_params, bool)


class BatchEngine(Engine):
    """Vectorised Levenberg–Marquardt (:func:`specfit.engine.levenberg_marquardt`)."""

    name = "batch"

    def solve(self, problem: FitProblem, theta0: NDArray, options: FitOptions) -> EngineResult:
        from .fused import compile_problem
        from .fused_lm import lm_ready

        spec = problem.spec
        max_nfev = options.max_nfev or 400
        compiled = compile_problem(problem)  # fused numba kernel, None without numba or for other models
        if compiled is not None and not lm_ready(compiled):
            compiled = None  # first run on this machine: compiling in the background, numpy path meanwhile
        hess = None
        if compiled is not None:
            theta, cost, nfev, success, hess = _compiled_solve(compiled, theta0, spec.lower, spec.upper, max_nfev)
        else:
            sol = levenberg_marquardt(problem.residual_jacobian, theta0, spec.lower, spec.upper,
                                      max_nfev=max_nfev, keep_jacobian=False)
            theta, cost, nfev, success = sol.theta, sol.cost, sol.nfev, sol.success
        message = ["" if ok else f"did not converge within {max_nfev} evaluations" for ok in success]
        return EngineResult(theta, cost, nfev, success, message, hess)


def _compiled_solve(compiled, theta0: NDArray, lower: NDArray, upper: NDArray,
                    max_nfev: int) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """Compiled Levenberg–Marquardt, spectrum by spectrum (:mod:`specfit.fused_lm`), rescued by projection.

    Plain steps first, so every spectrum that converges gets plain
    Levenberg–Marquardt's answer (as lmfit would).  Those that do not (slow
    progress along the narrow valleys of strongly overlapped bands: with 6
    free-shape Voigts about 5 % stop at ``max_nfev``) are refitted from the same
    start with the areas and background coefficients solved exactly at every
    evaluation (variable projection, G. H. Golub & V. Pereyra, Inverse
    Problems 19, R1 (2003)) and the better answer kept (:func:`keep_better`).
    Projection is not the first choice: a coefficient it holds on a bound (an
    area at 0) hides its line from the nonlinear parameters and can stall the
    fit short of the plain minimum (measured on a mis-referenced XPS C 1s).
    """
    from .fused_lm import compiled_levenberg_marquardt

    found = compiled_levenberg_marquardt(compiled, theta0, lower, upper, max_nfev=max_nfev)
    success = found[3]
    redo = np.nonzero(~success & np.all(np.isfinite(theta0), axis=1))[0]
    if compiled.lin_idx.size and redo.size:
        lo = np.broadcast_to(lower, found[0].shape)[redo]
        hi = np.broadcast_to(upper, found[0].shape)[redo]
        other = compiled_levenberg_marquardt(compiled, theta0[redo], lo, hi, redo, project=True, max_nfev=max_nfev)
        keep_better(found, other, redo)
    return found


def keep_better(first: tuple, second: tuple, rows: NDArray) -> None:
    """Replace rows of ``first = (theta, cost, nfev, success, hess)`` by ``second`` (fits of ``rows``) where better.

    Better means a lower cost, or at the same cost (1e-9 relative) converged
    where the first was not.  Evaluations add up in ``first``'s ``nfev``.
    """
    theta, cost, nfev, success, hess = first
    s_theta, s_cost, s_nfev, s_success, s_hess = second
    nfev[rows] += s_nfev
    old_cost, old_ok = cost[rows], success[rows]
    same = np.abs(s_cost - old_cost) <= 1e-9 * np.abs(old_cost)
    better = np.isfinite(s_cost) & (~np.isfinite(old_cost) | (s_cost < old_cost) & ~same | same & s_success & ~old_ok)
    take = rows[better]
    theta[take], cost[take], success[take], hess[take] = (s_theta[better], s_cost[better], s_success[better],
                                                           s_hess[better])


class LmfitEngine(Engine):
    """lmfit's ``leastsq`` spectrum by spectrum (:mod:`specfit.lmfit_engine`), analytic Jacobian."""

    name = "lmfit"

    def solve(self, problem: FitProblem, theta0: NDArray, options: FitOptions) -> EngineResult:
        from .lmfit_engine import fit_with_lmfit

        theta, cost, nfev, success, message = fit_with_lmfit(problem, theta0, max_nfev=options.max_nfev or 2000)
        return EngineResult(theta, cost, nfev, success, message)


class GlobalEngine(Engine):
    """Independent batch fits as a start, then one fit of the whole batch with shared parameters."""

    name = "global"
    shares = True

    def shared_mask(self, problem: FitProblem, options: FitOptions) -> NDArray:
        wanted = options.shared_groups
        return np.array([g in wanted for g in problem.spec.groups], bool)

    def solve(self, problem: FitProblem, theta0: NDArray, options: FitOptions) -> EngineResult:
        start = BatchEngine().solve(problem, theta0, options)
        mask = self.shared_mask(problem, options)
        if not mask.any() or problem.y.shape[0] < 2:
            return start
        sol, _, _ = fit_global(problem, start.theta, mask, max_nfev=options.max_nfev or 200, keep_jacobian=False)
        message = ["" if ok else "global fit did not converge" for ok in sol.success]
        return EngineResult(sol.theta, sol.cost, sol.nfev, sol.success, message)


ENGINES: dict[str, type[Engine]] = {"batch": BatchEngine, "lmfit": LmfitEngine, "global": GlobalEngine}


def engine_for(options: FitOptions, n_spectra: int) -> Engine:
    """The engine that honours ``options`` (a shared parameter needs the global engine)."""
    if options.share and n_spectra > 1 and any(g in SHARE_GROUPS for g in options.share):
        return GlobalEngine()
    return ENGINES[options.engine]()


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
    from .fused import compile_problem

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
