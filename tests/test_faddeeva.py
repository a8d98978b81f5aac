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


@pytest.mark.skipif(not faddeeva.HAVE_NUMBA, reason="the fused kernel needs numba")
@pytest.mark.parametrize("library,lineshape,background", [
    ("raman/fsi_tfsi", None, "polynomial"), ("raman/fsi_tfsi", "pseudo_voigt", "linear"),
    ("raman/fsi_tfsi", "gaussian", "none"), ("raman/fsi_tfsi", "lorentzian", "linear"),
    ("xps/S2p", None, "shirley"), ("xps/S2p", "pseudo_voigt", "shirley")])
def test_fused_kernel_matches_the_numpy_model(library, lineshape, background):
    """Compiled residual, Jacobian and normal equations equal model.evaluate_with_jacobian's (ties, doublets)."""
    from specfit.engines.fused import compile_problem
    from specfit.fitting.api import resolve_library
    from specfit.model.problem import FitProblem
    from specfit.model.spec import compile_model

    lib = resolve_library(library, lineshape=lineshape)
    lo, hi = lib.window
    x = np.linspace(lo, hi, 257)
    spec = compile_model(lib, x, background=background)
    rng = np.random.default_rng(1)
    n = 7
    theta = np.clip(spec.default + rng.uniform(-0.2, 0.2, (n, spec.n_params)), spec.lower, spec.upper)
    theta[:, [i for i, g in enumerate(spec.groups) if g == "area"]] = rng.uniform(1, 50, (n, 1))
    if background == "shirley":
        theta[:, spec.background_index[1]] = 0.05
    y = rng.normal(10, 1, (n, x.size))
    weights = rng.uniform(0.5, 2.0, (n, x.size))
    problem = FitProblem(spec, x, y, weights)
    compiled = compile_problem(problem)
    assert compiled is not None
    rows = np.array([6, 2, 3])
    r_ref, j_ref = problem.residual_jacobian(theta[rows], rows)
    r, j = compiled.residual_jacobian(theta[rows], rows)
    assert np.max(np.abs(r - r_ref)) <= 1e-12 * np.max(np.abs(r_ref))
    assert np.max(np.abs(j - j_ref)) <= 1e-12 * np.max(np.abs(j_ref))
    cost, grad, hess = compiled.normal_equations(theta[rows], rows)
    assert np.allclose(cost, np.einsum("nm,nm->n", r_ref, r_ref), rtol=1e-12)
    assert np.allclose(grad, np.einsum("nmp,nm->np", j_ref, r_ref), rtol=1e-10, atol=1e-12 * np.abs(grad).max())
    assert np.allclose(hess, np.einsum("nmp,nmq->npq", j_ref, j_ref), rtol=1e-10, atol=1e-12 * np.abs(hess).max())


