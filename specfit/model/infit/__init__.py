"""Backgrounds refined inside the model, one module each, behind one registry.

Each in-fit background (its name declared in :mod:`specfit.backgrounds.registry`,
stage ``in_fit``) is an :class:`InFitBackground` registered here by its own
module: its parameters, its curve, its contribution to the Jacobian and its
starting values.  The model compiler (:mod:`specfit.model.spec`) and the
starting values (:mod:`specfit.model.initial`) ask the registry; they hold no
background-specific branch.  The compiled kernels (:mod:`specfit.engines.fused`)
know ``none``, ``linear``, ``polynomial`` and ``shirley``; any other in-fit
background runs the numpy path (the result's ``attrs["engine_path"]`` says so).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray


class SpecLike(Protocol):
    """What a background reads of a :class:`~specfit.model.spec.ModelSpec`."""

    background_index: tuple[int, ...]
    x_mid: float
    x_half: float
    loss: NDArray | None


class InFitBackground:
    """An in-fit background; subclasses override what differs from "no background"."""

    name = ""

    def parameters(self, x: NDArray, degree: int, options: dict) -> tuple[list[tuple[str, float]], NDArray | None]:
        """Parameter names with their starting values (all unbounded), and any state the model keeps (``spec.loss``)."""
        return [], None

    def curve(self, spec: SpecLike, theta: NDArray, x: NDArray, peaks_total: NDArray) -> NDArray:
        """The background ``(N, M)`` under peaks summing to ``peaks_total`` ``(N, M)``."""
        return np.zeros((theta.shape[0], x.size))

    def model_and_jacobian(self, spec: SpecLike, theta: NDArray, x: NDArray, peaks: NDArray,
                           jac: NDArray) -> NDArray:
        """Model ``(N, M)`` = peaks + background; completes ``jac`` ``(N, M, P)`` (the peaks' part) in place."""
        return peaks

    def start_design(self, spec: SpecLike, x: NDArray, y: NDArray) -> tuple[NDArray, NDArray | None, object]:
        """Before the starting least squares: ``(target, extra design columns (M, K) or None, state)``."""
        return y, None, None

    def start_values(self, spec: SpecLike, theta: NDArray, x: NDArray, coef: NDArray, areas: NDArray,
                     design: NDArray, state: object) -> None:
        """Write the background's starting values into ``theta`` ``(N, P)`` (``coef``: the extra columns' values)."""


_REGISTRY: dict[str, InFitBackground] = {}


def register_infit_background(background: InFitBackground) -> InFitBackground:
    """Add ``background`` under ``background.name`` (each implementation module calls this)."""
    _REGISTRY[background.name] = background
    return background


def get_infit_background(name: str) -> InFitBackground:
    """The in-fit background ``name`` (``KeyError`` for a subtracted or unknown one)."""
    return _REGISTRY[name]


register_infit_background(type("NoBackground", (InFitBackground,), {"name": "none"})())

# the implementations register themselves on import (after the registry exists)
from specfit.model.infit import polynomial, shirley, tougaard  # noqa: E402, F401

__all__ = ["InFitBackground", "SpecLike", "get_infit_background", "register_infit_background"]
