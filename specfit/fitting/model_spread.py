"""Decisions the data can make, and an uncertainty that covers the truth: series structure and model spread.

A covariance standard error covers the noise of one model; it cannot see that
another model, as consistent with the data, gives another number (NIST's XPS
curve-fitting study found the analysts' median bias larger than their median
random error). This module fits the alternatives the data cannot rule out and
quotes their spread beside the statistical error.

The series structure (part of the default for a batch of 2 to :data:`LIMIT` spectra, when
``share`` is not given)
    The batch is fitted spectrum by spectrum *and* globally with shared
    centers and widths (``share=("center", "width")``); the structure with the
    lower series BIC (the sum of the spectra's BIC, a global fit's shared
    parameters counted pro rata) is reported, and the note
    ``global_fit_chosen`` / ``independent_fits_chosen`` gives the ΔBIC.

The alternatives (``uncertainty="combined"``, the default)
    Each changes one modelling choice of the reported model and keeps the
    component set: the background (a polynomial one degree higher and lower;
    active Shirley ↔ Tougaard ↔ a fixed Shirley; none ↔ linear), the
    shape tie (one shape for all bands ↔ one per band) and, for a series, the
    other structure (global ↔ independent).

The weights and the combined uncertainty
    Per spectrum, alternative ``k`` gets the BIC weight
    ``w_k = exp(-ΔBIC_k / 2) / Σ_j exp(-ΔBIC_j / 2)`` (ΔBIC to the best of that
    spectrum; the reported model included; K. P. Burnham & D. R. Anderson,
    *Model Selection and Multimodel Inference*, 2nd ed., Springer 2002, §4.2–4.3,
    and Sociol. Methods Res. 33, 261 (2004) for BIC weights). The model spread of
    a quantity ``q`` is ``s_model = sqrt(Σ_k w_k (q_k − q_rep)²)``, the
    evidence-weighted root-mean-square distance of the alternatives from the
    reported value ``q_rep`` (the "model uncertainty" term of Burnham &
    Anderson's unconditional variance, taken about the reported value so that it
    covers the distance to every alternative the data support). The combined
    standard uncertainty is ``u = sqrt(stderr² + s_model²)`` (JCGM 100:2008, the
    GUM, §5.1.2: uncorrelated components in quadrature). The reported value is
    that of the requested model (the library's or the given background and
    shape tie) in the series structure the evidence chose, not the weighted
    mean: its curves, stderr and flags stay those of one fitted model, and the
    model spread covers the distance to every alternative the data support.

Batches above :data:`LIMIT` spectra (maps) and dask data get the statistical
part only; ``attrs["uncertainty"]`` says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import xarray as xr

from specfit.library.loader import Library
from specfit.lineshapes.profiles import get_lineshape
from specfit.options import FitOptions
from specfit.results import flags as fl

#: Batches up to this many spectra get the series decision and the model spread by default.
LIMIT = 1000
#: Quantities with a combined uncertainty.
QUANTITIES = ("center", "area", "fraction")
#: ``share`` of the global structure.
GLOBAL_SHARE = ("center", "width")

FitFunction = Callable[[object, Library, FitOptions], xr.Dataset]


def _batch_dims(ds: xr.Dataset) -> tuple[str, ...]:
    return tuple(ds["success"].dims)


def _n_spectra(ds: xr.Dataset) -> int:
    return int(np.prod([ds.sizes[d] for d in _batch_dims(ds)], dtype=int)) if _batch_dims(ds) else 1


def _usable(ds: xr.Dataset) -> np.ndarray:
    return np.asarray(ds["success"].values, bool).ravel() & np.isfinite(np.asarray(ds["bic"].values, float).ravel())


def series_bics(first: xr.Dataset, second: xr.Dataset) -> tuple[float, float]:
    """Sums of the spectra's BIC of two fits of one batch, over the spectra either fitted.

    A spectrum neither model could fit (e.g. ``not_fitted``) takes no part; a
    spectrum only one of them fitted makes the other's sum ``inf`` (a failed
    model cannot win).
    """
    ok1, ok2 = _usable(first), _usable(second)
    either = ok1 | ok2
    bic1 = np.asarray(first["bic"].values, float).ravel()
    bic2 = np.asarray(second["bic"].values, float).ravel()
    sum1 = float(bic1[either].sum()) if ok1[either].all() else float("inf")
    sum2 = float(bic2[either].sum()) if ok2[either].all() else float("inf")
    return sum1, sum2


def _free_lines(lib: Library) -> bool:
    """Whether any component has a center or a width left free (so sharing them changes the model)."""
    return any(c.center_range[1] > c.center_range[0] or c.fwhm_range[1] > c.fwhm_range[0] for c in lib.components)


def _has_shapes(lib: Library) -> bool:
    shaped = [c for c in lib.components
              if get_lineshape(c.lineshape).shape_name is not None and c.shape_range[1] > c.shape_range[0]]
    return len(shaped) >= 2


def background_alternatives(options: FitOptions, technique: str) -> list[tuple[str, dict]]:
    """One-step changes of the background: ``(label, option changes)``."""
    bg, deg = options.background, options.degree
    if bg == "polynomial":
        out = [(f"polynomial degree {deg + 1}", {"degree": deg + 1})]
        out += [(f"polynomial degree {deg - 1}", {"degree": deg - 1})] if deg >= 2 else \
            [("linear background", {"background": "linear"})] if deg == 1 else []
        return out
    if bg == "linear":
        return [("quadratic background", {"background": "polynomial", "degree": 2})]
    if bg == "none":
        return [("linear background", {"background": "linear"})]
    if technique == "xps" and bg in ("shirley", "shirley_fixed", "tougaard", "tougaard_active"):
        # Tougaard as the subtracted (fixed) kind: the active one has no compiled kernel and would run a
        # user's Shirley fit's alternatives on the numpy path
        others = {"shirley": ("tougaard", "shirley_fixed"), "shirley_fixed": ("shirley",),
                  "tougaard": ("shirley",), "tougaard_active": ("shirley",)}[bg]
        return [(f"{name} background", {"background": name, "background_options": {}}) for name in others]
    return []


def _with(options: FitOptions, changes: dict) -> FitOptions:
    if "background_options" in changes:
        changes = changes | {"background_options": MappingProxyType(dict(changes["background_options"]))}
    return replace(options, **changes)


def _note_all(ds: xr.Dataset, code: str, text: str) -> None:
    notes = np.asarray(ds["notes"].values, dtype=object)
    words = np.asarray(ds["note_message"].values, dtype=object)
    flat_n, flat_w = notes.reshape(-1), words.reshape(-1)
    for i in range(flat_n.size):
        flat_n[i] = fl.join_notes(str(flat_n[i]), code)
        flat_w[i] = f"{flat_w[i]}; {text}" if flat_w[i] else text
    ds["notes"] = (ds["notes"].dims, flat_n.reshape(notes.shape).astype(str), ds["notes"].attrs)
    ds["note_message"] = (ds["note_message"].dims, flat_w.reshape(words.shape).astype(str),
                          ds["note_message"].attrs)


def choose_structure(ds: xr.Dataset, data: object, lib: Library, options: FitOptions,
                     fit_fn: FitFunction) -> tuple[xr.Dataset, FitOptions, dict[str, xr.Dataset]]:
    """Independent fits or a global fit of the series, on the evidence (see the module docstring).

    Returns the chosen result, its options and ``{name: result}`` of the structure not chosen (empty when
    no choice was made).
    """
    record: dict = {}
    if not options.series_choice or options.engine == "lmfit" or _n_spectra(ds) < 2 or not _free_lines(lib):
        return ds, options, record
    glob_opts = replace(options, share=GLOBAL_SHARE)
    other = fit_fn(data, lib, glob_opts)
    bic_i, bic_g = series_bics(ds, other)
    record = {"independent_bic": bic_i, "global_bic": bic_g}
    if bic_g < bic_i:
        chosen, chosen_opts, code = other, glob_opts, "global_fit_chosen"
        text = (f"global fit (shared centers and widths) chosen: series BIC {bic_g - bic_i:+.1f} against "
                "independent fits")
    else:
        chosen, chosen_opts, code = ds, options, "independent_fits_chosen"
        text = (f"independent fits chosen: series BIC {bic_i - bic_g:+.1f} against a global fit "
                "(shared centers and widths)" if np.isfinite(bic_g) else
                "independent fits chosen: the global fit (shared centers and widths) failed")
    _note_all(chosen, code, text)
    record["chosen"] = "global" if chosen is other else "independent"
    chosen.attrs["series_structure"] = json.dumps(record)
    rejected = "independent" if chosen is other else "global"
    return chosen, chosen_opts, {rejected: ds if chosen is other else other}


def alternatives(lib: Library, options: FitOptions) -> list[tuple[str, FitOptions]]:
    """The one-step alternatives of the reported model (labels and options)."""
    out = [(label, _with(options, changes)) for label, changes in background_alternatives(options, lib.technique)]
    if _has_shapes(lib):
        tie = options.shape_tie
        flipped = "none" if tie in ("all", "auto") else "all"
        out.append((f"shape tie {flipped}", replace(options, shape_tie=flipped)))
    return out


def _weights(bics: np.ndarray) -> np.ndarray:
    """BIC weights along axis 0 (models) per spectrum; NaN BIC gets weight 0."""
    finite = np.isfinite(bics)
    best = np.min(np.where(finite, bics, np.inf), axis=0)
    with np.errstate(invalid="ignore", over="ignore"):
        rel = np.where(finite, np.exp(-0.5 * (bics - best)), 0.0)
    total = rel.sum(axis=0)
    return np.where(total > 0, rel / np.where(total > 0, total, 1.0), 0.0)


def add_model_spread(ds: xr.Dataset, fits: dict[str, xr.Dataset]) -> xr.Dataset:
    """``*_model_spread`` and ``*_uncertainty`` of ``ds`` over the alternative ``fits`` (same components)."""
    labels = list(fits)
    bdims = _batch_dims(ds)
    models = [ds] + [fits[k] for k in labels]
    bics = np.stack([np.broadcast_to(np.asarray(m["bic"].values, float), ds["bic"].shape) for m in models])
    ok = np.stack([np.asarray(m["success"].values, bool) for m in models])
    bics = np.where(ok, bics, np.nan)
    weights = _weights(bics)  # (K + 1, *batch)
    for q in QUANTITIES:
        ref = ds[q].transpose(*bdims, "component").values
        dev2 = np.zeros_like(ref)
        for k, m in enumerate(models[1:], start=1):
            other = m[q].transpose(*bdims, "component").reindex(component=ds["component"].values).values
            w = weights[k][..., None]
            d = np.where(np.isfinite(other) & np.isfinite(ref), other - ref, 0.0)
            dev2 = dev2 + np.where(w > 0, w * d * d, 0.0)
        spread = np.sqrt(dev2)
        spread = np.where(np.isfinite(ref), spread, np.nan)
        stat = ds[f"{q}_stderr"].transpose(*bdims, "component").values
        dims = bdims + ("component",)
        ds[f"{q}_model_spread"] = (dims, spread, ds[f"{q}_model_spread"].attrs)
        ds[f"{q}_uncertainty"] = (dims, np.sqrt(stat**2 + spread**2), ds[f"{q}_uncertainty"].attrs)
    mean_w = {label: float(np.nanmean(weights[k + 1])) for k, label in enumerate(labels)}
    ds.attrs["model_alternatives"] = json.dumps({"reported": float(np.nanmean(weights[0])), **mean_w})
    top = sorted(mean_w.items(), key=lambda kv: -kv[1])[:2]
    _note_all(ds, "model_spread", "model spread over " + ", ".join(f"{k} (w {v:.2f})" for k, v in top)
              + (f" and {len(labels) - 2} more" if len(labels) > 2 else ""))
    return ds


def refine(ds: xr.Dataset, data: object, lib: Library, options: FitOptions, fit_fn: FitFunction) -> xr.Dataset:
    """The series decision and the model spread of a fitted result ``ds`` (see the module docstring).

    Parameters
    ----------
    ds : xarray.Dataset
        The result of ``fit_fn(data, lib, options)`` (components not selected: one set for the batch).
    fit_fn : callable
        ``fit_fn(data, lib, options) -> Dataset``: the in-memory fit of :mod:`specfit.fitting.api`.

    Returns
    -------
    xarray.Dataset
        The reported result, with ``*_model_spread`` and ``*_uncertainty`` and
        the notes of the decisions; ``attrs["uncertainty"]`` says what was computed.
    """
    n = _n_spectra(ds)
    if n > LIMIT:
        ds.attrs["uncertainty"] = (f"covariance (statistical only: the model spread is computed for batches up to "
                                   f"{LIMIT} spectra; this one has {n})")
        return ds
    chosen, chosen_opts, others = choose_structure(ds, data, lib, options, fit_fn)
    if not options.model_spread:
        return chosen
    fits = {label: fit_fn(data, lib, opts) for label, opts in alternatives(lib, chosen_opts)}
    fits.update({f"{name} structure": fit for name, fit in others.items()})
    if not fits:
        chosen.attrs["uncertainty"] = "covariance (no alternative model applies: the model spread is 0)"
        for q in QUANTITIES:
            chosen[f"{q}_model_spread"] = chosen[q] * 0.0
        return chosen
    chosen = add_model_spread(chosen, fits)
    chosen.attrs["uncertainty"] = ("combined: covariance standard error and the BIC-weighted model spread over "
                                   f"{len(fits)} alternatives in quadrature (specfit.fitting.model_spread); "
                                   "reported values: the requested model in the structure the evidence chose")
    return chosen


__all__ = ["LIMIT", "QUANTITIES", "add_model_spread", "alternatives", "background_alternatives",
           "choose_structure", "refine", "series_bics"]
