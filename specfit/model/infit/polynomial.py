"""Linear and polynomial backgrounds refined in the fit (linear in their coefficients).

The polynomial is written in ``u``, the axis scaled to [-1, 1] over the fitted
window, so its coefficients stay of the order of the data whatever the axis units.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specfit.model.infit import InFitBackground, SpecLike, register_infit_background


def polynomial_basis(spec: SpecLike, x: NDArray) -> NDArray:
    """Columns ``u**d`` with ``u`` the axis scaled to [-1, 1], shape ``(M, degree + 1)``."""
    u = (np.asarray(x, float) - spec.x_mid) / spec.x_half
    return np.stack([u**d for d in range(len(spec.background_index))], axis=-1)


class Polynomial(InFitBackground):
    """``sum_d c_d u**d``; ``linear`` is degree 1, ``polynomial`` the fit option ``degree``."""

    name = "polynomial"
    fixed_degree: int | None = None

    def parameters(self, x: NDArray, degree: int, options: dict) -> tuple[list[tuple[str, float]], None]:
        deg = self.fixed_degree if self.fixed_degree is not None else int(degree)
        return [(f"bg_c{d}", 0.0) for d in range(deg + 1)], None

    def curve(self, spec: SpecLike, theta: NDArray, x: NDArray, peaks_total: NDArray) -> NDArray:
        return theta[:, list(spec.background_index)] @ polynomial_basis(spec, x).T

    def model_and_jacobian(self, spec: SpecLike, theta: NDArray, x: NDArray, peaks: NDArray,
                           jac: NDArray) -> NDArray:
        basis = polynomial_basis(spec, x)
        jac[:, :, list(spec.background_index)] = basis[None]
        return peaks + theta[:, list(spec.background_index)] @ basis.T

    def start_design(self, spec: SpecLike, x: NDArray, y: NDArray) -> tuple[NDArray, NDArray, None]:
        return y, polynomial_basis(spec, x), None  # the coefficients are solved with the areas

    def start_values(self, spec: SpecLike, theta: NDArray, x: NDArray, coef: NDArray, areas: NDArray,
                     design: NDArray, state: object) -> None:
        theta[:, list(spec.background_index)] = coef


class Linear(Polynomial):
    name = "linear"
    fixed_degree = 1


register_infit_background(Polynomial())
register_infit_background(Linear())
