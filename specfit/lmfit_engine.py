"""The same model fitted spectrum by spectrum with lmfit (reference engine).

lmfit sees only the free parameters of the compiled :class:`ModelSpec` -- no
parameter expressions -- and the analytic Jacobian, so it fits exactly the
model the batch engine fits; it is the reference the batch engine is tested
and benchmarked against.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .engine import BatchSolution
from .problem import FitProblem


def fit_with_lmfit(problem: FitProblem, theta0: NDArray, *, max_nfev: int = 2000) -> tuple[BatchSolution, NDArray]:
    """Fit every spectrum with ``lmfit.minimize(method="leastsq")``; returns solution and covariance."""
    import lmfit

    spec = problem.spec
    n, p = theta0.shape
    names = [f"p{i}" for i in range(p)]
    theta = theta0.copy()
    cov = np.full((n, p, p), np.nan)
    cost = np.zeros(n)
    nfev = np.zeros(n, int)
    success = np.zeros(n, bool)
    for row in range(n):
        params = lmfit.Parameters()
        for name, value, lo, hi in zip(names, theta0[row], spec.lower, spec.upper):
            params.add(name, value=float(value), min=float(lo), max=float(hi))
        rows = np.array([row])

        def residual(pars, rows=rows):
            vec = np.array([pars[k].value for k in names])[None]
            return problem.residual(vec, rows)[0]

        result = lmfit.minimize(residual, params, method="leastsq", max_nfev=max_nfev)
        theta[row] = [result.params[k].value for k in names]
        cost[row] = float(np.sum(result.residual**2))
        nfev[row] = result.nfev
        success[row] = bool(result.success)
        if result.covar is not None:
            varying = [i for i, k in enumerate(names) if result.params[k].vary]
            cov[row][np.ix_(varying, varying)] = result.covar
    r, jac = problem.residual_jacobian(theta, np.arange(n))
    at_bound = (np.isclose(theta, spec.lower) | np.isclose(theta, spec.upper)) & np.isfinite(theta)
    return BatchSolution(theta, r, jac, cost, nfev, success, at_bound), cov
