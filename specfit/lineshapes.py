"""Peak lineshapes parametrised by area, center, FWHM and one shape parameter.

Every lineshape is written once, as a *unit profile* ``g(t, shape)`` of unit
area and unit FWHM in the reduced coordinate ``t = (x - center) / fwhm``; the
physical profile is ``area / fwhm * g(t, shape)``.  That single scaling gives
every lineshape exact analytic derivatives with respect to area, center and
FWHM (the fitting engines' Jacobian), so only the shape derivative is
lineshape-specific.  FWHM and area are therefore the parameters people read,
reported directly, never derived from ``sigma``/``gamma``.

The lineshape names (``LINESHAPES``) are the values the peak-library key
``lineshape`` accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import erfcx, wofz

LN2 = np.log(2.0)
_GAUSS_NORM = 2.0 * np.sqrt(LN2 / np.pi)  # unit-area, unit-FWHM Gaussian peak height
_SQRT_PI = np.sqrt(np.pi)
# Olivero & Longbothum, J. Quant. Spectrosc. Radiat. Transfer 17, 233 (1977):
# fV = 0.5346 fL + sqrt(0.2166 fL^2 + fG^2), accurate to 0.02 %.
OLIVERO_A = 0.5346
OLIVERO_B = 0.2166
_SIGMA_PER_FWHM = 1.0 / (2.0 * np.sqrt(2.0 * LN2))
_TINY = 1e-12

Array = NDArray[np.float64]


# ---------------------------------------------------------------- unit profiles
def _gauss_unit(t: Array) -> Array:
    return _GAUSS_NORM * np.exp(-4.0 * LN2 * t * t)


def _gauss_unit_dt(t: Array) -> Array:
    return -8.0 * LN2 * t * _gauss_unit(t)


def _lorentz_unit(t: Array) -> Array:
    return (2.0 / np.pi) / (1.0 + 4.0 * t * t)


def _lorentz_unit_dt(t: Array) -> Array:
    return -(16.0 / np.pi) * t / (1.0 + 4.0 * t * t) ** 2


def voigt_fwhm(fwhm_gauss: ArrayLike, fwhm_lorentz: ArrayLike) -> Array:
    """FWHM of a Voigt profile (Olivero–Longbothum relation, 0.02 % accuracy).

    Parameters
    ----------
    fwhm_gauss, fwhm_lorentz : array_like
        FWHM of the Gaussian and Lorentzian parts (axis units).
    """
    fl = np.asarray(fwhm_lorentz, float)
    return OLIVERO_A * fl + np.sqrt(OLIVERO_B * fl**2 + np.asarray(fwhm_gauss, float) ** 2)


def voigt_widths(fwhm: ArrayLike, lorentz_fraction: ArrayLike) -> tuple[Array, Array]:
    """Gaussian and Lorentzian FWHM of a Voigt of total ``fwhm`` and fraction ``fL / fV``.

    Inverse of :func:`voigt_fwhm`; ``lorentz_fraction`` 0 is a Gaussian, 1 a Lorentzian.
    """
    fwhm = np.asarray(fwhm, float)
    r = np.clip(np.asarray(lorentz_fraction, float), 0.0, 1.0)
    q = np.maximum((1.0 - OLIVERO_A * r) ** 2 - OLIVERO_B * r**2, 0.0)
    return fwhm * np.sqrt(q), fwhm * r


# Below this Gaussian sigma (in FWHM units) the Voigt is evaluated as its
# Lorentzian limit plus the sigma^2 correction: the Faddeeva derivative
# -2 z w + 2i/sqrt(pi) cancels catastrophically for huge |z|.
_VOIGT_LORENTZ_LIMIT = 2e-3


def _voigt_all(t: Array, r: Array, derivatives: bool = True) -> tuple[Array, Array | None, Array | None]:
    """Unit Voigt profile, its t-derivative and its derivative in the Lorentzian fraction ``r``."""
    r = np.clip(np.asarray(r, float), 0.0, 1.0)
    t = np.asarray(t, float)
    q = (1.0 - OLIVERO_A * r) ** 2 - OLIVERO_B * r**2
    dq = -2.0 * OLIVERO_A * (1.0 - OLIVERO_A * r) - 2.0 * OLIVERO_B * r
    sigma_true = np.sqrt(np.maximum(q, 0.0)) * _SIGMA_PER_FWHM
    gamma = 0.5 * r
    sigma = np.maximum(sigma_true, _VOIGT_LORENTZ_LIMIT)
    scale = 1.0 / (sigma * np.sqrt(2.0))
    z = (t + 1j * gamma) * scale
    w = wofz(z)
    norm = 1.0 / (sigma * np.sqrt(2.0 * np.pi))
    value = w.real * norm
    near = sigma_true < _VOIGT_LORENTZ_LIMIT
    if not derivatives:
        if np.any(near):
            g = np.maximum(gamma, 1e-12)
            d2 = t * t + g * g
            lor_tt = g * (6.0 * t * t - 2.0 * g * g) / (np.pi * d2**3)
            value = np.where(near, g / (np.pi * d2) + 0.5 * sigma_true**2 * lor_tt, value)
        return value, None, None
    dw = -2.0 * z * w + 2j / _SQRT_PI
    d_t = (dw * scale).real * norm
    d_gamma = (dw * 1j * scale).real * norm
    d_sigma = (dw * (-z / sigma)).real * norm - value / sigma
    # d sigma / d r = c^2 dq / (2 sigma) with c = sigma per unit fG
    d_r = d_sigma * _SIGMA_PER_FWHM**2 * dq / (2.0 * sigma) + 0.5 * d_gamma
    if np.any(near):
        g = np.maximum(gamma, 1e-12)
        d2 = t * t + g * g
        lor = g / (np.pi * d2)
        lor_t = -2.0 * g * t / (np.pi * d2**2)
        lor_tt = g * (6.0 * t * t - 2.0 * g * g) / (np.pi * d2**3)
        lor_ttt = 24.0 * g * t * (g * g - t * t) / (np.pi * d2**4)
        lor_g = (t * t - g * g) / (np.pi * d2**2)
        s2 = sigma_true**2
        value = np.where(near, lor + 0.5 * s2 * lor_tt, value)
        d_t = np.where(near, lor_t + 0.5 * s2 * lor_ttt, d_t)
        lor_tt_g = (6.0 * t * t - 6.0 * g * g) / (np.pi * d2**3) - 6.0 * g * g * (6.0 * t * t - 2.0 * g * g) / (
            np.pi * d2**4)
        d_r = np.where(near, 0.5 * lor_g + 0.25 * s2 * lor_tt_g + 0.5 * lor_tt * _SIGMA_PER_FWHM**2 * dq, d_r)
    return value, d_t, d_r


def _voigt_unit(t: Array, r: Array) -> Array:
    return _voigt_all(t, r, derivatives=False)[0]


def _voigt_unit_dt(t: Array, r: Array) -> Array:
    return _voigt_all(t, r)[1]


def _voigt_unit_ds(t: Array, r: Array) -> Array:
    return _voigt_all(t, r)[2]


def _pv_unit(t: Array, eta: Array) -> Array:
    return (1.0 - eta) * _gauss_unit(t) + eta * _lorentz_unit(t)


def _pv_unit_dt(t: Array, eta: Array) -> Array:
    return (1.0 - eta) * _gauss_unit_dt(t) + eta * _lorentz_unit_dt(t)


def _pv_unit_ds(t: Array, eta: Array) -> Array:
    return _lorentz_unit(t) - _gauss_unit(t)


# CasaXPS SGL(p): height-normalised Gaussian and Lorentzian of the same FWHM,
# summed with weights (1 - m) and m.  The FWHM is exact; the area is analytic.
def _sgl_norm(m: Array) -> Array:
    return (1.0 - m) * 0.5 * np.sqrt(np.pi / LN2) + m * 0.5 * np.pi


def _sgl_unit(t: Array, m: Array) -> Array:
    h = (1.0 - m) * np.exp(-4.0 * LN2 * t * t) + m / (1.0 + 4.0 * t * t)
    return h / _sgl_norm(m)


def _sgl_unit_dt(t: Array, m: Array) -> Array:
    dh = (1.0 - m) * (-8.0 * LN2 * t) * np.exp(-4.0 * LN2 * t * t) - m * 8.0 * t / (1.0 + 4.0 * t * t) ** 2
    return dh / _sgl_norm(m)


def _sgl_unit_ds(t: Array, m: Array) -> Array:
    g0 = np.exp(-4.0 * LN2 * t * t)
    l0 = 1.0 / (1.0 + 4.0 * t * t)
    n = _sgl_norm(m)
    dn = -0.5 * np.sqrt(np.pi / LN2) + 0.5 * np.pi
    return (l0 - g0) / n - ((1.0 - m) * g0 + m * l0) * dn / n**2


# CasaXPS GL(p): exp(-4 ln2 (1-m) t^2) / (1 + 4 m t^2).  Its half maximum is not
# at t = 1/2 for 0 < m < 1, so t is rescaled by s(m) to make ``fwhm`` the true
# FWHM (CasaXPS's nominal F is s(m) times smaller; < 6 % at m = 0.5).
def _gl_scale2(m: Array) -> Array:
    """u = s(m)^2 solving exp(-ln2 (1-m) u) / (1 + m u) = 1/2 (Newton, monotone)."""
    m = np.asarray(m, float)
    u = np.ones_like(m)
    for _ in range(30):
        phi = LN2 - LN2 * (1.0 - m) * u - np.log1p(m * u)
        dphi = -LN2 * (1.0 - m) - m / (1.0 + m * u)
        step = phi / dphi
        u = u - step
        if np.all(np.abs(step) < 1e-15):
            break
    return u


def _gl_parts(m: Array):
    m = np.clip(np.asarray(m, float), 0.0, 1.0)
    u = _gl_scale2(m)
    a = 4.0 * LN2 * (1.0 - m) * u
    b = 4.0 * m * u
    safe_b = np.maximum(b, _TINY)
    ratio = np.sqrt(np.maximum(a, 0.0) / safe_b)
    # integral of exp(-a t^2)/(1 + b t^2) dt = pi/sqrt(b) * erfcx(sqrt(a/b))
    area = np.where(b > 1e-10, np.pi / np.sqrt(safe_b) * erfcx(ratio), np.sqrt(np.pi / np.maximum(a, _TINY)))
    return a, b, area


def _gl_unit(t: Array, m: Array) -> Array:
    a, b, area = _gl_parts(m)
    return np.exp(-a * t * t) / (1.0 + b * t * t) / area


def _gl_unit_dt(t: Array, m: Array) -> Array:
    a, b, area = _gl_parts(m)
    e = np.exp(-a * t * t)
    d = 1.0 + b * t * t
    return (-2.0 * a * t * e / d - e * 2.0 * b * t / d**2) / area


# Doniach & Sunjic, J. Phys. C 3, 285 (1970).  The tail points to high x (to
# high binding energy on a BE axis).  Its area diverges for alpha > 0, so -- as
# CasaXPS integrates over the region -- ``area`` here is the area within
# +/- DS_AREA_HALF_WIDTH FWHM of the center.
DS_AREA_HALF_WIDTH = 20.0


def _ds_raw(t: Array, alpha: float, gamma: float) -> Array:
    tt = -np.asarray(t, float)
    return np.cos(np.pi * alpha / 2.0 + (1.0 - alpha) * np.arctan(tt / gamma)) / (tt * tt + gamma * gamma) ** (
        (1.0 - alpha) / 2.0
    )


@lru_cache(maxsize=256)
def _ds_constants(alpha: float) -> tuple[float, float]:
    """(gamma, norm) making the DS profile of asymmetry ``alpha`` unit-FWHM and unit-area."""
    grid = np.linspace(-8.0, 8.0, 160001)
    f = _ds_raw(grid, alpha, 1.0)
    imax = int(np.argmax(f))
    half = f[imax] / 2.0
    left = np.nonzero(f[:imax] < half)[0][-1]
    right = imax + np.nonzero(f[imax:] < half)[0][0]
    x_left = np.interp(half, [f[left], f[left + 1]], [grid[left], grid[left + 1]])
    x_right = np.interp(half, [f[right], f[right - 1]], [grid[right], grid[right - 1]])
    gamma = 1.0 / (x_right - x_left)
    fine = np.linspace(-DS_AREA_HALF_WIDTH, DS_AREA_HALF_WIDTH, 400001)
    norm = np.trapezoid(_ds_raw(fine, alpha, gamma), fine)
    return gamma, norm


def _ds_unit(t: Array, alpha: Array) -> Array:
    alpha = np.asarray(alpha, float)
    out = np.empty(np.broadcast(t, alpha).shape)
    t_b, a_b = np.broadcast_arrays(t, alpha)
    for value in np.unique(a_b):
        mask = a_b == value
        gamma, norm = _ds_constants(float(np.clip(value, 0.0, 0.95)))
        out[mask] = _ds_raw(t_b[mask], float(value), gamma) / norm
    return out


def _numeric_dt(unit: Callable[..., Array]) -> Callable[..., Array]:
    def dt(t: Array, s: Array) -> Array:
        h = 1e-6
        return (unit(t + h, s) - unit(t - h, s)) / (2.0 * h)

    return dt


def _numeric_ds(unit: Callable[..., Array]) -> Callable[..., Array]:
    def ds(t: Array, s: Array) -> Array:
        h = 1e-6
        s = np.asarray(s, float)
        lo, hi = np.clip(s - h, 0.0, 1.0), np.clip(s + h, 0.0, 1.0)
        return (unit(t, hi) - unit(t, lo)) / (hi - lo)

    return ds


class Lineshape(NamedTuple):
    """A unit profile with its derivatives and its shape parameter's name/limits."""

    name: str
    unit: Callable[..., Array]
    dt: Callable[..., Array]
    ds: Callable[..., Array] | None
    shape_name: str | None
    shape_limits: tuple[float, float]
    default_shape: float
    all: Callable[..., tuple[Array, Array, Array]] | None = None  # (g, dt, ds) in one pass


