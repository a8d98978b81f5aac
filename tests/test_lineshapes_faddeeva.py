"""Faddeeva function and Voigt kernel against scipy.special.wofz and numerical derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import voigt_profile
from scipy.special import wofz as scipy_wofz

from specfit.lineshapes import faddeeva
from specfit.lineshapes.faddeeva import voigt_unit_all, wofz, wofz_weideman

COMPILED = [False, True] if faddeeva.HAVE_NUMBA else [False]


def _plane() -> np.ndarray:
    """Upper half plane: a log-polar grid from 1e-6 to 1e6, the real axis and just above it."""
    radius = np.logspace(-6, 6, 121)
    angle = np.concatenate([[0.0, 1e-12, 1e-8, 1e-4], np.linspace(0.01, np.pi - 0.01, 40),
                            [np.pi - 1e-8, np.pi]])
    z = (radius[:, None] * np.exp(1j * angle[None, :])).ravel()
    near_axis = (np.linspace(-60, 60, 2401)[:, None] + 1j * np.array([0.0, 1e-10, 1e-3, 0.1])[None, :]).ravel()
    return np.concatenate([z, near_axis])


def _rel_err(w: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.abs(w - ref) / np.abs(ref)


def test_weideman_numpy_matches_scipy_wofz_across_the_upper_half_plane():
    z = _plane()
    assert np.max(_rel_err(wofz_weideman(z), scipy_wofz(z))) < 1e-10


def test_weideman_numpy_lower_half_plane_by_reflection():
    z = (np.linspace(-5, 5, 41)[:, None] - 1j * np.linspace(0.01, 4, 9)[None, :]).ravel()
    assert np.max(_rel_err(wofz_weideman(z), scipy_wofz(z))) < 1e-10


def test_wofz_matches_scipy_including_lower_half_plane():
    z = np.concatenate([_plane(), (np.linspace(-5, 5, 41)[:, None] - 1j * np.linspace(0.01, 4, 9)).ravel()])
    assert np.max(_rel_err(wofz(z), scipy_wofz(z))) < 1e-10
    assert wofz(z.reshape(-1, 1)).shape == (z.size, 1)


def test_known_values():
    # w(0) = 1; w(iy) = erfcx(y) real; w(x) on the real axis: exp(-x^2) + 2i/sqrt(pi) D(x) (Dawson)
    from scipy.special import dawsn, erfcx

    assert abs(wofz(np.array([0j]))[0] - 1.0) < 1e-13
    y = np.array([0.1, 1.0, 10.0, 1e3])
    assert np.allclose(wofz(1j * y).real, erfcx(y), rtol=1e-12, atol=0)
    x = np.array([0.3, 2.0, 7.0])
    ref = np.exp(-x * x) + 2j / np.sqrt(np.pi) * dawsn(x)
    assert np.max(_rel_err(wofz(x + 0j), ref)) < 1e-12


@pytest.mark.parametrize("compiled", COMPILED)
def test_voigt_unit_value_against_scipy_voigt_profile(compiled):
    t = np.linspace(-40, 40, 2001)
    for r in (0.0, 0.1, 0.5, 0.9, 0.99):
        q = (1 - 0.5346 * r) ** 2 - 0.2166 * r * r
        sigma = np.sqrt(q) / (2 * np.sqrt(2 * np.log(2)))
        ref = voigt_profile(t, sigma, 0.5 * r)
        value, _, _ = voigt_unit_all(t, r, compiled=compiled)
        assert np.max(np.abs(value - ref)) < 1e-12 * ref.max()
    # unit area (tails of the Lorentzian part integrated analytically)
    tt = np.linspace(-2000, 2000, 4_000_001)
    value, _, _ = voigt_unit_all(tt, 0.5, derivatives=False, compiled=compiled)
    tail = 2 * 0.25 / np.pi / 2000  # ~ gamma / (pi t) beyond |t| = 2000
    assert abs(np.trapezoid(value, tt) + tail - 1.0) < 1e-5


@pytest.mark.parametrize("compiled", COMPILED)
def test_voigt_derivatives_against_central_differences(compiled):
    t = np.linspace(-30, 30, 601)[:, None]
    # interior shapes (central differences), incl. sigma just above and below the Lorentzian-limit switch
    r = np.array([0.001, 0.2, 0.5, 0.8, 0.995, 0.99995, 0.99998])[None, :]
    value, d_t, d_r = voigt_unit_all(t, r, compiled=compiled)
    assert value.shape == d_t.shape == d_r.shape == (601, 7)
    h = 1e-5
    num_t = (voigt_unit_all(t + h, r, compiled=compiled)[0] - voigt_unit_all(t - h, r, compiled=compiled)[0]) / (2 * h)
    h = 2e-6  # stays on one side of the Lorentzian-limit switch (r ~ 0.99997)
    lo, hi = r - h, r + h
    num_r = (voigt_unit_all(t, hi, compiled=compiled)[0] - voigt_unit_all(t, lo, compiled=compiled)[0]) / (hi - lo)
    assert np.max(np.abs(d_t - num_t)) < 1e-7
    assert np.max(np.abs(d_r - num_r)) < 1e-7


def test_compiled_and_numpy_paths_agree():
    if not faddeeva.HAVE_NUMBA:
        pytest.skip("numba not installed: only the numpy path exists")
    rng = np.random.default_rng(3)
    t = rng.uniform(-50, 50, (40, 300))
    r = np.concatenate([rng.uniform(0, 1, 37), [0.0, 1.0, 0.99999]])[:, None]
    a = voigt_unit_all(t, r, compiled=True)
    b = voigt_unit_all(t, r, compiled=False)
    for x, y in zip(a, b):
        assert np.max(np.abs(x - y)) < 1e-8 * np.max(np.abs(y))


