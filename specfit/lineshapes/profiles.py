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
from scipy.special import erfcx

from specfit.lineshapes.faddeeva import LORENTZ_LIMIT, voigt_unit_all

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
_VOIGT_LORENTZ_LIMIT = LORENTZ_LIMIT


def _voigt_all(t: Array, r: Array, derivatives: bool = True) -> tuple[Array, Array | None, Array | None]:
    """Unit Voigt profile, its t-derivative and its derivative in the Lorentzian fraction ``r``.

    Computed by :func:`specfit.lineshapes.faddeeva.voigt_unit_all` (compiled Weideman-32 Faddeeva
    when numba is installed, ``scipy.special.wofz`` otherwise; Lorentzian limit below
    a Gaussian sigma of ``_VOIGT_LORENTZ_LIMIT`` FWHM).
    """
    return voigt_unit_all(t, r, derivatives)


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


# ---------------------------------------------------------------- CasaXPS LA / LF
# Definitions (x = binding energy, u = (x - E) / F in Lorentzian widths F, l(u) = 1 / (1 + 4 u^2)):
#   LA(alpha, beta, m):    l(u)^alpha for u >= 0 (high BE, the tail side), l(u)^beta for u < 0,
#                          convolved with a Gaussian whose width is set by m (0..499).
#                          CasaXPS manual, "Line Shapes" (casaxps.com/help_manual/line_shapes.htm);
#                          Major et al., Surf. Interface Anal. 53, 689 (2021), Eq. 6; Major, Shah,
#                          Fernandez, Fairley, Linford, Vac. Technol. Coat., March 2020, Eq. 3.
#   LF(alpha, beta, w, m): the same with exponents that rise from alpha/beta at the center to 3 far
#                          away, e(u) = 3 - (3 - alpha) / (1 + 4 (u / w)^2) (beta on the other side),
#                          so the area is finite; w is in Lorentzian widths.  Major, Shah, Avval,
#                          Fernandez, Fairley, Linford, "Advanced line shapes in X-ray photoelectron
#                          spectroscopy II. The finite Lorentzian (LF) line shape", Vac. Technol. Coat.,
#                          April 2020 (MATLAB listing with F = 1), as quoted in public reconstructions.
# Checked on the component curves CasaXPS 2.3.25 exported for LF(0.54,10,80,100,6)
# (``pynxtools_FeO_analyzed_lineshapes_cols.txt``): the two components (FWHM 3.86 and 4.87) are the
# same curve in x / FWHM (0.04 %), so w and m scale with the width, not in eV; the exponent form above
# with w in Lorentzian widths and the ceiling 3 reproduces them to 0.066 % of the peak height (rms
# 0.012 %), with the position at u = 0 (offset fitted: 4e-5 FWHM).  Not published, so calibrated on
# those curves: F = ``CASA_F_PER_PARAMETER`` x CasaXPS's FWHM parameter (0.47958; the spacing of
# the straight segments in CasaXPS's exported tails, 1.850 eV at FWHM 3.8576, is the same F) and the
# Gaussian FWHM = m / ``CASA_M_PER_FWHM`` Lorentzian widths.  CasaXPS draws the tails beyond 7.5 F
# as straight lines between samples one F apart (up to 2e-4 of the height above the curve), which
# specfit does not imitate.  The fifth LF number written by CasaXPS 2.3.25 is not documented.
#: Gaussian FWHM (in Lorentzian widths F) = m / CASA_M_PER_FWHM (calibrated, see above).
CASA_M_PER_FWHM = 58.889
#: Largest m of LA/LF (CasaXPS manual, "Line Shapes": m = 0..499).
CASA_M_MAX = 499.0
#: Far-tail exponent of LF (Major et al. 2020).
CASA_LF_EXPONENT = 3.0
#: Lorentzian width F of LA/LF divided by CasaXPS's FWHM parameter (calibrated, see above).
CASA_F_PER_PARAMETER = 0.47958
_CASA_HALF_RANGE = 200.0  # tabulated over +/- 200 Lorentzian widths, unconvolved tails beyond
_CASA_STEP = 0.004


def _casa_raw(u: Array, alpha: float, beta: float, w: float | None) -> Array:
    """Unconvolved LA (``w`` None) or LF kernel at ``u`` Lorentzian widths from the center."""
    lor = 1.0 / (1.0 + 4.0 * u * u)
    power = np.where(u >= 0, alpha, beta)
    if w:
        power = CASA_LF_EXPONENT - (CASA_LF_EXPONENT - power) / (1.0 + 4.0 * (u / w) ** 2)
    return lor**power


