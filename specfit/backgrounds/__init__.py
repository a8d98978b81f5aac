"""Backgrounds: one module per algorithm family, one public entry point."""

from __future__ import annotations

from numpy.typing import ArrayLike, NDArray

from specfit.backgrounds.als import als_background
from specfit.backgrounds.polynomial import linear_background, polynomial_background
from specfit.backgrounds.registry import BACKGROUND_NAMES, IN_FIT_NAMES, REGISTRY, SUBTRACTED_ALGORITHMS, get_background
from specfit.backgrounds.shirley import (
    BackgroundInfo,
    cumulative_trapezoid,
    shirley_background,
    shirley_step,
    shirley_with_info,
)
from specfit.backgrounds.tougaard import TOUGAARD_C, tougaard_background, tougaard_kernel
from specfit.errors import DataError

_KINDS = {
    "shirley": shirley_background,
    "linear": linear_background,
    "polynomial": polynomial_background,
    "tougaard": tougaard_background,
    "als": als_background,
    "arpls": lambda x, y, **kw: als_background(x, y, method="arpls", **kw),
}

#: Algorithms :func:`background` runs; the fit's names for backgrounds subtracted before the fit
#: (``shirley_fixed``, ``tougaard``, ``als``, ``arpls``: :data:`SUBTRACTED_ALGORITHMS`) are accepted too.
BACKGROUND_KINDS: tuple[str, ...] = tuple(_KINDS)

__all__ = [
    "BACKGROUND_KINDS", "BACKGROUND_NAMES", "IN_FIT_NAMES", "REGISTRY", "SUBTRACTED_ALGORITHMS", "BackgroundInfo",
    "TOUGAARD_C", "als_background", "background", "background_with_info", "cumulative_trapezoid", "get_background",
    "shirley_with_info",
    "linear_background", "polynomial_background", "shirley_background", "shirley_step",
    "tougaard_background", "tougaard_kernel",
]


def background(x: ArrayLike, y: ArrayLike, kind: str = "shirley", **options) -> NDArray:
    """Background of one spectrum.

    Parameters
    ----------
    x, y : array_like
        Spectral axis (either order) and intensity.
    kind : {"shirley", "shirley_fixed", "linear", "polynomial", "tougaard", "als", "arpls"}
        Algorithm; ``options`` go to it (e.g. ``n_average``, ``region=(lo, hi)``,
        ``endpoints="centred"`` for Shirley and Tougaard; ``cross_section``,
        ``b``, ``c``, ``d`` for Tougaard; ``degree`` for polynomial; ``lam``/``p`` for ALS).

    Returns
    -------
    numpy.ndarray
        The background, in the order of ``x``.

    Raises
    ------
    DataError
        Unknown kind, or a background that only exists refined with the peaks.

    Notes
    -----
    One vocabulary with :func:`specfit.fit` (:mod:`specfit.backgrounds.registry`):
    a background computed here, from the data alone, is what ``fit`` subtracts
    before fitting, so ``"shirley"`` here is the converged iterative Shirley
    that ``fit`` calls ``"shirley_fixed"`` (both names work); ``fit``'s own
    ``"shirley"`` and ``"tougaard_active"`` are refined together with the peaks
    and cannot be computed without them.
    """
    kind = SUBTRACTED_ALGORITHMS.get(kind, kind)
    if kind in IN_FIT_NAMES and kind not in _KINDS:
        raise DataError(f"background {kind!r} is refined in the fit together with the peaks; compute it with "
                        f"specfit.fit(..., background={kind!r}), or here the subtracted kind "
                        f"{kind.replace('_active', '')!r}")
    try:
        func = _KINDS[kind]
    except KeyError:
        raise DataError(f"unknown background kind {kind!r}; choose one of "
                        f"{', '.join(dict.fromkeys(_KINDS | dict(SUBTRACTED_ALGORITHMS)))}") from None
    return func(x, y, **options)


def background_with_info(x: ArrayLike, y: ArrayLike, kind: str = "shirley",
                         **options) -> tuple[NDArray, BackgroundInfo]:
    """:func:`background` plus a :class:`BackgroundInfo`; never raises for a non-converged Shirley.

    ``info.converged`` False is what the fit pipeline turns into the per-spectrum
    flag ``background_not_converged`` (``info.message`` says why).
    """
    if SUBTRACTED_ALGORITHMS.get(kind, kind) == "shirley":
        return shirley_with_info(x, y, **options)
    return background(x, y, kind, **options), BackgroundInfo()
