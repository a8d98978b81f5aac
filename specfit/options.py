"""Fit options: one frozen, validated object built once at the public boundary.

``specfit.fit(data, library, **options)`` turns its keyword arguments into a
:class:`FitOptions` with :meth:`FitOptions.build`; every inner layer (the
pipeline, the engines, resampled uncertainties, the dask path) receives that
object and never re-parses a dict or a comma-separated string.  Validation
errors are :class:`~specfit.errors.OptionError` (bad option values) or
:class:`~specfit.errors.LibraryError` (a background or lineshape unknown to
the library vocabulary), each one line naming the option and its choices.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from types import MappingProxyType

import numpy as np

from specfit.backgrounds.registry import check_options as check_background_options
from specfit.engines import ENGINES, selectable_engines
from specfit.errors import LibraryError, OptionError
from specfit.library.loader import BACKGROUNDS, SHAPE_TIES, Library, as_names

#: Components one fit may hold (a library or components=... beyond it is refused up front).
MAX_COMPONENTS = 100
#: ``uncertainty=``: ``combined`` (covariance stderr and the model spread, the default), ``statistical`` or
#: ``covariance`` (covariance stderr only), ``montecarlo`` / ``bootstrap`` (resampled stderr only).
UNCERTAINTY_METHODS = ("combined", "statistical", "covariance", "montecarlo", "bootstrap")
WEIGHTS = ("none", "poisson")
SELECTIONS = ("none", "auto")
#: Where a batch's fit starts: a pilot fit of the batch when it has enough spectra, or the library's values.
STARTS = ("auto", "library")
#: ``share`` words and the parameter groups they tie together across a batch.
SHARE_GROUPS = {"center": ("center",), "width": ("width", "shape"), "fwhm": ("width",), "shape": ("shape",)}


def _check_component_list(components: object) -> None:
    """An explicit component list must name each component once: ``""``, ``",,"``, ``"a,,b"`` and ``"a,a"`` are
    errors (they were read as 'every component' or deduplicated silently)."""
    if components is None:
        return
    items = components.split(",") if isinstance(components, str) else [str(v) for v in components]
    items = [v.strip() for v in items]
    if isinstance(components, str) and items == ["auto"]:
        return
    if not items or any(not v for v in items):
        raise OptionError(f"components {components!r} has an empty name; give comma-separated component names, "
                          "'auto', or leave the option out for every component")
    repeated = sorted({v for v in items if items.count(v) > 1})
    if repeated:
        raise OptionError(f"components {components!r} names {', '.join(map(repr, repeated))} more than once")


def _choice(name: str, value: object, choices: tuple[str, ...], error: type = OptionError) -> str:
    if value not in choices:
        raise error(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")
    return str(value)


@dataclass(frozen=True)
class FitOptions:
    """Every option of one fit, validated; immutable so no layer can change it for another.

    Attributes mirror the keyword arguments of :func:`specfit.fit`; see its
    docstring for their meaning.  ``background_options`` is stored read-only.
    """

    background: str
    share: tuple[str, ...] = ()
    engine: str = "batch"
    weights: str = "none"
    degree: int = 2
    background_options: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    max_nfev: int | None = None
    uncertainty: str = "covariance"
    n_draws: int = 100
    seed: int | None = 0
    shape_tie: str = "none"
    window: tuple[float, float] | None = None
    components: tuple[str, ...] = ()
    select: str = "none"
    lineshape: str = ""
    charge_shift: float | None = None
    progress: bool | None = None
    start: str = "auto"
    #: compute the model spread over the alternatives the data cannot rule out (``uncertainty="combined"``)
    model_spread: bool = False
    #: the batch may be fitted globally (shared centers and widths) when the evidence favours it: ``share``
    #: was not given (``None``), so the series structure is the data's decision
    series_choice: bool = False

    @classmethod
    def build(cls, library: Library, *, background: str | None = None, share: object = None,
              engine: str = "batch", weights: str | None = None, degree: int = 2,
              background_options: dict | None = None, max_nfev: int | None = None,
              uncertainty: str = "statistical", n_draws: int | None = None, seed: int | None = 0,
              shape_tie: str | None = None, window: tuple[float, float] | None = None,
              components: object = None, select: str | None = None, lineshape: str | None = None,
              charge_shift: float | None = None, progress: bool | None = None, start: str = "auto") -> FitOptions:
        """Validate user options against ``library`` (its defaults fill what is not given).

        Raises
        ------
        OptionError
            An option value outside its choices (engine, uncertainty, share word,
            shape tie, weights, start, n_draws < 2 for resampling, max_nfev < 1, a
            window with lo > hi, lmfit asked to share parameters).
        LibraryError
            An unknown background.
        """
        bg = _choice("background", background or library.background, BACKGROUNDS, LibraryError)
        if background_options is None and bg == library.background:
            # a library may carry its background's options (e.g. a CasaXPS model's Tougaard B, C, D)
            background_options = dict(getattr(library, "background_options", ()) or ())
        share_t = as_names(share)
        share_t = () if tuple(w.lower() for w in share_t) == ("none",) else share_t  # "none": independent fits
        for word in share_t:
            if word not in SHARE_GROUPS:
                raise OptionError(f"cannot share {word!r}; choose from {', '.join(SHARE_GROUPS)}")
        engine = _choice("engine", engine, selectable_engines())
        if share_t and not ENGINES[engine].allows_share:
            raise OptionError(f"engine {engine!r} fits spectrum by spectrum and cannot share parameters across a "
                              "batch; use engine='batch' for a global fit (share=...)")
        w = _choice("weights", weights or "none", WEIGHTS + ("uniform",))
        w = "none" if w == "uniform" else w
        uncertainty = _choice("uncertainty", uncertainty, UNCERTAINTY_METHODS)
        model_spread = uncertainty == "combined"
        uncertainty = "covariance" if uncertainty in ("combined", "statistical") else uncertainty
        if uncertainty == "covariance" and n_draws is not None:  # given but unused: an ignored option (issue 22)
            raise OptionError(f"n_draws={n_draws} applies to uncertainty='montecarlo' or 'bootstrap'; "
                              "covariance errors draw nothing (leave n_draws out, or choose a resampling method)")
        n_draws = 100 if n_draws is None else n_draws
        if isinstance(n_draws, bool) or int(n_draws) != n_draws:
            raise OptionError(f"n_draws must be a whole number, got {n_draws!r}")
        if uncertainty != "covariance" and int(n_draws) < 2:
            raise OptionError(f"n_draws must be at least 2 for uncertainty={uncertainty!r}, got {n_draws}")
        if max_nfev is not None and int(max_nfev) < 1:
            raise OptionError(f"max_nfev must be a positive number of evaluations, got {max_nfev}")
        tie = _choice("shape_tie", shape_tie or library.shape_tie, SHAPE_TIES)
        if window is not None:
            lo, hi = (float(v) for v in window)
            if lo > hi:
                raise OptionError(f"window lower limit {lo:g} > upper limit {hi:g}")
            window = (lo, hi)
        _check_component_list(components)
        names = () if isinstance(components, str) and components.strip() == "auto" else as_names(components)
        chosen_select = "auto" if isinstance(components, str) and components.strip() == "auto" else (
            select or getattr(library, "select", "none"))
        chosen_select = _choice("select", chosen_select, SELECTIONS)
        if names:
            chosen_select = "none"  # an explicit component list is the user's choice
        n_components = len(names) if names else len(library.components)
        if n_components > MAX_COMPONENTS:  # refused up front, not after minutes of fitting (issue 22)
            raise OptionError(f"{library.path or library.name}: {n_components} components; specfit fits at "
                              f"most {MAX_COMPONENTS} per spectrum (the fit time grows about as the cube of the "
                              "parameter count: 100 Gaussians on 2001 points take 4 s, 200 take 30 s or, overlapping, "
                              "minutes without converging); choose components=... or split the window")
        for key in ("n_average",):  # counts of points: a value below 1 was clamped silently (issue 22)
            value = dict(background_options or {}).get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                      or value < 1):
                raise OptionError(f"background option {key} must be a whole number of points >= 1, got {value!r}")
        try:
            check_background_options(bg, dict(background_options or {}))
        except KeyError as exc:
            hint = (" (the active Shirley is refined in the fit and has no end-point options; end points, "
                    "n_average and region apply to background='shirley_fixed')" if bg == "shirley" else "")
            raise OptionError(f"{exc.args[0]}{hint}") from None
        if charge_shift is not None and library.technique != "xps":
            raise OptionError(f"charge_shift applies to XPS binding energies; library {library.name!r} is for "
                              f"{library.technique}")
        start = _choice("start", start, STARTS)
        if int(degree) < 0:
            raise OptionError(f"degree must be >= 0, got {degree}")
        return cls(background=bg, share=share_t, engine=engine, weights=w, degree=int(degree),
                   background_options=MappingProxyType(dict(background_options or {})),
                   max_nfev=None if max_nfev is None else int(max_nfev), uncertainty=uncertainty,
                   n_draws=int(n_draws), seed=seed, shape_tie=tie, window=window, components=names,
                   select=chosen_select, lineshape=lineshape or "",
                   charge_shift=None if charge_shift is None else float(charge_shift), progress=progress,
                   start=start, model_spread=model_spread, series_choice=share is None)

    def __reduce__(self):
        # a read-only mapping does not pickle: send a plain dict (dask workers receive options by pickle)
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["background_options"] = dict(self.background_options)
        return (_options_from_state, (state,))

    @property
    def shared_groups(self) -> frozenset[str]:
        """Parameter groups (``center``, ``width``, ``shape``) shared across the batch."""
        return frozenset(g for word in self.share for g in SHARE_GROUPS[word])

    def to_attrs(self) -> dict:
        """JSON-able record of the options (result ``attrs["options"]``)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["background_options"] = dict(self.background_options)
        out["share"] = ",".join(self.share)
        out["components"] = list(self.components)
        return json.loads(json.dumps(out, default=str))


def _options_from_state(state: dict) -> FitOptions:
    """Rebuild pickled :class:`FitOptions` (see ``FitOptions.__reduce__``)."""
    return FitOptions(**(state | {"background_options": MappingProxyType(dict(state["background_options"]))}))