@lru_cache(maxsize=64)
def _casa_table(params: tuple[float, ...]) -> tuple[Array, Array, Array, float, float, float]:
    """(u grid, unit-area profile, its u-derivative, area norm, FWHM/F, LF w or 0) for LA/LF ``params``."""
    from scipy.integrate import quad
    from scipy.signal import fftconvolve

    if len(params) == 3:
        alpha, beta, m = params
        w = None
    else:
        alpha, beta, w, m = params[:4]
        w = max(w, 1e-3)  # w = 0: the strongest damping
    sigma = m / CASA_M_PER_FWHM * _SIGMA_PER_FWHM
    pad = 8.0 * sigma
    n = int(np.ceil((_CASA_HALF_RANGE + pad) / _CASA_STEP))
    u = np.arange(-n, n + 1) * _CASA_STEP  # symmetric, with the cusp u = 0 on the grid
    raw = _casa_raw(u, alpha, beta, w)
    inside = np.abs(u) <= _CASA_HALF_RANGE + 1e-12
    norm = float(np.trapezoid(raw[inside], u[inside]))
    for side in (1.0, -1.0):  # exact tails beyond the table (the convolution keeps the area)
        norm += quad(lambda v, sd=side: float(_casa_raw(np.array(sd * v), alpha, beta, w)),
                     _CASA_HALF_RANGE, np.inf,
                     epsabs=1e-14, epsrel=1e-12, limit=200)[0]
    if sigma > 0 and pad >= _CASA_STEP:
        k = np.arange(-int(pad / _CASA_STEP), int(pad / _CASA_STEP) + 1) * _CASA_STEP  # odd, centred on 0
        kern = np.exp(-0.5 * (k / sigma) ** 2)
        raw = fftconvolve(raw, kern / kern.sum(), mode="same")
    from scipy.optimize import brentq, minimize_scalar

    u, g = u[inside], raw[inside] / norm
    dg = np.gradient(g, u, edge_order=2)
    value = lambda v: float(_hermite(u, g, dg, np.array(v), False))  # noqa: E731
    imax = int(np.argmax(g))
    top = minimize_scalar(lambda v: -value(v), bounds=(u[imax - 1], u[imax + 1]), method="bounded",
                          options={"xatol": 1e-12}).x
    half = value(top) / 2.0
    left = np.nonzero(g[:imax] < half)[0][-1]
    right = imax + np.nonzero(g[imax:] < half)[0][0]
    x_left = brentq(lambda v: value(v) - half, u[left], top, xtol=1e-14)
    x_right = brentq(lambda v: value(v) - half, top, u[right], xtol=1e-14)
    return u, g, dg, norm, float(x_right - x_left), w or 0.0


def _hermite(u: Array, g: Array, dg: Array, at: Array, derivative: bool) -> Array:
    """Cubic Hermite interpolation of a tabulated (g, dg) on the uniform grid ``u`` (C1, exact derivative)."""
    step = u[1] - u[0]
    pos = np.clip((at - u[0]) / step, 0.0, u.size - 1.0)
    i = np.minimum(pos.astype(int), u.size - 2)
    s = pos - i
    g0, g1, m0, m1 = g[i], g[i + 1], dg[i] * step, dg[i + 1] * step
    if derivative:
        return ((6 * s * s - 6 * s) * g0 + (3 * s * s - 4 * s + 1) * m0 + (6 * s - 6 * s * s) * g1
                + (3 * s * s - 2 * s) * m1) / step
    s2, s3 = s * s, s * s * s
    return (2 * s3 - 3 * s2 + 1) * g0 + (s3 - 2 * s2 + s) * m0 + (3 * s2 - 2 * s3) * g1 + (s3 - s2) * m1


def casa_parameters(name: str) -> tuple[str, tuple[float, ...]] | None:
    """``"LF(0.54,10,80,100)"`` -> ``("lf", (0.54, 10, 80, 100))``; ``None`` when not LA/LF notation.

    ``LA(a, m)`` is the symmetric form ``LA(a, a, m)``.  A fifth LF number (written by
    CasaXPS 2.3.25, meaning undocumented) is kept in the name but does not change the shape.

    Raises
    ------
    KeyError
        Wrong number of values or a negative value.
    """
    import re

    match = re.fullmatch(r"\s*(la|lf)\s*\(([^()]*)\)\s*", name, flags=re.IGNORECASE)
    if not match:
        return None
    kind = match.group(1).lower()
    try:
        values = tuple(float(v) for v in match.group(2).split(","))
    except ValueError:
        raise KeyError(f"lineshape {name!r}: values must be numbers") from None
    if kind == "la" and len(values) == 2:
        values = (values[0], values[0], values[1])
    wanted = (3,) if kind == "la" else (4, 5)
    if len(values) not in wanted or any(v < 0 for v in values) or min(values[:2]) <= 0:
        raise KeyError(f"lineshape {name!r}: {kind.upper()} takes "
                       f"{'(alpha, beta, m)' if kind == 'la' else '(alpha, beta, w, m)'} with alpha, beta > 0")
    if kind == "la" and min(values[:2]) <= 0.5:  # tails l(u)^alpha ~ u^(-2 alpha): no finite area, no "area"
        raise KeyError(f"lineshape {name!r}: LA has a finite area only for alpha, beta > 0.5 (use LF for "
                       "heavier tails)")
    if values[2 if kind == "la" else 3] > CASA_M_MAX:
        raise KeyError(f"lineshape {name!r}: the Gaussian width m must lie in 0..{CASA_M_MAX:g} (CasaXPS manual)")
    return kind, values