def _no_shape(f: Callable[[Array], Array]) -> Callable[..., Array]:
    return lambda t, s=None: f(t)


LINESHAPE_TABLE: dict[str, Lineshape] = {
    "gaussian": Lineshape("gaussian", _no_shape(_gauss_unit), _no_shape(_gauss_unit_dt), None, None, (0, 0), 0.0),
    "lorentzian": Lineshape(
        "lorentzian", _no_shape(_lorentz_unit), _no_shape(_lorentz_unit_dt), None, None, (0, 0), 0.0
    ),
    "voigt": Lineshape("voigt", _voigt_unit, _voigt_unit_dt, _voigt_unit_ds, "lorentz_fraction", (0.0, 1.0), 0.5,
                       _voigt_all),
    "pseudo_voigt": Lineshape("pseudo_voigt", _pv_unit, _pv_unit_dt, _pv_unit_ds, "eta", (0.0, 1.0), 0.5),
    "gl": Lineshape("gl", _gl_unit, _gl_unit_dt, _numeric_ds(_gl_unit), "lorentz_mix", (0.0, 1.0), 0.3),
    "sgl": Lineshape("sgl", _sgl_unit, _sgl_unit_dt, _sgl_unit_ds, "lorentz_mix", (0.0, 1.0), 0.3),
    "doniach_sunjic": Lineshape(
        "doniach_sunjic", _ds_unit, _numeric_dt(_ds_unit), _numeric_ds(_ds_unit), "asymmetry", (0.0, 0.5), 0.1
    ),
}

