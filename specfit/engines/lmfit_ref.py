"""The same model fitted spectrum by spectrum with lmfit (reference engine).

lmfit sees only the free parameters of the compiled :class:`ModelSpec` -- no
parameter expressions -- and the model's analytic Jacobian (``Dfun``; lmfit
rescales it for its bounded-parameter transformation), so it fits exactly the
model the batch engine fits; it is the reference the batch engine is tested
and benchmarked against.  Covariance and bounds are not taken from lmfit but
computed for every engine alike by :func:`specfit.engines.finalize`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specfit.engines.base import Engine, EngineOptions, EngineResult, register_engine
from specfit.model.problem import FitProblem


def fit_with_lmfit(problem: FitProblem, theta0: NDArray, *, max_nfev: int = 2000,
                   tol: float = 1e-12) -> tuple[NDArray, NDArray, NDArray, NDArray, list[str]]:
    """Fit every spectrum with ``lmfit.minimize(method="leastsq")``.

    Parameters
    ----------
    problem : FitProblem
        ``N`` spectra and their compiled model.
    theta0 : ndarray, shape (N, P)
        Starting values.
    max_nfev : int
        Model evaluations allowed per spectrum.
    tol : float
        MINPACK's ``ftol`` and ``xtol`` (the batch engine's defaults, so both
        engines stop at the same precision).

    Returns
    -------
    theta (N, P), cost (N,), nfev (N,), success (N,), message (list of N str)
        A spectrum on which lmfit raises (overflow, non-finite model) comes
        back with ``success=False`` and the reason; the others go on.
    """
    import lmfit

    spec = problem.spec
    n, p = theta0.shape
    names = [f"p{i}" for i in range(p)]
    theta = theta0.copy()
    cost = np.full(n, np.nan)
    nfev = np.zeros(n, int)
    success = np.zeros(n, bool)
    message = [""] * n
    for row in range(n):
        params = lmfit.Parameters()
        for name, value, lo, hi in zip(names, theta0[row], spec.lower, spec.upper):
            params.add(name, value=float(value), min=float(lo), max=float(hi))
        rows = np.array([row])

        def vector(pars) -> NDArray:
            return np.array([pars[k].value for k in names])[None]

        def residual(pars, rows=rows):
            return problem.residual(vector(pars), rows)[0]

        def jacobian(pars, rows=rows):
            return problem.residual_jacobian(vector(pars), rows)[1][0]

        try:
            with np.errstate(all="ignore"):
                result = lmfit.minimize(residual, params, method="leastsq", Dfun=jacobian, max_nfev=max_nfev,
                                        ftol=tol, xtol=tol)
        except (ValueError, OverflowError, ArithmeticError, np.linalg.LinAlgError) as exc:
            message[row] = f"lmfit failed: {type(exc).__name__}: {' '.join(str(exc).split())}"
            theta[row] = np.nan
            continue
        theta[row] = [result.params[k].value for k in names]
        cost[row] = float(np.sum(result.residual**2))
        nfev[row] = result.nfev
        success[row] = bool(result.success) and np.isfinite(cost[row])
        if not success[row]:
            message[row] = f"did not converge ({' '.join(str(result.message).split())})"
    return theta, cost, nfev, success, message


@register_engine
class LmfitEngine(Engine):
    """lmfit's ``leastsq`` spectrum by spectrum (:mod:`specfit.engines.lmfit_ref`), analytic Jacobian."""

    name = "lmfit"
    allows_share = False  # spectrum by spectrum: nothing is shared
    uses_pilot_start = False  # the plain reference starts from the library values

    def solve(self, problem: FitProblem, theta0: NDArray, options: EngineOptions) -> EngineResult:
        theta, cost, nfev, success, message = fit_with_lmfit(problem, theta0, max_nfev=options.max_nfev or 2000)
        return EngineResult(theta, cost, nfev, success, message)
