"""The Faddeeva function ``w(z) = exp(-z^2) erfc(-iz)`` and the unit Voigt profile built on it.

Two implementations of the same mathematics:

* compiled (numba, the optional ``fast`` extra): Weideman's rational
  approximation with ``N = 32`` terms, J. A. C. Weideman, "Computation of the
  complex error function", SIAM J. Numer. Anal. 31, 1497-1518 (1994), eq. (38-39),
  and for ``|z| >= 50`` the asymptotic (Laplace) series
  ``w = i / (sqrt(pi) z) * sum_k (2k-1)!! / (2 z^2)^k`` (Abramowitz & Stegun 7.1.23).
  Relative error below 1e-12 of ``scipy.special.wofz`` over the upper half
  plane (tested in ``tests/test_faddeeva.py``); about 10x faster per point, and the
  Voigt value, its ``t``- and shape derivatives come out of one pass without
  complex temporaries;
* numpy (always available): ``scipy.special.wofz`` (Poppe & Wijers / Johnson's
  Faddeeva package), used when numba is absent or ``SPECFIT_NO_NUMBA=1``.

:func:`voigt_unit_all` is the lineshape kernel: the unit-area, unit-FWHM
Voigt of Lorentzian fraction ``r = fL / fV`` (Gaussian and Lorentzian widths
from the Olivero–Longbothum relation, see :mod:`specfit.lineshapes`) and its
derivatives with respect to ``t`` and ``r``.
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import wofz as _scipy_wofz

__all__ = ["HAVE_NUMBA", "voigt_unit_all", "weideman_coefficients", "wofz", "wofz_weideman"]

# Olivero & Longbothum, J. Quant. Spectrosc. Radiat. Transfer 17, 233 (1977) (same constants as lineshapes)
OLIVERO_A = 0.5346
OLIVERO_B = 0.2166
SIGMA_PER_FWHM = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
#: Below this Gaussian sigma (FWHM units) the Voigt is its Lorentzian limit plus the sigma^2 correction.
LORENTZ_LIMIT = 2e-3
#: ``|z|`` from which the asymptotic series replaces Weideman's approximation.
ASYMPTOTIC_RADIUS = 50.0
_SQRT_PI = float(np.sqrt(np.pi))
_INV_SQRT_PI = 1.0 / _SQRT_PI
_N_TERMS = 32


def weideman_coefficients(n: int = _N_TERMS) -> tuple[float, NDArray]:
    """Scale ``L`` and polynomial coefficients (highest power first) of Weideman's approximation.

    Weideman (1994), Table/program of section 5: ``L = sqrt(N / sqrt(2))``,
    coefficients from the FFT of ``exp(-t^2) (L^2 + t^2)`` at ``t = L tan(theta / 2)``.
    """
    m = 2 * n
    k = np.arange(-m + 1, m)
    big_l = np.sqrt(n / np.sqrt(2.0))
    t = big_l * np.tan(k * np.pi / m / 2.0)
    f = np.concatenate([[0.0], np.exp(-t * t) * (big_l * big_l + t * t)])
    a = np.real(np.fft.fft(np.fft.fftshift(f))) / (2 * m)
    return float(big_l), np.ascontiguousarray(a[1:n + 1][::-1])


_L, _A = weideman_coefficients()


def wofz_weideman(z: ArrayLike) -> NDArray:
    """Faddeeva function by Weideman's ``N = 32`` approximation in numpy (reference; slower than scipy's).

    Valid on the whole complex plane: the lower half plane uses
    ``w(z) = 2 exp(-z^2) - w(-z)``.
    """
    z = np.asarray(z, complex)
    lower = z.imag < 0
    zu = np.where(lower, -z, z)
    iz = 1j * zu
    d = _L - iz
    big_z = (_L + iz) / d
    p = np.full(zu.shape, _A[0], complex)
    for c in _A[1:]:
        p = p * big_z + c
    w = 2.0 * p / (d * d) + _INV_SQRT_PI / d
    far = np.abs(zu) >= ASYMPTOTIC_RADIUS
    if np.any(far):
        w = np.where(far, _asymptotic(np.where(far, zu, 1.0)), w)
    if np.any(lower):
        w = np.where(lower, 2.0 * np.exp(-z * z) - w, w)
    return w


def _asymptotic(z: NDArray) -> NDArray:
    u = 1.0 / (2.0 * z * z)
    series = 1.0 + u * (1.0 + u * (3.0 + u * (15.0 + u * (105.0 + u * 945.0))))
    return 1j * _INV_SQRT_PI / z * series


def _numba_disabled() -> bool:
    return os.environ.get("SPECFIT_NO_NUMBA", "").strip() not in ("", "0")


try:  # optional compiled kernels
    if _numba_disabled():
        raise ImportError("disabled by SPECFIT_NO_NUMBA")
    import numba

    HAVE_NUMBA = True
except ImportError:  # numpy fallback
    numba = None
    HAVE_NUMBA = False


if HAVE_NUMBA:
    _A_TUPLE = tuple(float(c) for c in _A)

    @numba.njit(cache=True, inline="always")
    def _w_upper(z: complex) -> complex:  # pragma: no cover - compiled
        if abs(z) >= ASYMPTOTIC_RADIUS:
            u = 1.0 / (2.0 * z * z)
            series = 1.0 + u * (1.0 + u * (3.0 + u * (15.0 + u * (105.0 + u * 945.0))))
            return 1j * _INV_SQRT_PI / z * series
        iz = 1j * z
        d = _L - iz
        big_z = (_L + iz) / d
        p = complex(_A_TUPLE[0])
        for k in range(1, _N_TERMS):
            p = p * big_z + _A_TUPLE[k]
        return 2.0 * p / (d * d) + _INV_SQRT_PI / d

    @numba.njit(cache=True)
    def _wofz_kernel(z: NDArray, out: NDArray) -> None:  # pragma: no cover - compiled
        for i in range(z.size):
            zi = z[i]
            if zi.imag >= 0:
                out[i] = _w_upper(zi)
            else:
                out[i] = 2.0 * np.exp(-zi * zi) - _w_upper(-zi)

    @numba.njit(cache=True)
    def _voigt_kernel(t: NDArray, r: NDArray, value: NDArray, d_t: NDArray, d_r: NDArray,
                      derivatives: bool) -> None:  # pragma: no cover - compiled
        sqrt2 = np.sqrt(2.0)
        c2 = SIGMA_PER_FWHM * SIGMA_PER_FWHM
        r_prev = np.nan
        sigma = scale = norm = sigma_true = dq = gamma = 0.0
        for i in range(t.size):
            ri = min(max(r[i], 0.0), 1.0)
            if ri != r_prev:  # per-line constants (r is constant along a spectrum)
                r_prev = ri
                q = (1.0 - OLIVERO_A * ri) ** 2 - OLIVERO_B * ri * ri
                dq = -2.0 * OLIVERO_A * (1.0 - OLIVERO_A * ri) - 2.0 * OLIVERO_B * ri
                sigma_true = np.sqrt(max(q, 0.0)) * SIGMA_PER_FWHM
                gamma = 0.5 * ri
                sigma = max(sigma_true, LORENTZ_LIMIT)
                scale = 1.0 / (sigma * sqrt2)
                norm = scale * _INV_SQRT_PI
            ti = t[i]
            if sigma_true < LORENTZ_LIMIT:
                g = max(gamma, 1e-12)
                d2 = ti * ti + g * g
                lor_tt = g * (6.0 * ti * ti - 2.0 * g * g) / (np.pi * d2 ** 3)
                s2 = sigma_true * sigma_true
                value[i] = g / (np.pi * d2) + 0.5 * s2 * lor_tt
                if derivatives:
                    lor_t = -2.0 * g * ti / (np.pi * d2 ** 2)
                    lor_ttt = 24.0 * g * ti * (g * g - ti * ti) / (np.pi * d2 ** 4)
                    lor_g = (ti * ti - g * g) / (np.pi * d2 ** 2)
                    lor_tt_g = (6.0 * ti * ti - 6.0 * g * g) / (np.pi * d2 ** 3) - 6.0 * g * g * (
                        6.0 * ti * ti - 2.0 * g * g) / (np.pi * d2 ** 4)
                    d_t[i] = lor_t + 0.5 * s2 * lor_ttt
                    d_r[i] = 0.5 * lor_g + 0.25 * s2 * lor_tt_g + 0.5 * lor_tt * c2 * dq
                continue
            z = complex(ti * scale, gamma * scale)
            w = _w_upper(z)
            v = w.real * norm
            value[i] = v
            if derivatives:
                if abs(z) >= ASYMPTOTIC_RADIUS:  # -2 z w + 2i/sqrt(pi) cancels out here
                    u = 1.0 / (z * z)
                    dw = -1j * _INV_SQRT_PI * u * (1.0 + u * (1.5 + u * (3.75 + u * (13.125 + u * 59.0625))))
                else:
                    dw = -2.0 * z * w + 2j * _INV_SQRT_PI
                d_t[i] = (dw * scale).real * norm
                d_gamma = -(dw.imag * scale) * norm
                d_sigma = (dw * (-z / sigma)).real * norm - v / sigma
                d_r[i] = d_sigma * c2 * dq / (2.0 * sigma) + 0.5 * d_gamma


def wofz(z: ArrayLike) -> NDArray:
    """Faddeeva function ``w(z)`` of a complex array (compiled Weideman-32 when numba is present).

    Parameters
    ----------
    z : array_like of complex

    Returns
    -------
    ndarray of complex, same shape as ``z``.
    """
    z = np.asarray(z, complex)
    if not HAVE_NUMBA:
        return _scipy_wofz(z)
    flat = np.ascontiguousarray(z).ravel()
    out = np.empty_like(flat)
    _wofz_kernel(flat, out)
    return out.reshape(z.shape)


def _voigt_numpy(t: NDArray, r: NDArray, derivatives: bool) -> tuple[NDArray, NDArray | None, NDArray | None]:
    """numpy path of :func:`voigt_unit_all` (scipy's ``wofz``); the Lorentzian limit only where it applies."""
    q = (1.0 - OLIVERO_A * r) ** 2 - OLIVERO_B * r**2
    dq = -2.0 * OLIVERO_A * (1.0 - OLIVERO_A * r) - 2.0 * OLIVERO_B * r
    sigma_true = np.sqrt(np.maximum(q, 0.0)) * SIGMA_PER_FWHM
    gamma = 0.5 * r
    sigma = np.maximum(sigma_true, LORENTZ_LIMIT)
    scale = 1.0 / (sigma * np.sqrt(2.0))
    z = (t + 1j * gamma) * scale
    w = _scipy_wofz(z)
    norm = scale * _INV_SQRT_PI
    value = w.real * norm
    d_t = d_r = None
    if derivatives:
        dw = -2.0 * z * w + 2j * _INV_SQRT_PI
        far = np.abs(z) >= ASYMPTOTIC_RADIUS  # the line above cancels out there: use the series
        if np.any(far):
            u = 1.0 / (z[far] ** 2)
            dw[far] = -1j * _INV_SQRT_PI * u * (1.0 + u * (1.5 + u * (3.75 + u * (13.125 + u * 59.0625))))
        d_t = (dw * scale).real * norm
        d_gamma = -(dw.imag * scale) * norm
        d_sigma = (dw * (-z / sigma)).real * norm - value / sigma
        d_r = d_sigma * SIGMA_PER_FWHM**2 * dq / (2.0 * sigma) + 0.5 * d_gamma
    near = np.broadcast_to(sigma_true < LORENTZ_LIMIT, value.shape)
    if np.any(near):
        tn = np.broadcast_to(t, value.shape)[near]
        g = np.maximum(np.broadcast_to(gamma, value.shape)[near], 1e-12)
        s2 = np.broadcast_to(sigma_true, value.shape)[near] ** 2
        d2 = tn * tn + g * g
        lor_tt = g * (6.0 * tn * tn - 2.0 * g * g) / (np.pi * d2**3)
        value[near] = g / (np.pi * d2) + 0.5 * s2 * lor_tt
        if derivatives:
            lor_t = -2.0 * g * tn / (np.pi * d2**2)
            lor_ttt = 24.0 * g * tn * (g * g - tn * tn) / (np.pi * d2**4)
            lor_g = (tn * tn - g * g) / (np.pi * d2**2)
            lor_tt_g = (6.0 * tn * tn - 6.0 * g * g) / (np.pi * d2**3) - 6.0 * g * g * (
                6.0 * tn * tn - 2.0 * g * g) / (np.pi * d2**4)
            dqn = np.broadcast_to(dq, value.shape)[near]
            d_t[near] = lor_t + 0.5 * s2 * lor_ttt
            d_r[near] = 0.5 * lor_g + 0.25 * s2 * lor_tt_g + 0.5 * lor_tt * SIGMA_PER_FWHM**2 * dqn
    return value, d_t, d_r


def voigt_unit_all(t: ArrayLike, r: ArrayLike, derivatives: bool = True,
                   *, compiled: bool | None = None) -> tuple[NDArray, NDArray | None, NDArray | None]:
    """Unit Voigt profile ``g(t, r)``, ``dg/dt`` and ``dg/dr`` in one pass.

    Parameters
    ----------
    t : array_like
        Reduced coordinate ``(x - center) / fwhm``.
    r : array_like
        Lorentzian fraction ``fL / fV`` (clipped to [0, 1]); broadcasts with ``t``.
    derivatives : bool
        Also return ``dg/dt`` and ``dg/dr`` (else ``None``).
    compiled : bool, optional
        Force the numba (True) or numpy (False) path; default: numba when installed.

    Returns
    -------
    value, d_t, d_r : ndarray
        Arrays of the broadcast shape of ``t`` and ``r`` (unit area, unit FWHM).
        Below a Gaussian sigma of ``LORENTZ_LIMIT`` FWHM the Lorentzian limit
        with its ``sigma^2`` correction is used (the Faddeeva derivative
        cancels catastrophically there).
    """
    t = np.asarray(t, float)
    r = np.clip(np.asarray(r, float), 0.0, 1.0)
    use_numba = HAVE_NUMBA if compiled is None else compiled
    if use_numba and not HAVE_NUMBA:
        raise ImportError("numba is not installed (pip install 'specfit[fast]')")
    if not use_numba:
        return _voigt_numpy(t, r, derivatives)
    shape = np.broadcast_shapes(t.shape, r.shape)
    tf = np.ascontiguousarray(np.broadcast_to(t, shape)).ravel()
    rf = np.ascontiguousarray(np.broadcast_to(r, shape)).ravel()
    value = np.empty(tf.size)
    d_t = np.empty(tf.size) if derivatives else value
    d_r = np.empty(tf.size) if derivatives else value
    _voigt_kernel(tf, rf, value, d_t, d_r, derivatives)
    if not derivatives:
        return value.reshape(shape), None, None
    return value.reshape(shape), d_t.reshape(shape), d_r.reshape(shape)
