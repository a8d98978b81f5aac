"""Whittaker-smoother baselines for Raman (pybaselines asymmetric least squares)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from specfit.backgrounds._validation import background_method
from specfit.errors import DataError


@background_method
def als_background(x: NDArray, y: NDArray, *, lam: float = 1e5, p: float = 0.01, method: str = "asls") -> NDArray:
    """Asymmetric least squares (``asls``) or ``arpls`` baseline via pybaselines.

    Parameters
    ----------
    lam : float
        Smoothness (larger is stiffer); it acts per point, so it depends on the sampling.
    p : float
        Asymmetry weight for ``asls`` (points above the baseline get weight ``p``).
    method : {"asls", "arpls"}
        Whittaker variant.
    """
    from pybaselines import Baseline

    fitter = Baseline(x_data=x)
    if method == "arpls":
        baseline, _ = fitter.arpls(y, lam=lam)
    elif method == "asls":
        baseline, _ = fitter.asls(y, lam=lam, p=p)
    else:
        raise DataError(f"unknown ALS method {method!r}; use 'asls' or 'arpls'")
    return np.asarray(baseline, float)