@pytest.mark.skipif(not faddeeva.HAVE_NUMBA, reason="the fused kernel needs numba")
@pytest.mark.parametrize("library,background", [("raman/fsi_tfsi", "polynomial"), ("xps/S2p", "shirley")])
def test_variable_projection_solves_the_linear_parameters_exactly(library, background):
    """Projected areas/background = weighted linear least squares at fixed nonlinear parameters (numpy lstsq)."""
    from specfit.engines.fused import compile_problem
    from specfit.fitting.api import resolve_library
    from specfit.model.problem import FitProblem
    from specfit.model.spec import compile_model, evaluate

    lib = resolve_library(library)
    x = np.linspace(*lib.window, 301)
    spec = compile_model(lib, x, background=background)
    rng = np.random.default_rng(5)
    truth = np.clip(spec.default + rng.uniform(-0.1, 0.1, spec.n_params), spec.lower, spec.upper)
    truth[[i for i, g in enumerate(spec.groups) if g == "area"]] = rng.uniform(5, 20, spec.groups.count("area"))
    if background == "shirley":
        truth[list(spec.background_index)] = [3.0, 0.02]
    y = evaluate(spec, truth[None], x) + rng.normal(0, 0.05, (1, x.size))
    weights = rng.uniform(0.5, 2.0, (1, x.size))
    problem = FitProblem(spec, x, y, weights)
    compiled = compile_problem(problem)
    lin = compiled.lin_idx
    start = truth.copy()
    start[lin] = 1.0  # far from the answer
    cost, _, _, projected = compiled.projected_normal_equations(start[None], np.array([0]))
    # reference: the model is linear in the ``lin`` parameters -> columns by finite differences of a linear map
    base = start.copy()
    base[lin] = 0.0
    f0 = evaluate(spec, base[None], x)[0]
    cols = []
    for i in lin:
        probe = base.copy()
        probe[i] = 1.0
        cols.append(evaluate(spec, probe[None], x)[0] - f0)
    design = np.stack(cols, axis=1) * weights[0][:, None]
    coef, *_ = np.linalg.lstsq(design, weights[0] * (y[0] - f0), rcond=None)
    assert np.all(coef[: spec.groups.count("area")] > 0)  # inside the bounds: the unconstrained answer
    np.testing.assert_allclose(projected[0, lin], coef, rtol=1e-8, atol=1e-10)
    nonlinear = np.setdiff1d(np.arange(spec.n_params), lin)
    np.testing.assert_array_equal(projected[0, nonlinear], start[nonlinear])
    resid = weights[0] * (evaluate(spec, projected, x)[0] - y[0])
    assert cost[0] == pytest.approx(resid @ resid, rel=1e-10)


@pytest.mark.skipif(not faddeeva.HAVE_NUMBA, reason="the fused kernel needs numba")
def test_projected_fit_reaches_the_plain_minimum(monkeypatch):
    """Compiled batch fit: same minima as plain Levenberg-Marquardt on the numpy path."""
    import specfit
    import specfit.engines.fused
    from specfit.examples import raman_series

    da, _ = raman_series(6, seed=2)
    fast = specfit.fit(da, "raman/fsi_tfsi", shape_tie="none", progress=False)
    monkeypatch.setattr(specfit.engines.fused, "compile_problem", lambda problem: None)
    plain = specfit.fit(da, "raman/fsi_tfsi", shape_tie="none", progress=False)
    assert bool(fast.success.all()) and bool(plain.success.all())
    assert abs(int(fast.nfev.sum()) - int(plain.nfev.sum())) <= 6  # the same steps (a 14x14 solver may differ)
    np.testing.assert_allclose(fast.redchi, plain.redchi, rtol=1e-6)
    np.testing.assert_allclose(fast.fraction, plain.fraction, atol=1e-5)


@pytest.mark.skipif(not faddeeva.HAVE_NUMBA, reason="the fused kernel needs numba")
def test_projection_skips_singular_and_nan_problems():
    """Two identical lines (singular linear system) or NaN parameters: no projection, no exception."""
    from specfit.engines.fused import compile_problem
    from specfit.fitting.api import resolve_library
    from specfit.model.problem import FitProblem
    from specfit.model.spec import compile_model

    lib = resolve_library("raman/fsi_tfsi")
    x = np.linspace(*lib.window, 201)
    spec = compile_model(lib, x, background="linear")
    theta = np.tile(spec.default, (3, 1))
    centers = [i for i, g in enumerate(spec.groups) if g == "center"]
    widths = [i for i, g in enumerate(spec.groups) if g == "width"]
    theta[0, centers[1]] = theta[0, centers[0]] = 740.0  # free and CIP identical -> singular design
    theta[0, widths[1]] = theta[0, widths[0]]
    theta[0, [i for i, g in enumerate(spec.groups) if g == "shape"]] = 0.5
    theta[2, centers[2]] = np.nan
    y = np.random.default_rng(0).normal(5, 1, (3, x.size))
    compiled = compile_problem(FitProblem(spec, x, y, np.ones_like(y)))
    cost, _, _, projected = compiled.projected_normal_equations(theta, np.arange(3))
    np.testing.assert_array_equal(projected[0], theta[0])  # singular: left as it was
    assert not np.array_equal(projected[1], theta[1])  # regular: projected
    assert np.isfinite(cost[:2]).all() and not np.isfinite(cost[2])