def casa_fwhm_factor(name: str, shape: float = 0.0) -> float:
    """True FWHM per unit of CasaXPS's FWHM parameter for lineshape ``name`` (``gl``, ``sgl``, LA/LF).

    SGL: 1 (exact); GL(p): ``s(p)`` (CasaXPS's nominal width is not the true FWHM,
    see :func:`gl`); LA/LF: ``CASA_F_PER_PARAMETER`` times the profile's FWHM in
    Lorentzian widths.
    """
    if name == "gl":
        return float(np.sqrt(_gl_scale2(np.asarray(shape, float))))
    parsed = casa_parameters(name)
    if parsed is None:
        return 1.0
    kind, values = parsed
    return CASA_F_PER_PARAMETER * _casa_table(values[:3] if kind == "la" else values[:4])[4]


def _casa_lineshape(name: str, lazy: bool = False) -> Lineshape:
    """The LA/LF lineshape ``name``, its table (:func:`_casa_table`) computed now, so that values without a
    finite, normalisable profile are refused where the name is read (``KeyError``).  ``lazy``: at its first
    evaluation instead (the two built-in entries: about 0.3 s and scipy.signal's 0.35 s import, which
    ``import specfit`` should not pay)."""
    kind, values = casa_parameters(name)
    shape_values = values[:3] if kind == "la" else values[:4]
    alpha, beta = shape_values[:2]
    held: list = []

    def table() -> tuple[Array, Array, Array, float, float, float]:
        if not held:
            try:
                found = _casa_table(shape_values)
                u, g, _, norm, width, _ = found
                problem = ("" if np.all(np.isfinite(g)) and np.isfinite(norm) and norm > 0 and np.isfinite(width)
                           and 0 < width < u[-1] else "not finite")
            except (ValueError, IndexError, ArithmeticError, MemoryError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                raise KeyError(f"lineshape {name!r}: these {kind.upper()} values give no finite, normalisable "
                               f"profile ({problem})")
            held.append(found)
        return held[0]

    if not lazy:
        table()

    def unit(t: Array, s: Array | None = None) -> Array:
        u, g, dg, norm, width, w = table()
        ut = np.asarray(t, float) * width
        near = np.abs(ut) < u[-1]
        return width * np.where(near, _hermite(u, g, dg, ut, False), _casa_raw(ut, alpha, beta, w or None) / norm)

    def dt(t: Array, s: Array | None = None) -> Array:
        u, g, dg, norm, width, w = table()
        ut = np.asarray(t, float) * width
        near = np.abs(ut) < u[-1]
        h = 1e-6 * np.maximum(np.abs(ut), 1.0)
        far = (_casa_raw(ut + h, alpha, beta, w or None) - _casa_raw(ut - h, alpha, beta, w or None)) / (2 * h * norm)
        return width * width * np.where(near, _hermite(u, g, dg, ut, True), far)

    canonical = f"{kind}({','.join(format(v, 'g') for v in values)})"
    return Lineshape(canonical, unit, dt, None, None, (0.0, 0.0), 0.0)


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
# CasaXPS LA/LF: fixed shape constants carried in the name, e.g. "lf(0.54,10,80,100)";
# the bare names stand for LA(1, 1, 100) (a Voigt) and LF(1, 1, 80, 100).
LINESHAPE_TABLE["la"] = _casa_lineshape("la(1,1,100)", lazy=True)._replace(name="la")
LINESHAPE_TABLE["lf"] = _casa_lineshape("lf(1,1,80,100)", lazy=True)._replace(name="lf")

#: Names accepted by the peak-library key ``lineshape``.
LINESHAPES: tuple[str, ...] = tuple(LINESHAPE_TABLE)


def register_lineshape(lineshape: Lineshape) -> Lineshape:
    """Add ``lineshape`` to the registry under ``lineshape.name`` (a new lineshape is one module calling this).

    The batch engine runs a registered lineshape through the numpy path unless
    the compiled kernels know it (:data:`specfit.engines.fused.LINESHAPE_CODES`);
    the result then says so in ``attrs["engine_path"]``.

    Raises
    ------
    ValueError
        The name is taken.
    """
    global LINESHAPES
    if lineshape.name in LINESHAPE_TABLE:
        raise ValueError(f"lineshape {lineshape.name!r} is already registered")
    LINESHAPE_TABLE[lineshape.name] = lineshape
    LINESHAPES = tuple(LINESHAPE_TABLE)
    get_lineshape.cache_clear()
    return lineshape


@lru_cache(maxsize=128)
def get_lineshape(name: str) -> Lineshape:
    """Return the :class:`Lineshape` called ``name`` (``KeyError`` lists the choices).

    Besides the table names, CasaXPS notation with fixed constants is accepted:
    ``"la(alpha,beta,m)"``, ``"la(alpha,m)"`` and ``"lf(alpha,beta,w,m)"`` (any case).
    """
    if name in LINESHAPE_TABLE:
        return LINESHAPE_TABLE[name]
    if casa_parameters(name) is not None:
        return _casa_lineshape(name)
    raise KeyError(f"unknown lineshape {name!r}; choose one of {', '.join(LINESHAPES)}, "
                   "or la(alpha,beta,m) / lf(alpha,beta,w,m)")


def is_lineshape(name: str) -> bool:
    """True when :func:`get_lineshape` accepts ``name``."""
    try:
        get_lineshape(name)
    except KeyError:
        return False
    return True


def canonical_lineshape(name: str) -> str:
    """Name as stored in a library: table names unchanged, LA/LF as ``"lf(0.54,10,80,100)"``."""
    return get_lineshape(name).name


def parse_lineshape(text: str) -> tuple[str, float | None]:
    """CasaXPS notation -> (lineshape name, fixed shape parameter or None).

    ``"GL(30)"``/``"SGL(10)"`` -> ``("gl", 0.3)``; ``"LF(0.54,10,80,100)"`` -> its
    canonical name with no free shape; a plain name -> (name, None).

    Raises
    ------
    KeyError
        Unknown name or a Lorentzian percentage outside 0..100.
    """
    import re

    match = re.fullmatch(r"\s*(s?gl)\s*\(\s*(\d+(?:\.\d*)?)\s*\)\s*", text, flags=re.IGNORECASE)
    if match:
        percent = float(match.group(2))
        if not 0 <= percent <= 100:
            raise KeyError(f"lineshape {text!r}: the Lorentzian percentage must lie in 0..100")
        return match.group(1).lower(), percent / 100.0
    name = text.strip()
    if casa_parameters(name) is not None:
        return canonical_lineshape(name), None
    name = name.lower()
    get_lineshape(name)
    return name, None


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
    if name == "doniach_sunjic" or name.lower().startswith(("la", "lf")):
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


def casa_la(x: ArrayLike, area: float = 1.0, center: float = 0.0, fwhm: float = 1.0, alpha: float = 1.0,
            beta: float = 1.0, m: float = 100.0) -> Array:
    """CasaXPS LA(alpha, beta, m): asymmetric Lorentzian convolved with a Gaussian, unit area.

    ``fwhm`` is the true FWHM, ``center`` the Lorentzian center (CasaXPS's
    position, confirmed on its exported LF curves; the maximum moves towards
    the tail); alpha shapes the high-x side.  Sources: CasaXPS manual, Line
    Shapes; Major et al., Surf. Interface Anal. 53, 689 (2021), Eq. 6.  The
    Gaussian FWHM is m / ``CASA_M_PER_FWHM`` Lorentzian widths (calibrated on
    CasaXPS's LF exports; CasaXPS does not publish the mapping).
    """
    return profile(f"la({alpha:g},{beta:g},{m:g})", x, area, center, fwhm)


def casa_lf(x: ArrayLike, area: float = 1.0, center: float = 0.0, fwhm: float = 1.0, alpha: float = 1.0,
            beta: float = 1.0, w: float = 80.0, m: float = 100.0) -> Array:
    """CasaXPS LF(alpha, beta, w, m): finite Lorentzian, unit area.

    LA whose exponents rise from alpha/beta at the center to ``CASA_LF_EXPONENT``
    (3) in the tails, ``e(u) = 3 - (3 - alpha) / (1 + 4 (u / w)^2)`` with ``u`` and
    ``w`` in Lorentzian widths (Major, Shah, Avval, Fernandez, Fairley, Linford,
    Vac. Technol. Coat., April 2020), so the area is finite.  Same conventions as
    :func:`casa_la`; matches CasaXPS 2.3.25's exported LF(0.54,10,80,100,6) curves
    to 0.07 % of the peak height.
    """
    return profile(f"lf({alpha:g},{beta:g},{w:g},{m:g})", x, area, center, fwhm)
