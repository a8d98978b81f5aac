"""The batch engine: vectorised Levenberg–Marquardt over many independent spectra.

With numba, every spectrum iterates to convergence inside one compiled loop
(:mod:`specfit.engines.compiled_lm` on the fused kernels of
:mod:`specfit.engines.fused`); without it, or for a model the kernels do not
cover, the numpy implementation (:mod:`specfit.engines.numpy_lm`) advances
all spectra together.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specfit.engines.base import Engine, EngineOptions, EngineResult, register_engine
from specfit.engines.compiled_lm import compiled_levenberg_marquardt, lm_ready
from specfit.engines.fused import compile_problem, not_compiled_reason
from specfit.engines.numpy_lm import levenberg_marquardt
from specfit.model.problem import FitProblem


@register_engine
class BatchEngine(Engine):
    """Vectorised Levenberg–Marquardt (:func:`specfit.engines.numpy_lm.levenberg_marquardt`)."""

    name = "batch"

    def path(self, spec: object) -> str:
        reason = not_compiled_reason(spec)
        return f"numpy ({reason})" if reason else "compiled (numba)"

    def solve(self, problem: FitProblem, theta0: NDArray, options: EngineOptions) -> EngineResult:
        spec = problem.spec
        max_nfev = options.max_nfev or 400
        compiled = compile_problem(problem)  # fused numba kernel, None without numba or for other models
        path = ""
        if compiled is not None and not lm_ready(compiled):
            compiled = None  # first run on this machine: compiling in the background, numpy path meanwhile
            path = BUILDING
        hess = None
        if compiled is not None:
            theta, cost, nfev, success, hess = _compiled_solve(compiled, theta0, spec.lower, spec.upper, max_nfev)
        else:
            sol = levenberg_marquardt(problem.residual_jacobian, theta0, spec.lower, spec.upper,
                                      max_nfev=max_nfev, keep_jacobian=False)
            theta, cost, nfev, success = sol.theta, sol.cost, sol.nfev, sol.success
        message = ["" if ok else f"did not converge within {max_nfev} evaluations" for ok in success]
        return EngineResult(theta, cost, nfev, success, message, hess, path)


#: ``EngineResult.path`` of spectra fitted on the numpy path while the compiled engine is built.
BUILDING = "numpy (the compiled engine was being built for this machine)"


def _compiled_solve(compiled, theta0: NDArray, lower: NDArray, upper: NDArray,
                    max_nfev: int) -> tuple[NDArray, NDArray, NDArray, NDArray, NDArray]:
    """Compiled Levenberg–Marquardt, spectrum by spectrum (:mod:`specfit.engines.compiled_lm`), rescued by projection.

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


