"""One plain model description compiled from a library, and its pure functions.

A library plus fit options compiles into a :class:`ModelSpec`: a flat vector
of free parameters with bounds, and for every peak line the affine map
``physical = scale * theta[index] + offset`` of its area, center, FWHM and
shape.  Ties (doublet offsets and area ratios, same-width, fixed offsets,
area ratios between components) are just such maps, so the model and its
analytic Jacobian need no expression evaluation.  The lmfit engine, the
batch engine and the global fit all run :func:`evaluate` on the same spec.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from specfit.backgrounds.registry import IN_FIT_NAMES
from specfit.errors import LibraryError
from specfit.library.loader import Component, Library
from specfit.lineshapes.profiles import get_lineshape, profile_gradients
from specfit.model.infit import get_infit_background

#: Backgrounds refined inside the model (from the background registry); the others are subtracted before the fit.
IN_FIT_BACKGROUNDS = IN_FIT_NAMES


@dataclass(frozen=True)
class ParamMap:
    """``physical = scale * theta[index] + offset``; ``index = -1`` means the constant ``offset``."""

    index: int
    scale: float = 1.0
    offset: float = 0.0

    def value(self, theta: NDArray) -> NDArray:
        if self.index < 0:
            return np.full(theta.shape[:-1], self.offset)
        return self.scale * theta[..., self.index] + self.offset


@dataclass(frozen=True)
class PeakTerm:
    """One line of one component (a doublet has two terms)."""

    component: int
    lineshape: str
    area: ParamMap
    center: ParamMap
    fwhm: ParamMap
    shape: ParamMap


@dataclass(frozen=True)
class ModelSpec:
    """Parameter layout, bounds, ties and background of one model."""

    names: tuple[str, ...]
    groups: tuple[str, ...]  # "area", "center", "width", "shape", "background"
    owners: tuple[int, ...]  # component index of each parameter, -1 for background
    lower: NDArray
    upper: NDArray
    default: NDArray
    components: tuple[str, ...]
    terms: tuple[PeakTerm, ...]
    background: str
    background_index: tuple[int, ...]
    x_mid: float = 0.0
    x_half: float = 1.0
    loss: NDArray | None = None  # active Tougaard: (M, M) loss matrix on the fitted axis

    @property
    def n_params(self) -> int:
        return len(self.names)

    def index_of(self, name: str) -> int:
        return self.names.index(name)


class _Builder:
    def __init__(self) -> None:
        self.names: list[str] = []
        self.groups: list[str] = []
        self.owners: list[int] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.default: list[float] = []

    def add(self, name: str, group: str, owner: int, value: float, lo: float, hi: float) -> int:
        self.names.append(name)
        self.groups.append(group)
        self.owners.append(owner)
        self.lower.append(lo)
        self.upper.append(hi)
        self.default.append(min(max(value, lo), hi))
        return len(self.names) - 1


def _dependency_order(components: tuple[Component, ...], library: Library) -> list[int]:
    names = [c.name for c in components]
    order: list[int] = []
    state: dict[int, int] = {}

    def visit(i: int) -> None:
        if state.get(i) == 2:
            return
        if state.get(i) == 1:
            raise LibraryError(f"{library.path or library.name}: component {names[i]!r}: circular links")
        state[i] = 1
        comp = components[i]
        for link in (comp.same_width_as, comp.same_shape_as, comp.offset_from and comp.offset_from.component,
                     comp.area_ratio_to and comp.area_ratio_to.component):
            if link:
                visit(names.index(link))
        state[i] = 2
        order.append(i)

    for i in range(len(components)):
        visit(i)
    return order


def compile_model(library: Library, x: NDArray, *, background: str | None = None,
                  degree: int = 2, background_options: dict | None = None) -> ModelSpec:
    """Compile ``library`` into a :class:`ModelSpec` for the (ascending) axis ``x``.

    Parameters
    ----------
    library : Library
        Peak library (already restricted to the wanted components).
    x : ndarray
        Spectral axis of the fitted window (used for polynomial scaling).
    background : str, optional
        In-fit background (:mod:`specfit.model.infit`: ``"none"``, ``"linear"``,
        ``"polynomial"``, ``"shirley"`` active Shirley, ``"tougaard_active"``);
        defaults to the library's when in-fit.
    degree : int
        Polynomial degree for ``"polynomial"``.
    background_options : dict, optional
        Options of ``"tougaard_active"`` (``cross_section``, ``c``, ``d``, ``t0``;
        see :mod:`specfit.backgrounds.registry`); others are ignored here.
    """
    background = background or library.background
    if background not in IN_FIT_BACKGROUNDS:
        background = "none"
    comps = library.components
    names = [c.name for c in comps]
    b = _Builder()
    maps: dict[int, dict[str, ParamMap]] = {}
    for i in _dependency_order(comps, library):
        comp = comps[i]
        m: dict[str, ParamMap] = {}
        if comp.area_ratio_to:
            other = maps[names.index(comp.area_ratio_to.component)]["area"]
            m["area"] = ParamMap(other.index, other.scale * comp.area_ratio_to.value, 0.0)
        else:
            m["area"] = ParamMap(b.add(f"{comp.name}_area", "area", i, 1.0, 0.0, np.inf))
        if comp.offset_from:
            other = maps[names.index(comp.offset_from.component)]["center"]
            m["center"] = ParamMap(other.index, other.scale, other.offset + comp.offset_from.value)
        else:
            lo, hi = comp.center_range
            # a zero-width range is a fixed value (Library.constrained(fix=...)), not a parameter on its bound
            m["center"] = (ParamMap(-1, 1.0, lo) if hi <= lo else
                           ParamMap(b.add(f"{comp.name}_center", "center", i, comp.center, lo, hi)))
        if comp.same_width_as:
            other = maps[names.index(comp.same_width_as)]
            m["fwhm"], m["shape"] = other["fwhm"], other["shape"]
        else:
            lo, hi = comp.fwhm_range
            m["fwhm"] = (ParamMap(-1, 1.0, lo) if hi <= lo else
                         ParamMap(b.add(f"{comp.name}_fwhm", "width", i, comp.fwhm, lo, hi)))
            has_shape = get_lineshape(comp.lineshape).shape_name is not None
            lo, hi = comp.shape_range
            if comp.same_shape_as:
                m["shape"] = maps[names.index(comp.same_shape_as)]["shape"]
            elif has_shape and hi > lo:
                m["shape"] = ParamMap(b.add(f"{comp.name}_shape", "shape", i, comp.shape, lo, hi))
            else:
                m["shape"] = ParamMap(-1, 1.0, comp.shape if has_shape else 0.0)
        if comp.doublet and not comp.doublet.shared_width:
            lo, hi = comp.fwhm_range
            m["fwhm2"] = ParamMap(b.add(f"{comp.name}_fwhm2", "width", i, comp.fwhm, lo, hi))
        maps[i] = m

    terms: list[PeakTerm] = []
    for i, comp in enumerate(comps):
        m = maps[i]
        terms.append(PeakTerm(i, comp.lineshape, m["area"], m["center"], m["fwhm"], m["shape"]))
        if comp.doublet:
            d = comp.doublet
            area2 = ParamMap(m["area"].index, m["area"].scale * d.ratio, 0.0)
            center2 = ParamMap(m["center"].index, m["center"].scale, m["center"].offset + d.splitting)
            terms.append(PeakTerm(i, comp.lineshape, area2, center2, m.get("fwhm2", m["fwhm"]), m["shape"]))

    x = np.asarray(x, float)
    params, loss = get_infit_background(background).parameters(x, degree, dict(background_options or {}))
    bg_index = [b.add(name, "background", -1, value, -np.inf, np.inf) for name, value in params]
    return ModelSpec(
        names=tuple(b.names), groups=tuple(b.groups), owners=tuple(b.owners), lower=np.array(b.lower),
        upper=np.array(b.upper), default=np.array(b.default), components=tuple(names), terms=tuple(terms),
        background=background, background_index=tuple(bg_index),
        x_mid=float(0.5 * (x.min() + x.max())), x_half=float(max(0.5 * (x.max() - x.min()), 1e-300)), loss=loss,
    )


def _term_params(term: PeakTerm, theta: NDArray) -> tuple[NDArray, ...]:
    return tuple(pm.value(theta)[..., None] for pm in (term.area, term.center, term.fwhm, term.shape))


def peak_curves(spec: ModelSpec, theta: NDArray, x: NDArray) -> NDArray:
    """Curve of every component, shape ``(N, n_components, M)`` (doublets summed, no background)."""
    theta = np.atleast_2d(theta)
    out = np.zeros((theta.shape[0], len(spec.components), x.size))
    for term in spec.terms:
        area, center, fwhm, shape = _term_params(term, theta)
        fwhm = np.maximum(fwhm, 1e-300)
        t = (x - center) / fwhm
        out[:, term.component] += area / fwhm * get_lineshape(term.lineshape).unit(t, shape)
    return out


def background_curve(spec: ModelSpec, theta: NDArray, x: NDArray, peaks_total: NDArray) -> NDArray:
    """In-fit background, shape ``(N, M)``."""
    return get_infit_background(spec.background).curve(spec, np.atleast_2d(theta), x, peaks_total)


def evaluate(spec: ModelSpec, theta: NDArray, x: NDArray) -> NDArray:
    """Model (peaks + in-fit background), shape ``(N, M)``, for parameters ``theta`` ``(N, P)``."""
    peaks = peak_curves(spec, theta, x).sum(axis=1)
    return peaks + background_curve(spec, theta, x, peaks)


def evaluate_with_jacobian(spec: ModelSpec, theta: NDArray, x: NDArray) -> tuple[NDArray, NDArray]:
    """Model ``(N, M)`` and its analytic Jacobian ``(N, M, P)``."""
    theta = np.atleast_2d(np.asarray(theta, float))
    n, m = theta.shape[0], x.size
    # stored parameter-major, (N, P, M), and returned as its (N, M, P) view: every derivative below
    # is written contiguously (a strided scatter into (N, M, P) took as long as the lineshapes)
    jac = np.zeros((n, spec.n_params, m)).transpose(0, 2, 1)
    peaks = np.zeros((n, m))
    for term in spec.terms:
        area, center, fwhm, shape = _term_params(term, theta)
        value, d_area, d_center, d_fwhm, d_shape = profile_gradients(term.lineshape, x, area, center,
                                                                     np.maximum(fwhm, 1e-300), shape)
        peaks += value
        for pm, deriv in ((term.area, d_area), (term.center, d_center), (term.fwhm, d_fwhm),
                          (term.shape, d_shape)):
            if pm.index >= 0 and deriv is not None:
                jac[:, :, pm.index] += pm.scale * deriv
    return get_infit_background(spec.background).model_and_jacobian(spec, theta, x, peaks, jac), jac