#: Names accepted by the peak-library key ``lineshape``.
LINESHAPES: tuple[str, ...] = tuple(LINESHAPE_TABLE)


def get_lineshape(name: str) -> Lineshape:
    """Return the :class:`Lineshape` called ``name`` (``KeyError`` lists the choices)."""
    try:
        return LINESHAPE_TABLE[name]
    except KeyError:
        raise KeyError(f"unknown lineshape {name!r}; choose one of {', '.join(LINESHAPES)}") from None


# ---------------------------------------------------------------- public profiles
def profile(name: str, x: ArrayLike, area: ArrayLike, center: ArrayLike, fwhm: ArrayLike,
            shape: ArrayLike = 0.0) -> Array:
    """Evaluate lineshape ``name``: ``area / fwhm * g((x - center) / fwhm, shape)``.

    All arguments broadcast together (numpy rules), so one call evaluates a
    whole batch of spectra.
    """
    fwhm = np.asarray(fwhm, float)
    t = (np.asarray(x, float) - center) / fwhm
    return np.asarray(area, float) / fwhm * get_lineshape(name).unit(t, np.asarray(shape, float))


def profile_gradients(name: str, x: ArrayLike, area: ArrayLike, center: ArrayLike, fwhm: ArrayLike,
                      shape: ArrayLike = 0.0) -> tuple[Array, Array, Array, Array, Array | None]:
    """Profile and its derivatives with respect to area, center, fwhm and shape.

    The shape derivative is ``None`` for lineshapes without a shape parameter.
    """
    ls = get_lineshape(name)
    area = np.asarray(area, float)
    fwhm = np.asarray(fwhm, float)
    shape = np.asarray(shape, float)
    t = (np.asarray(x, float) - center) / fwhm
    if ls.all is not None:  # one Faddeeva evaluation instead of three
        g, gt, gs = ls.all(t, shape)
    else:
        g, gt = ls.unit(t, shape), ls.dt(t, shape)
        gs = ls.ds(t, shape) if ls.ds is not None else None
    scale = area / fwhm
    value = scale * g
    d_area = g / fwhm
    d_center = -scale / fwhm * gt
    d_fwhm = -scale / fwhm * (g + t * gt)
    d_shape = scale * gs if gs is not None else None
    return value, d_area, d_center, d_fwhm, d_shape


