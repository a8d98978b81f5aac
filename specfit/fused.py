"""Compiled, fused model + Jacobian + normal equations of a :class:`~specfit.problem.FitProblem`.

The numpy path evaluates the model, scatters every derivative into an
``(n, M, P)`` Jacobian, weights it and only then forms ``J^T J``: about a
dozen passes over memory per evaluation.  Here one compiled loop per spectrum
evaluates every line (Voigt through :func:`specfit.faddeeva.voigt_kernel`),
accumulates the derivatives of the parameter maps of :mod:`specfit.model`
into a small ``(M, P)`` scratch Jacobian, adds the in-fit background, weights,
and reduces at once to the cost, ``J^T r`` and ``J^T J`` -- no ``(n, M, P)``
array unless asked for.  Spectra run in parallel (numba ``prange``) when
called from the main thread.

The same mathematics as :func:`specfit.model.evaluate_with_jacobian` (tested
against it in ``tests/test_faddeeva.py``); supported: Gaussian, Lorentzian,
Voigt and pseudo-Voigt lines with ``none``, ``linear``, ``polynomial`` and
active ``shirley`` backgrounds.  Anything else gives ``None`` from
:func:`compile_problem` and the engines use the numpy path.  Needs numba (the
optional ``fast`` extra).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .faddeeva import HAVE_NUMBA, voigt_kernel
from .model import polynomial_basis
from .problem import FitProblem

__all__ = ["CompiledProblem", "compile_problem"]

#: Lineshape name -> kernel code.
LINESHAPE_CODES = {"gaussian": 0, "lorentzian": 1, "voigt": 2, "pseudo_voigt": 3}
#: In-fit background name -> kernel code.
BACKGROUND_CODES = {"none": 0, "linear": 1, "polynomial": 1, "shirley": 2}

_LN2 = float(np.log(2.0))
_GAUSS_NORM = float(2.0 * np.sqrt(np.log(2.0) / np.pi))


def _spectrum(i, theta, x, y, w, row, codes, pidx, pscale, poff, bg_code, bg_idx, basis_t,
              model, jt, t, g, gt, gs, rr):  # pragma: no cover - compiled below
    """Weighted residual ``rr`` and transposed Jacobian ``jt`` ``(P, M)`` of spectrum ``i`` (``row`` of ``y``/``w``)."""
    n_par, m_pts = jt.shape
    model[:] = 0.0
    jt[:, :] = 0.0
    for k in range(codes.size):
        ia, ic, iw, i_s = pidx[k, 0], pidx[k, 1], pidx[k, 2], pidx[k, 3]
        area = pscale[k, 0] * theta[i, ia] + poff[k, 0] if ia >= 0 else poff[k, 0]
        center = pscale[k, 1] * theta[i, ic] + poff[k, 1] if ic >= 0 else poff[k, 1]
        fwhm = pscale[k, 2] * theta[i, iw] + poff[k, 2] if iw >= 0 else poff[k, 2]
        shape = pscale[k, 3] * theta[i, i_s] + poff[k, 3] if i_s >= 0 else poff[k, 3]
        fwhm = max(fwhm, 1e-300)
        code = codes[k]
        inv = 1.0 / fwhm
        for m in range(m_pts):
            t[m] = (x[m] - center) * inv
        if code == 2:
            rr[:] = shape
            voigt_kernel(t, rr, g, gt, gs, True)
        elif code == 0:
            for m in range(m_pts):
                gauss = _GAUSS_NORM * np.exp(-4.0 * _LN2 * t[m] * t[m])
                g[m] = gauss
                gt[m] = -8.0 * _LN2 * t[m] * gauss
        elif code == 1:
            for m in range(m_pts):
                d = 1.0 + 4.0 * t[m] * t[m]
                g[m] = (2.0 / np.pi) / d
                gt[m] = -(16.0 / np.pi) * t[m] / (d * d)
        else:
            for m in range(m_pts):
                gauss = _GAUSS_NORM * np.exp(-4.0 * _LN2 * t[m] * t[m])
                d = 1.0 + 4.0 * t[m] * t[m]
                lor = (2.0 / np.pi) / d
                g[m] = (1.0 - shape) * gauss + shape * lor
                gt[m] = (1.0 - shape) * (-8.0 * _LN2 * t[m] * gauss) + shape * (-(16.0 / np.pi) * t[m] / (d * d))
                gs[m] = lor - gauss
        s = area * inv
        for m in range(m_pts):
            model[m] += s * g[m]
        if ia >= 0:
            c = pscale[k, 0] * inv
            for m in range(m_pts):
                jt[ia, m] += c * g[m]
        if ic >= 0:
            c = -pscale[k, 1] * s * inv
            for m in range(m_pts):
                jt[ic, m] += c * gt[m]
        if iw >= 0:
            c = -pscale[k, 2] * s * inv
            for m in range(m_pts):
                jt[iw, m] += c * (g[m] + t[m] * gt[m])
        if i_s >= 0 and code >= 2:
            c = pscale[k, 3] * s
            for m in range(m_pts):
                jt[i_s, m] += c * gs[m]
    if bg_code == 1:
        for b in range(bg_idx.size):
            coef = theta[i, bg_idx[b]]
            for m in range(m_pts):
                jt[bg_idx[b], m] = basis_t[b, m]
                model[m] += coef * basis_t[b, m]
    elif bg_code == 2:  # active Shirley: low + step * running trapezoid integral of the peaks
        i_low, i_step = bg_idx[0], bg_idx[1]
        step = theta[i, i_step]
        low = theta[i, i_low]
        for p in range(n_par):
            if p == i_low or p == i_step:
                continue
            cum = 0.0
            prev = jt[p, 0]
            for m in range(1, m_pts):
                cur = jt[p, m]
                cum += 0.5 * (x[m] - x[m - 1]) * (cur + prev)
                prev = cur
                jt[p, m] = cur + step * cum
        cum = 0.0
        prev = model[0]
        model[0] = prev + low
        jt[i_low, 0] = 1.0
        jt[i_step, 0] = 0.0
        for m in range(1, m_pts):
            cur = model[m]
            cum += 0.5 * (x[m] - x[m - 1]) * (cur + prev)
            prev = cur
            model[m] = cur + low + step * cum
            jt[i_low, m] = 1.0
            jt[i_step, m] = cum
    for m in range(m_pts):
        rr[m] = w[row, m] * (model[m] - y[row, m])
    for p in range(n_par):
        for m in range(m_pts):
            jt[p, m] *= w[row, m]


def _kernel(theta, rows, x, y, w, codes, pidx, pscale, poff, bg_code, bg_idx, basis_t,
            cost, grad, hess, out_r, out_j, store):  # pragma: no cover - compiled below
    n, n_par = theta.shape
    m_pts = x.size
    for i in numba.prange(n):
        model = np.empty(m_pts)
        jt = np.empty((n_par, m_pts))
        t = np.empty(m_pts)
        g = np.empty(m_pts)
        gt = np.empty(m_pts)
        gs = np.empty(m_pts)
        rr = np.empty(m_pts)
        _spectrum_c(i, theta, x, y, w, rows[i], codes, pidx, pscale, poff, bg_code, bg_idx, basis_t,
                    model, jt, t, g, gt, gs, rr)
        cost[i] = np.dot(rr, rr)
        grad[i] = np.dot(jt, rr)
        hess[i] = np.dot(jt, jt.T)
        if store:
            out_r[i] = rr
            out_j[i] = jt.T


if HAVE_NUMBA:
    import numba

    _spectrum_c = numba.njit(cache=True)(_spectrum)
    _kernel_serial = numba.njit(cache=True)(_kernel)
    _kernel_parallel = numba.njit(cache=True, parallel=True)(_kernel)


@dataclass
class CompiledProblem:
    """A :class:`~specfit.problem.FitProblem` with compiled evaluations (see :func:`compile_problem`)."""

    problem: FitProblem
    codes: NDArray
    pidx: NDArray
    pscale: NDArray
    poff: NDArray
    bg_code: int
    bg_idx: NDArray
    basis: NDArray
    x: NDArray
    y: NDArray
    weights: NDArray

    def _run(self, theta: NDArray, rows: NDArray, store: bool):
        theta = np.ascontiguousarray(theta, float)
        rows = np.ascontiguousarray(rows, np.int64)
        n, p = theta.shape
        m = self.problem.x.size
        cost, grad, hess = np.empty(n), np.empty((n, p)), np.empty((n, p, p))
        out_r = np.empty((n, m)) if store else np.empty((0, 0))
        out_j = np.empty((n, m, p)) if store else np.empty((0, 0, 0))
        kernel = _kernel_parallel if threading.current_thread() is threading.main_thread() else _kernel_serial
        kernel(theta, rows, self.x, self.y, self.weights, self.codes, self.pidx,
               self.pscale, self.poff, self.bg_code, self.bg_idx, self.basis, cost, grad, hess, out_r, out_j, store)
        return cost, grad, hess, out_r, out_j

    def normal_equations(self, theta: NDArray, rows: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """Cost ``(n,)``, ``J^T r`` ``(n, P)`` and ``J^T J`` ``(n, P, P)`` of the spectra ``rows`` at ``theta``."""
        cost, grad, hess, _, _ = self._run(theta, rows, False)
        return cost, grad, hess

    def residual_jacobian(self, theta: NDArray, rows: NDArray) -> tuple[NDArray, NDArray]:
        """Weighted residual ``(n, M)`` and Jacobian ``(n, M, P)``, as ``FitProblem.residual_jacobian``."""
        _, _, _, r, j = self._run(theta, rows, True)
        return r, j


def compile_problem(problem: FitProblem) -> CompiledProblem | None:
    """Compiled evaluations of ``problem``, or ``None`` (numba absent, or a lineshape/background not covered)."""
    if not HAVE_NUMBA:
        return None
    spec = problem.spec
    if spec.background not in BACKGROUND_CODES or any(t.lineshape not in LINESHAPE_CODES for t in spec.terms):
        return None
    maps = [(t.area, t.center, t.fwhm, t.shape) for t in spec.terms]
    codes = np.array([LINESHAPE_CODES[t.lineshape] for t in spec.terms], np.int64)
    pidx = np.array([[pm.index for pm in row] for row in maps], np.int64).reshape(-1, 4)
    pscale = np.array([[pm.scale for pm in row] for row in maps], float).reshape(-1, 4)
    poff = np.array([[pm.offset for pm in row] for row in maps], float).reshape(-1, 4)
    bg_code = BACKGROUND_CODES[spec.background]
    bg_idx = np.array(spec.background_index, np.int64)
    basis = np.ascontiguousarray(polynomial_basis(spec, problem.x).T) if bg_code == 1 else np.zeros((1, 1))
    if bg_code == 2 and bg_idx.size != 2:
        return None
    contiguous = [np.ascontiguousarray(a, float) for a in (problem.x, problem.y, problem.weights)]
    return CompiledProblem(problem, codes, pidx, pscale, poff, bg_code, bg_idx, basis, *contiguous)