@pytest.mark.skipif(not faddeeva.HAVE_NUMBA, reason="the fused kernel needs numba")
@pytest.mark.parametrize("background", ["linear", "shirley"])
def test_compiled_lm_matches_the_vectorised_lm(background):
    """specfit.engines.compiled_lm (one compiled loop per spectrum) takes the steps of specfit.engines.numpy_lm."""
    from specfit.engines.compiled_lm import compiled_levenberg_marquardt
    from specfit.engines.fused import compile_problem
    from specfit.engines.numpy_lm import levenberg_marquardt
    from specfit.fitting.api import resolve_library
    from specfit.model.initial import initial_theta
    from specfit.model.problem import FitProblem
    from specfit.model.spec import compile_model, evaluate

    lib = resolve_library("raman/fsi_tfsi")
    x = np.linspace(*lib.window, 201)
    spec = compile_model(lib, x, background=background)
    rng = np.random.default_rng(11)
    truth = np.tile(spec.default, (40, 1))
    truth[:, [i for i, g in enumerate(spec.groups) if g == "area"]] = rng.uniform(5, 20, (40, 3))
    truth[:, [i for i, g in enumerate(spec.groups) if g == "center"]] += rng.uniform(-0.5, 0.5, (40, 3))
    if background == "shirley":
        truth[:, list(spec.background_index)] = [0.5, 0.01]
    truth = np.clip(truth, spec.lower, spec.upper)
    y = evaluate(spec, truth, x) + rng.normal(0, 0.05, (40, x.size))
    problem = FitProblem(spec, x, y, np.ones_like(y))
    compiled = compile_problem(problem)
    theta0 = initial_theta(spec, x, y, problem.weights)
    ref = levenberg_marquardt(problem.residual_jacobian, theta0, spec.lower, spec.upper, keep_jacobian=False,
                              normal_equations=compiled.normal_equations)
    theta, cost, nfev, success, hess = compiled_levenberg_marquardt(compiled, theta0, spec.lower, spec.upper)
    assert success.all() and ref.success.all()
    np.testing.assert_allclose(cost, ref.cost, rtol=1e-7)
    assert np.abs(nfev - ref.nfev).max() <= 2  # the same steps; a different 14x14 solver may cost one more
    span = np.where(np.isfinite(spec.upper - spec.lower), spec.upper - spec.lower, 1.0)
    assert np.max(np.abs(theta - ref.theta) / span) < 1e-4
    _, _, at_answer = compiled.normal_equations(theta, np.arange(40))  # J^T J returned for the answer itself
    np.testing.assert_allclose(hess, at_answer, rtol=1e-12)


@pytest.mark.parametrize("rank", [6, 4, 1, 0])
def test_symmetric_least_squares_is_lapacks_minimum_norm_answer(rank):
    """The compiled LM's fallback for a singular damped system equals np.linalg.lstsq (LAPACK gelsd)."""
    from specfit.engines import fused

    solve = getattr(fused.lstsq_symmetric, "py_func", fused.lstsq_symmetric)  # same source as compiled
    rng = np.random.default_rng(rank)
    basis = rng.normal(size=(6, rank))
    a = basis @ np.diag(rng.uniform(0.1, 1e4, rank)) @ basis.T
    b = rng.normal(size=6)
    out = np.empty(6)
    assert solve(a.copy(), b.copy(), out)
    ref = np.linalg.lstsq(a, b, rcond=None)[0]
    np.testing.assert_allclose(out, ref, rtol=1e-7, atol=1e-9 * max(1.0, np.abs(ref).max()))
    bad = a.copy()
    bad[0, 0] = np.nan
    assert not solve(bad, b.copy(), out)
