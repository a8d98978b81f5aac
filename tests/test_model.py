"""The compiled model description: its analytic Jacobian against finite differences, every lineshape and
in-fit background."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from specfit.library.loader import load_library
from specfit.lineshapes.profiles import LINESHAPES, get_lineshape
from specfit.model.spec import compile_model, evaluate_with_jacobian

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT.parent / "shared" / "cases"
CURVES = {"data", "best_fit", "background", "residual", "component_curve"}


def _cases(name: str) -> Path:
    from conftest import shared_path

    return shared_path("..", "cases", name)



# ------------------------------------------------------------------ model Jacobian
@pytest.mark.parametrize("background", ["none", "linear", "polynomial", "shirley"])
@pytest.mark.parametrize("lineshape", LINESHAPES)
def test_model_jacobian_matches_finite_differences(lineshape, background):
    lib = load_library("xps/F1s")
    ls = get_lineshape(lineshape)
    from dataclasses import replace

    lo, hi = ls.shape_limits
    shape = ls.default_shape
    comps = tuple(replace(c, lineshape=lineshape, shape=shape, shape_range=(lo, hi) if hi > lo else (shape, shape))
                  for c in lib.components[:2])
    lib = replace(lib, components=comps)
    x = np.linspace(680.0, 694.0, 141)
    spec = compile_model(lib, x, background=background)
    rng = np.random.default_rng(0)
    theta = spec.default.copy()
    for j, group in enumerate(spec.groups):
        if group == "area":
            theta[j] = rng.uniform(50, 150)
        elif group == "background":
            theta[j] = rng.uniform(0.01, 0.2)
        elif np.isfinite(spec.lower[j]) and np.isfinite(spec.upper[j]):
            theta[j] = spec.lower[j] + rng.uniform(0.3, 0.7) * (spec.upper[j] - spec.lower[j])
    _, jac = evaluate_with_jacobian(spec, theta[None], x)
    for j in range(spec.n_params):
        h = 1e-6 * max(abs(theta[j]), 1.0)
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        numeric = (evaluate_with_jacobian(spec, up[None], x)[0] - evaluate_with_jacobian(spec, down[None], x)[0])[0]
        numeric /= 2 * h
        scale = np.max(np.abs(numeric)) + 1e-12
        np.testing.assert_allclose(jac[0, :, j], numeric, atol=1e-5 * scale, rtol=0,
                                   err_msg=f"{lineshape}/{background}: {spec.names[j]}")