def peak_height(name: str, area: ArrayLike, fwhm: ArrayLike, shape: ArrayLike = 0.0) -> Array:
    """Maximum of the profile (data units) for the given area and FWHM."""
    shape = np.asarray(shape, float)
    ls = get_lineshape(name)
    if name == "doniach_sunjic":
        grid = np.linspace(-1.0, 1.0, 4001)
        peak = np.vectorize(lambda s: float(np.max(ls.unit(grid, s))))(shape)
    else:
        peak = ls.unit(np.zeros_like(shape), shape)
    return np.asarray(area, float) / np.asarray(fwhm, float) * peak


def gaussian(x: ArrayLike, area: float = 1.0, center: float = 0.0, fwhm: float = 1.0) -> Array:
    """Gaussian of given area and FWHM (``sigma = fwhm / (2 sqrt(2 ln 2))``)."""
    return profile("gaussian", x, area, center, fwhm)


def lorentzian(x: ArrayLike, area: float = 1.0, center: float = 0.0, fwhm: float = 1.0) -> Array:
    """Lorentzian (Cauchy) of given area and FWHM."""
    return profile("lorentzian", x, area, center, fwhm)


def voigt(x: ArrayLike, area: float = 1.0, center: float = 0.0, fwhm: float = 1.0,
          lorentz_fraction: float = 0.5) -> Array:
    """Exact Voigt (Faddeeva function) of total FWHM ``fwhm``.

    ``lorentz_fraction`` = fL / fV sets the Gaussian and Lorentzian widths
    through the Olivero–Longbothum relation (see :func:`voigt_widths`).
    """
    return profile("voigt", x, area, center, fwhm, lorentz_fraction)


