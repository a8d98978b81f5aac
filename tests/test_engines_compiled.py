"""The compiled engine (specfit.engines.fused, specfit.engines.compiled_lm) against the numpy model and engine."""

from __future__ import annotations

import numpy as np
import pytest

from specfit.lineshapes import faddeeva


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
