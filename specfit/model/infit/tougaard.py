"""Active Tougaard: ``low + B x universal loss integral of the fitted peaks``, refined with them.

The loss integral uses the universal inelastic cross-sections of
:mod:`specfit.backgrounds.tougaard` (S. Tougaard, Surf. Interface Anal. 25,
137 (1997)) on the fitted axis, as one ``(M, M)`` matrix built once per model.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specfit.backgrounds.registry import get_background
from specfit.backgrounds.tougaard import DEFAULT_CD, loss_matrix
from specfit.model.infit import InFitBackground, SpecLike, register_infit_background


class ActiveTougaard(InFitBackground):
    name = "tougaard_active"

    def parameters(self, x: NDArray, degree: int, options: dict) -> tuple[list[tuple[str, float]], NDArray]:
        opts = {k: v for k, v in (options or {}).items() if k in get_background(self.name).options}
        kind = str(opts.get("cross_section") or "u2").lower()
        c0, d0 = DEFAULT_CD.get(kind, (1643.0, 0.0))
        c = c0 if opts.get("c") is None else float(opts["c"])
        d = d0 if opts.get("d") is None else float(opts["d"])
        loss = loss_matrix(x, c=c, d=d, cross_section=kind, t0=float(opts.get("t0") or 0.0))
        return [("bg_low", 0.0), ("bg_tougaard_b", 0.0)], loss

    def curve(self, spec: SpecLike, theta: NDArray, x: NDArray, peaks_total: NDArray) -> NDArray:
        low, strength = (theta[:, i][:, None] for i in spec.background_index)
        return low + strength * (peaks_total @ spec.loss.T)

    def model_and_jacobian(self, spec: SpecLike, theta: NDArray, x: NDArray, peaks: NDArray,
                           jac: NDArray) -> NDArray:
        i_low, i_b = spec.background_index
        strength = theta[:, i_b][:, None, None]
        jac += strength * np.einsum("ij,njp->nip", spec.loss, jac)
        lossy = peaks @ spec.loss.T
        jac[:, :, i_low] = 1.0
        jac[:, :, i_b] = lossy
        return peaks + theta[:, i_low][:, None] + theta[:, i_b][:, None] * lossy


register_infit_background(ActiveTougaard())
