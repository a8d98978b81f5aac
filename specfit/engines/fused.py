"""Compiled, fused model + Jacobian + normal equations of a :class:`~specfit.model.problem.FitProblem`.

The numpy path evaluates the model, scatters every derivative into an
``(n, M, P)`` Jacobian, weights it and only then forms ``J^T J``: about a
dozen passes over memory per evaluation.  Here one compiled loop per spectrum
evaluates every line (Voigt through :func:`specfit.lineshapes.faddeeva.voigt_kernel`),
accumulates the derivatives of the parameter maps of :mod:`specfit.model`
into a small ``(M, P)`` scratch Jacobian, adds the in-fit background, weights,
and reduces at once to the cost, ``J^T r`` and ``J^T J`` -- no ``(n, M, P)``
array unless asked for.  Spectra run in parallel (a thread pool over one
compiled loop that releases the GIL) when called from the main thread.

The same mathematics as :func:`specfit.model.evaluate_with_jacobian` (tested
against it in ``tests/test_engines_compiled.py``); supported: Gaussian, Lorentzian,
Voigt and pseudo-Voigt lines with ``none``, ``linear``, ``polynomial`` and
active ``shirley`` backgrounds.  Anything else gives ``None`` from
:func:`compile_problem` and the engines use the numpy path.  Needs numba (a
dependency; without it the numpy path runs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from specfit.lineshapes.faddeeva import (
    HAVE_NUMBA,
    NUMBA_MISSING,
    for_chunks,
    kernel_ready,
    numpy_path_reason,
    voigt_kernel,
)
from specfit.model.infit.polynomial import polynomial_basis
from specfit.model.problem import FitProblem

__all__ = ["CompiledProblem", "compile_problem", "not_compiled_reason"]

#: Lineshape name -> kernel code.
LINESHAPE_CODES = {"gaussian": 0, "lorentzian": 1, "voigt": 2, "pseudo_voigt": 3}
#: In-fit background name -> kernel code.
BACKGROUND_CODES = {"none": 0, "linear": 1, "polynomial": 1, "shirley": 2}

_LN2 = float(np.log(2.0))
_GAUSS_NORM = float(2.0 * np.sqrt(np.log(2.0) / np.pi))


def _spectrum(theta_i, x, y_row, w_row, codes, pidx, pscale, poff, bg_code, bg_idx, basis_t, lin_idx, lin_lo,
              lin_hi, project, model, jt, unit, d_c, d_w, d_s, t, g, gt, gs, rr):  # pragma: no cover - compiled
    """Weighted residual ``rr`` and transposed Jacobian ``jt`` ``(P, M)`` of one spectrum at ``theta_i``.

    Every line is evaluated once per unit area (``unit``, and its center, FWHM and
    shape derivatives ``d_c, d_w, d_s``, each ``(T, M)``); the model is linear in
    the area and background parameters ``lin_idx``.  With ``project`` those are
    first replaced by their exact weighted least-squares values for the current
    nonlinear parameters (variable projection; a coefficient that would leave its
    bounds is held at the bound and the rest re-solved), written back into ``theta_i``.
    """
    n_par, m_pts = jt.shape
    n_terms = codes.size
    for k in range(n_terms):
        ic, iw, i_s = pidx[k, 1], pidx[k, 2], pidx[k, 3]
        center = pscale[k, 1] * theta_i[ic] + poff[k, 1] if ic >= 0 else poff[k, 1]
        fwhm = pscale[k, 2] * theta_i[iw] + poff[k, 2] if iw >= 0 else poff[k, 2]
        shape = pscale[k, 3] * theta_i[i_s] + poff[k, 3] if i_s >= 0 else poff[k, 3]
        fwhm = max(fwhm, 1e-300)
        code = codes[k]
        inv = 1.0 / fwhm
        for m in range(m_pts):
            t[m] = (x[m] - center) * inv
        if code == 2:
            rr[:] = shape
            voigt_kernel(t, rr, g, gt, gs, m_pts >= 0)  # a bool, not literal True: Python's signature
        elif code == 0:
            for m in range(m_pts):
                gauss = _GAUSS_NORM * np.exp(-4.0 * _LN2 * t[m] * t[m])
                g[m] = gauss
                gt[m] = -8.0 * _LN2 * t[m] * gauss
                gs[m] = 0.0
        elif code == 1:
            for m in range(m_pts):
                d = 1.0 + 4.0 * t[m] * t[m]
                g[m] = (2.0 / np.pi) / d
                gt[m] = -(16.0 / np.pi) * t[m] / (d * d)
                gs[m] = 0.0
        else:
            for m in range(m_pts):
                gauss = _GAUSS_NORM * np.exp(-4.0 * _LN2 * t[m] * t[m])
                d = 1.0 + 4.0 * t[m] * t[m]
                lor = (2.0 / np.pi) / d
                g[m] = (1.0 - shape) * gauss + shape * lor
                gt[m] = (1.0 - shape) * (-8.0 * _LN2 * t[m] * gauss) + shape * (-(16.0 / np.pi) * t[m] / (d * d))
                gs[m] = lor - gauss
        inv2 = inv * inv
        for m in range(m_pts):
            unit[k, m] = g[m] * inv
            d_c[k, m] = -inv2 * gt[m]
            d_w[k, m] = -inv2 * (g[m] + t[m] * gt[m])
            d_s[k, m] = gs[m] * inv
    if project:
        _project_linear(theta_i, x, y_row, w_row, pidx, pscale, bg_code, bg_idx, basis_t, lin_idx, lin_lo, lin_hi,
                        unit, rr)
    model[:] = 0.0
    jt[:, :] = 0.0
    for k in range(n_terms):
        ia, ic, iw, i_s = pidx[k, 0], pidx[k, 1], pidx[k, 2], pidx[k, 3]
        area = pscale[k, 0] * theta_i[ia] + poff[k, 0] if ia >= 0 else poff[k, 0]
        for m in range(m_pts):
            model[m] += area * unit[k, m]
        if ia >= 0:
            c = pscale[k, 0]
            for m in range(m_pts):
                jt[ia, m] += c * unit[k, m]
        if ic >= 0:
            c = pscale[k, 1] * area
            for m in range(m_pts):
                jt[ic, m] += c * d_c[k, m]
        if iw >= 0:
            c = pscale[k, 2] * area
            for m in range(m_pts):
                jt[iw, m] += c * d_w[k, m]
        if i_s >= 0 and codes[k] >= 2:
            c = pscale[k, 3] * area
            for m in range(m_pts):
                jt[i_s, m] += c * d_s[k, m]
    if bg_code == 1:
        for b in range(bg_idx.size):
            coef = theta_i[bg_idx[b]]
            for m in range(m_pts):
                jt[bg_idx[b], m] = basis_t[b, m]
                model[m] += coef * basis_t[b, m]
    elif bg_code == 2:  # active Shirley: low + step * running trapezoid integral of the peaks
        i_low, i_step = bg_idx[0], bg_idx[1]
        step = theta_i[i_step]
        low = theta_i[i_low]
        for p in range(n_par):
            if p == i_low or p == i_step:
                continue
            _shirley_inplace(jt[p], x, step)
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
        rr[m] = w_row[m] * (model[m] - y_row[m])
    for p in range(n_par):
        for m in range(m_pts):
            jt[p, m] *= w_row[m]


def _shirley_inplace(col, x, step):  # pragma: no cover - compiled below
    """``col += step * running trapezoid integral of col``."""
    cum = 0.0
    prev = col[0]
    for m in range(1, col.size):
        cur = col[m]
        cum += 0.5 * (x[m] - x[m - 1]) * (cur + prev)
        prev = cur
        col[m] = cur + step * cum


def _project_linear(theta_i, x, y_row, w_row, pidx, pscale, bg_code, bg_idx, basis_t, lin_idx, lin_lo, lin_hi,
                    unit, scratch):  # pragma: no cover - compiled below
    """Linear parameters ``lin_idx`` of ``theta_i`` set to their bounded weighted least-squares values."""
    n_lin = lin_idx.size
    m_pts = x.size
    phi = np.zeros((n_lin, m_pts))
    for j in range(n_lin):
        p = lin_idx[j]
        if bg_code == 1 and p in bg_idx:
            for b in range(bg_idx.size):
                if bg_idx[b] == p:
                    for m in range(m_pts):  # element by element: a broadcast copy compiles numba's error text
                        phi[j, m] = basis_t[b, m]
        elif bg_code == 2 and p == bg_idx[0]:
            for m in range(m_pts):
                phi[j, m] = 1.0
        else:
            for k in range(pidx.shape[0]):
                if pidx[k, 0] == p:
                    for m in range(m_pts):
                        phi[j, m] += pscale[k, 0] * unit[k, m]
            if bg_code == 2:
                _shirley_inplace(phi[j], x, theta_i[bg_idx[1]])
        for m in range(m_pts):
            phi[j, m] *= w_row[m]
    for m in range(m_pts):
        scratch[m] = w_row[m] * y_row[m]
    a_full = np.dot(phi, phi.T)
    b_full = np.dot(phi, scratch)
    free = np.ones(n_lin, np.bool_)
    fixed_val = np.zeros(n_lin)
    for _ in range(n_lin + 1):
        idx = np.nonzero(free)[0]
        if idx.size == 0:
            break
        a = np.empty((idx.size, idx.size))
        b = np.empty(idx.size)
        for u in range(idx.size):
            b[u] = b_full[idx[u]]
            for j in range(n_lin):
                if not free[j]:
                    b[u] -= a_full[idx[u], j] * fixed_val[j]
            for v in range(idx.size):
                a[u, v] = a_full[idx[u], idx[v]]
        c = np.empty(idx.size)
        if not _solve_small(a, b, c):  # singular (e.g. two identical lines) or not finite: no projection
            return
        moved = False
        for u in range(idx.size):
            j = idx[u]
            if c[u] < lin_lo[j]:
                free[j] = False
                fixed_val[j] = lin_lo[j]
                moved = True
            elif c[u] > lin_hi[j]:
                free[j] = False
                fixed_val[j] = lin_hi[j]
                moved = True
        if not moved:
            for u in range(idx.size):
                theta_i[lin_idx[idx[u]]] = c[u]
            for j in range(n_lin):
                if not free[j]:
                    theta_i[lin_idx[j]] = fixed_val[j]
            return


def _solve_small(a, b, out):  # pragma: no cover - compiled below
    """``out = a^-1 b`` by Gaussian elimination with partial pivoting (``a``, ``b`` overwritten).

    Returns False, leaving ``out`` undefined, when a pivot is below 1e-12 of the
    largest diagonal element or not finite (numba's ``np.linalg.solve`` would raise).
    """
    k = b.size
    big = 0.0
    for u in range(k):
        big = max(big, abs(a[u, u]))
    if not big > 0.0 or not np.isfinite(big):
        return False
    for col in range(k):
        piv = col
        for r in range(col + 1, k):
            if abs(a[r, col]) > abs(a[piv, col]):
                piv = r
        if not abs(a[piv, col]) > 1e-12 * big:
            return False
        if piv != col:
            for c in range(k):
                a[col, c], a[piv, c] = a[piv, c], a[col, c]
            b[col], b[piv] = b[piv], b[col]
        for r in range(col + 1, k):
            f = a[r, col] / a[col, col]
            for c in range(col, k):
                a[r, c] -= f * a[col, c]
            b[r] -= f * b[col]
    for r in range(k - 1, -1, -1):
        acc = b[r]
        for c in range(r + 1, k):
            acc -= a[r, c] * out[c]
        out[r] = acc / a[r, r]
        if not np.isfinite(out[r]):
            return False
    return True


def _lstsq_symmetric(a, b, out):  # pragma: no cover - compiled below
    """``out`` = minimum-norm least-squares solution of ``a out = b`` for a symmetric ``a`` (overwritten).

    Cyclic Jacobi eigen-decomposition (Golub & Van Loan, *Matrix Computations*,
    4th ed., 8.5); eigenvalues within machine epsilon of the largest count as
    zero, as in LAPACK's ``gelsd`` with ``rcond=-1`` (``np.linalg.lstsq``),
    which it replaces in compiled code: numba's LAPACK wrapper roughly doubled
    the compilation of the per-spectrum solver.  Returns False (``out``
    undefined) when ``a`` or ``b`` is not finite.
    """
    k = b.size
    frob = 0.0
    for p in range(k):
        if not np.isfinite(b[p]):
            return False
        for q in range(k):
            if not np.isfinite(a[p, q]):
                return False
            frob += a[p, q] * a[p, q]
    v = np.eye(k)
    for _ in range(64):
        off = 0.0
        for p in range(k):
            for q in range(p + 1, k):
                off += a[p, q] * a[p, q]
        if not off > (1e-16 * 1e-16) * frob:
            break
        for p in range(k):
            for q in range(p + 1, k):
                if a[p, q] == 0.0:
                    continue
                theta = (a[q, q] - a[p, p]) / (2.0 * a[p, q])
                t = 1.0 / (abs(theta) + np.sqrt(theta * theta + 1.0))
                if theta < 0.0:
                    t = -t
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                for r in range(k):  # a <- a J, v <- v J
                    arp, arq = a[r, p], a[r, q]
                    a[r, p], a[r, q] = c * arp - s * arq, s * arp + c * arq
                    vrp, vrq = v[r, p], v[r, q]
                    v[r, p], v[r, q] = c * vrp - s * vrq, s * vrp + c * vrq
                for r in range(k):  # a <- J^T a
                    apr, aqr = a[p, r], a[q, r]
                    a[p, r], a[q, r] = c * apr - s * aqr, s * apr + c * aqr
    big = 0.0
    for p in range(k):
        big = max(big, abs(a[p, p]))
    for p in range(k):
        out[p] = 0.0
    for i in range(k):
        lam = a[i, i]
        if not abs(lam) > 2.220446049250313e-16 * big:
            continue
        proj = 0.0
        for p in range(k):
            proj += v[p, i] * b[p]
        proj /= lam
        for p in range(k):
            out[p] += proj * v[p, i]
    return True


def _scratch(n_par, n_terms, m_pts):  # pragma: no cover - compiled below
    """Work arrays of one spectrum's evaluation: model, ``jt`` ``(P, M)``, per-line unit profiles and
    derivatives ``(T, M)`` x 4, and five ``(M,)`` rows (``t``, ``g``, ``gt``, ``gs``, residual)."""
    return (np.empty(m_pts), np.empty((n_par, m_pts)), np.empty((n_terms, m_pts)), np.empty((n_terms, m_pts)),
            np.empty((n_terms, m_pts)), np.empty((n_terms, m_pts)), np.empty(m_pts), np.empty(m_pts),
            np.empty(m_pts), np.empty(m_pts), np.empty(m_pts))


def _spectrum_normal(theta_i, x, y_row, w_row, arrays, project, scratch, grad, hess):  # pragma: no cover
    """Evaluate one spectrum at ``theta_i`` (projected in place with ``project``): returns the cost and
    fills ``grad`` (``J^T r``) and ``hess`` (``J^T J``); ``arrays`` is :meth:`CompiledProblem.arrays`."""
    codes, pidx, pscale, poff, bg_code, bg_idx, basis_t, lin_idx, lin_lo, lin_hi = arrays
    model, jt, unit, d_c, d_w, d_s, t, g, gt, gs, rr = scratch
    spectrum_kernel(theta_i, x, y_row, w_row, codes, pidx, pscale, poff, bg_code, bg_idx, basis_t, lin_idx, lin_lo,
                    lin_hi, project, model, jt, unit, d_c, d_w, d_s, t, g, gt, gs, rr)
    g = np.dot(jt, rr)
    h = np.dot(jt, jt.T)
    for p in range(g.size):  # element by element: a broadcast copy compiles numba's error text
        grad[p] = g[p]
        for q in range(g.size):
            hess[p, q] = h[p, q]
    return np.dot(rr, rr)


def _kernel_one(i, theta, rows, x, y, w, arrays, project, cost, grad, hess, out_r, out_j,
                store):  # pragma: no cover - compiled below
    """Spectrum ``i`` of :func:`_kernel`: evaluate, reduce to cost, ``J^T r`` and ``J^T J`` (and store r, J)."""
    scratch = _scratch(theta.shape[1], arrays[0].size, x.size)
    cost[i] = _spectrum_normal(theta[i], x, y[rows[i]], w[rows[i]], arrays, project, scratch, grad[i], hess[i])
    if store:
        rr, jt = scratch[10], scratch[1]
        for m in range(x.size):
            out_r[i, m] = rr[m]
            for p in range(jt.shape[0]):
                out_j[i, m, p] = jt[p, m]


def _kernel(theta, rows, x, y, w, arrays, project, cost, grad, hess, out_r, out_j,
            store):  # pragma: no cover - compiled below
    """Spectra ``0 .. n-1`` of the arguments in order; parallel by ``for_chunks`` (one compiled loop,
    compiled once: numba's ``parallel=True`` cost another full compilation of everything it calls)."""
    for i in range(theta.shape[0]):
        _kernel_one(i, theta, rows, x, y, w, arrays, project, cost, grad, hess, out_r, out_j, store)


if HAVE_NUMBA:
    import numba

    # Compilation time: numba compiles each jitted function on its own and links in, optimises and
    # generates again the code of everything it calls, so every level of a call chain repeats the work of
    # the levels below.  Small wrappers are inlined in numba IR (not compiled on their own; inlining a
    # large function copies its IR, slower still), and functions only called from compiled code get
    # no Python wrapper.
    _inner = numba.njit(cache=True, no_cpython_wrapper=True)
    _inline = numba.njit(inline="always")
    _shirley_inplace = _inner(_shirley_inplace)
    _solve_small = _inner(_solve_small)
    _lstsq_symmetric = _inner(_lstsq_symmetric)
    _project_linear = _inner(_project_linear)
    _spectrum_c = _inner(_spectrum)
    _scratch = _inline(_scratch)
    _spectrum_normal = _inline(_spectrum_normal)
    _kernel_one = _inline(_kernel_one)
    _kernel = numba.njit(cache=True, nogil=True)(_kernel)
else:
    _spectrum_c = _spectrum

#: Public names of the compiled pieces the per-spectrum solver (:mod:`specfit.engines.compiled_lm`) is built from
#: (callable from compiled code only, except without numba).
spectrum_kernel = _spectrum_c
solve_small = _solve_small
lstsq_symmetric = _lstsq_symmetric
scratch_arrays = _scratch
spectrum_normal_equations = _spectrum_normal


@dataclass
class CompiledProblem:
    """A :class:`~specfit.model.problem.FitProblem` with compiled evaluations (see :func:`compile_problem`)."""

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
    lin_idx: NDArray  # parameters the model is linear in (areas, background coefficients, Shirley level)
    lin_lo: NDArray
    lin_hi: NDArray

    def arrays(self) -> tuple:
        """The model description as the compiled kernels take it (one tuple)."""
        return (self.codes, self.pidx, self.pscale, self.poff, self.bg_code, self.bg_idx, self.basis, self.lin_idx,
                self.lin_lo, self.lin_hi)

    def _run(self, theta: NDArray, rows: NDArray, store: bool, project: bool):
        theta = np.array(theta, float, order="C", ndmin=2)  # a copy: projection writes into it
        rows = np.ascontiguousarray(rows, np.int64)
        n, p = theta.shape
        m = self.x.size
        cost, grad, hess = np.empty(n), np.empty((n, p)), np.empty((n, p, p))
        out_r = np.empty((n, m)) if store else np.empty((0, 0))
        out_j = np.empty((n, m, p)) if store else np.empty((0, 0, 0))
        arrays, project = self.arrays(), project and self.lin_idx.size > 0

        def work(s, e):
            _kernel(theta[s:e], rows[s:e], self.x, self.y, self.weights, arrays, project, cost[s:e], grad[s:e],
                    hess[s:e], out_r[s:e], out_j[s:e], store)

        for_chunks(work, n)
        return theta, cost, grad, hess, out_r, out_j

    def normal_equations_ready(self, start: bool = False) -> bool:
        """Whether :meth:`normal_equations` is compiled or cached (loaded now).  With ``start`` a first
        compilation is queued for the background (:func:`specfit.lineshapes.faddeeva.kernel_ready`; the global fit
        iterates on it), without it nothing is compiled (a covariance needs one evaluation only)."""
        p, m = self.problem.spec.n_params, self.x.size
        return kernel_ready(_kernel, (np.zeros((1, p)), np.zeros(1, np.int64), self.x, self.y, self.weights,
                                      self.arrays(), False, np.zeros(1), np.zeros((1, p)), np.zeros((1, p, p)),
                                      np.zeros((1, m)), np.zeros((1, m, p)), False), start=start)

    def normal_equations(self, theta: NDArray, rows: NDArray) -> tuple[NDArray, NDArray, NDArray]:
        """Cost ``(n,)``, ``J^T r`` ``(n, P)`` and ``J^T J`` ``(n, P, P)`` of the spectra ``rows`` at ``theta``."""
        _, cost, grad, hess, _, _ = self._run(theta, rows, False, False)
        return cost, grad, hess

    def projected_normal_equations(self, theta: NDArray, rows: NDArray) -> tuple[NDArray, NDArray, NDArray, NDArray]:
        """Variable projection: the linear parameters of ``theta`` replaced by their bounded least-squares values.

        Returns ``(cost, J^T r, J^T J, theta_projected)`` at the projected point
        (G. H. Golub & V. Pereyra, Inverse Problems 19, R1 (2003): the nonlinear
        parameters see the cost already minimised over the linear ones).
        """
        theta, cost, grad, hess, _, _ = self._run(theta, rows, False, True)
        return cost, grad, hess, theta

    def residual_jacobian(self, theta: NDArray, rows: NDArray) -> tuple[NDArray, NDArray]:
        """Weighted residual ``(n, M)`` and Jacobian ``(n, M, P)``, as ``FitProblem.residual_jacobian``."""
        _, _, _, _, r, j = self._run(theta, rows, True, False)
        return r, j


def compile_problem(problem: FitProblem) -> CompiledProblem | None:
    """Compiled evaluations of ``problem``, or ``None`` (numba absent, or a lineshape/background not covered)."""
    spec = problem.spec
    reason = not_compiled_reason(spec)
    if reason:
        numpy_path_reason(reason)  # said once per process (numba missing/broken wins over the model's reason)
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
    # writable C arrays (copies only of read-only inputs): one compiled signature per kernel
    contiguous = [np.require(a, float, ["C", "W"]) for a in (problem.x, problem.y, problem.weights)]
    lin = [i for i, grp in enumerate(spec.groups) if grp == "area"]
    lin += list(spec.background_index[:1] if bg_code == 2 else spec.background_index)
    linear_model = bool(np.all(pidx[:, 0] >= 0) and np.all(poff[:, 0] == 0.0)
                        and not np.isin(pidx[:, 1:], lin).any())
    lin_idx = np.array(lin if linear_model else [], np.int64)
    return CompiledProblem(problem, codes, pidx, pscale, poff, bg_code, bg_idx, basis, *contiguous, lin_idx,
                           np.ascontiguousarray(spec.lower[lin_idx], float),
                           np.ascontiguousarray(spec.upper[lin_idx], float))


def not_compiled_reason(spec) -> str:
    """Why :func:`compile_problem` gives ``None`` for models of ``spec`` ("" when it compiles them).

    The one source of the reason: :func:`compile_problem` says it once on stderr, and the batch engine
    records it in every result (``attrs["engine_path"]``).
    """
    if not HAVE_NUMBA:
        return NUMBA_MISSING or "numba is not available"
    missing = sorted({t.lineshape for t in spec.terms if t.lineshape not in LINESHAPE_CODES})
    if missing:
        return f"lineshape {', '.join(missing)} has no compiled kernel"
    if spec.background not in BACKGROUND_CODES:
        return f"in-fit background {spec.background!r} has no compiled kernel"
    return ""