def pseudo_voigt(x: ArrayLike, area: float = 1.0, center: float = 0.0, fwhm: float = 1.0,
                 eta: float = 0.5) -> Array:
    """Area-weighted sum ``(1 - eta) G + eta L`` of a Gaussian and a Lorentzian of equal FWHM."""
    return profile("pseudo_voigt", x, area, center, fwhm, eta)


def gl(x: ArrayLike, area: float = 1.0, center: float = 0.0, fwhm: float = 1.0, lorentz_mix: float = 0.3) -> Array:
    """CasaXPS GL(p) Gaussian–Lorentzian product, ``lorentz_mix = p / 100``; ``fwhm`` is the true FWHM."""
    return profile("gl", x, area, center, fwhm, lorentz_mix)


def sgl(x: ArrayLike, area: float = 1.0, center: float = 0.0, fwhm: float = 1.0, lorentz_mix: float = 0.3) -> Array:
    """CasaXPS SGL(p) Gaussian–Lorentzian sum, ``lorentz_mix = p / 100``."""
    return profile("sgl", x, area, center, fwhm, lorentz_mix)


def doniach_sunjic(x: ArrayLike, area: float = 1.0, center: float = 0.0, fwhm: float = 1.0,
                   asymmetry: float = 0.1) -> Array:
    """Doniach–Šunjić metallic lineshape, tail to high x; area counted within ±20 FWHM."""
    return profile("doniach_sunjic", x, area, center, fwhm, asymmetry)
