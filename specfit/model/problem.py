"""The weighted least-squares problem of a batch: one object every engine calls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from specfit.model.spec import ModelSpec, evaluate, evaluate_with_jacobian


@dataclass
class FitProblem:
    """Residuals ``w * (model - y)`` of ``N`` spectra on one ascending axis ``x``."""

    spec: ModelSpec
    x: NDArray  # (M,)
    y: NDArray  # (N, M)
    weights: NDArray  # (N, M); 0 for missing points

    def residual(self, theta: NDArray, rows: NDArray) -> NDArray:
        return self.weights[rows] * (evaluate(self.spec, theta, self.x) - self.y[rows])

    def residual_jacobian(self, theta: NDArray, rows: NDArray) -> tuple[NDArray, NDArray]:
        model, jac = evaluate_with_jacobian(self.spec, theta, self.x)
        w = self.weights[rows]
        return w * (model - self.y[rows]), jac * w[:, :, None]

    @property
    def n_points(self) -> NDArray:
        """Points that carry weight, per spectrum."""
        return np.count_nonzero(self.weights > 0, axis=1)
