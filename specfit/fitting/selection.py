"""Component selection: keep only the library components the data support.

``components="auto"`` (CLI ``--components auto``, library key ``select = "auto"``)
starts from the library's candidates and removes, one at a time, the
components the spectrum does not support, refitting after each removal.

The rule (backward elimination, per spectrum for independent fits)
-------------------------------------------------------------------
1. Fit all candidates.
2. A kept component is *unsupported* when

   * it is the smaller *twin* of an overlapping pair (centers closer than
     ``overlap`` x the larger FWHM) of which at least one rests on a bound —
     the typical "two library species fighting over one peak, both pushed to
     their touching range limits" case; or
   * its area is not significant: ``area < z_min x area_stderr`` (``z_min`` = 2),
     or ``area_stderr`` is NaN (no uncertainty could be estimated, e.g. a
     parameter on a bound or a singular covariance).

3. The least supported one (twins first, then smallest ``area / stderr``,
   NaN counting as 0, ties broken by the smaller area) is removed and the
   remaining set refitted.  The removal is *accepted* when the Bayesian
   information criterion does not get clearly worse::

       ΔBIC = BIC(without) - BIC(with) < bic_tolerance   (default 6)

   i.e. a component that fails the significance test is still kept when the
   data give *strong* evidence for it (ΔBIC ≥ 6: "strong" on the Kass &
   Raftery 1995 scale, J. Am. Stat. Assoc. 90, 773).  This guards real but
   strongly correlated neighbours (each has a large stderr, together they
   are needed).  A rejected removal *protects* that component and the next
   unsupported one is tried; an accepted removal lifts the protections (the
   others' support changed, so they are judged again).
4. Stop when every remaining component is significant or protected, or when
   a single component is left (a fit needs one peak: a spectrum whose last
   component is insignificant keeps it and gets the flag
   ``no_significant_component``).

Each refit either removes or protects a component, so one spectrum's path
costs at most C (C + 1) / 2 fits (C candidates), typically C.  Subsets are
always fitted on the whole batch and cached: spectra on the same path share
fits, and spectra that differ add a fit per distinct subset visited.
``max_fits`` caps the total (default: no cap) — beyond it, the remaining
spectra keep their current set (said in ``fit_message``).

Global fits (``shared=True``) choose one set for the whole series: a
component is supported when it is significant in *at least one* spectrum
(a species present only at the surface is kept), twins are looked for in
every spectrum, and ΔBIC is the sum over spectra.

The result
----------
One Dataset in the result schema with *all* candidates in library order.
A dropped component keeps its row: ``area``, ``height``, ``fraction`` and
``component_curve`` are 0, ``center``, ``fwhm`` and ``shape`` are NaN (no
position or width was measured: NaN, not the library's starting value, so it
cannot be mistaken for a fitted one), every ``*_stderr`` is NaN, ``at_bound``
is False and its rows/columns of ``area_covariance``/``fraction_covariance``
are 0 (the selected model has that area exactly 0, so sums over components
still propagate).  New: ``selected`` (batch…, component, bool), attrs
``components_selected = "auto"``, ``components_dropped`` (JSON
``{spectrum label: {component: reason}}``, only spectra with a drop) and
``selection_rule``; the note ``component_dropped`` is appended to ``notes``
(a normal outcome, not a flag) and the reason in words to ``note_message``
("dropped Li3N: area 0.4 ± 1.1 below 2 stderr; ΔBIC -3.2").  Every per-spectrum variable and curve comes
from the fit of that spectrum's selected set.

Measured (``python benchmarks/bench_selection.py``; synthetic Voigt spectra
with a Shirley step and Poisson counts, 2–3 true species drawn from a
6-component library, fractions ≥ 10 %, centers jittered ± 0.15 eV, 0.05 eV
steps; "right set" = exactly the true species kept; "absent kept" =
at least one species not in the spectrum kept)::

    library    total    n  right  alias  absent  missed  auto>5%  all>5%  fits
    C1s-6      2e+04   20    70%     0%     10%     30%      10%     60%    46
    C1s-6      2e+05   20   100%     0%      0%      0%       0%     25%    42
    C1s-6      1e+06   20   100%     0%      0%      0%       0%     10%    34
    F1s        2e+04   20    35%    50%     40%     65%      40%     85%    46
    F1s        2e+05   20    30%    65%     20%     70%      20%     75%    47
    F1s        1e+06   20    35%    45%     40%     60%      30%     70%    42

``total``: counts in the peaks (2e4 quick, 2e5 typical, 1e6 long scan);
``alias``: not exact but every kept species within 0.6 eV of a true one and
vice versa; ``auto>5%`` / ``all>5%``: an absent species given > 5 % of the
area with selection / with every component; ``fits``: batch fits for 20
spectra that each have their own set.  C1s-6 (C-C, C-O, C=O, O-C=O, Li2CO3,
CF3, 1-3 eV apart): the right set every time at typical counts; at low
counts (2e4) 30 % of the spectra lose a true species and 10 % keep an absent one.  F1s (five
species within 2 eV): the exact set only a third of the time, mostly because
a look-alike 0.5 eV away is kept instead (S-F/CF2/LixPOyFz/C-F/CF3 cannot be
told apart by F 1s alone: restrict the library to the chemistry), but an
absent species carries > 5 % of the area 2-4 x less often than with every
component.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from specfit.errors import FitError

Z_MIN = 2.0
BIC_TOLERANCE = 6.0
OVERLAP = 0.5
NOTE_DROPPED = "component_dropped"  # a note (normal outcome), not a flag
FLAG_NOTHING = "no_significant_component"

# fill value of a dropped component's row, per variable (others: NaN / False / "")
_ZERO = ("area", "height", "fraction", "component_curve", "area_covariance", "fraction_covariance")


@dataclass
class _Path:
    """Selection state of one spectrum (or of the whole series when shared)."""

    current: tuple[str, ...]
    protected: set[str] = field(default_factory=set)
    dropped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # drops and kept decisions, in order
    done: bool = False
    proposal: str | None = None
    reason: str = ""


def select_components(fit_subset: Callable[[tuple[str, ...]], xr.Dataset], candidates: tuple[str, ...], *,
                      shared: bool = False, z_min: float = Z_MIN, bic_tolerance: float = BIC_TOLERANCE,
                      overlap: float = OVERLAP, max_fits: int | None = None) -> xr.Dataset:
    """Fit ``candidates``, drop the components the data do not support, refit.

    Parameters
    ----------
    fit_subset : callable
        ``fit_subset(names)`` fits the whole batch with only the components
        ``names`` (a tuple, library order) and returns a result Dataset in the
        public schema (``component`` holding exactly ``names``).
    candidates : tuple of str
        The library's components, in library order (at least one).
    shared : bool
        ``True`` for a global fit: one set for the whole series, judged on
        the sum of the spectra's BIC.  ``False``: each spectrum its own set.
    z_min : float
        Significance threshold: a component is significant when
        ``area >= z_min * area_stderr``.
    bic_tolerance : float
        A removal is accepted when ``BIC(without) - BIC(with) < bic_tolerance``.
    overlap : float
        Two components are twins when their centers are closer than
        ``overlap`` x the larger FWHM and one of them is at a bound.
    max_fits : int, optional
        Most fits allowed (default ``3 * len(candidates) + 1``).

    Returns
    -------
    xarray.Dataset
        The result of the selected components, with every candidate's row
        (dropped ones filled as described in the module docstring), the
        ``selected`` mask and the attrs ``components_selected``,
        ``components_dropped``, ``selection_rule``.

    Raises
    ------
    FitError
        No candidates, or ``fit_subset`` returned other components than asked.
    """
    candidates = tuple(candidates)
    if not candidates:
        raise FitError("component selection needs at least one candidate component")
    budget = max_fits if max_fits is not None else np.inf
    cache: dict[tuple[str, ...], xr.Dataset] = {}

    def get(names: tuple[str, ...]) -> xr.Dataset:
        if names not in cache:
            ds = fit_subset(names)
            got = tuple(str(c) for c in ds["component"].values)
            if got != names:
                raise FitError(f"component selection: asked a fit of {', '.join(names)}, got {', '.join(got)}")
            cache[names] = ds
        return cache[names]

    full = get(candidates)
    batch_dims = tuple(full["success"].dims)
    batch_shape = tuple(full.sizes[d] for d in batch_dims)
    n_spec = int(np.prod(batch_shape, dtype=int))
    paths = [_Path(candidates)] if shared else [_Path(candidates) for _ in range(n_spec)]
    usable = np.nonzero(np.isfinite(_flat(full, "bic", batch_dims, False)))[0]
    series = [int(i) for i in usable] if usable.size else list(range(n_spec))  # a global fit skips failed spectra
    budget_hit = False
    while True:
        for k, path in enumerate(paths):
            if path.done:
                continue
            rows = series if shared else [k]
            _propose(path, get(path.current), rows, batch_dims, z_min, overlap)
        proposals = {tuple(c for c in p.current if c != p.proposal) for p in paths if not p.done}
        if not proposals:
            break
        new = [s for s in proposals if s not in cache]
        if len(cache) + len(new) > budget:
            budget_hit = True
            break
        for k, path in enumerate(paths):
            if path.done:
                continue
            rows = series if shared else [k]
            reduced = tuple(c for c in path.current if c != path.proposal)
            _decide(path, get(path.current), get(reduced), reduced, rows, batch_dims, bic_tolerance)
    chosen = [paths[0] if shared else paths[k] for k in range(n_spec)]
    return _assemble(full, cache, candidates, chosen, batch_dims, batch_shape, budget_hit,
                     dict(z_min=z_min, bic_tolerance=bic_tolerance, overlap=overlap, shared=shared,
                          fits=len(cache)))


# ------------------------------------------------------------------ one step
def _flat(ds: xr.Dataset, name: str, batch_dims: tuple[str, ...], with_component: bool = True) -> np.ndarray:
    """``ds[name]`` as (n_spec, component) or (n_spec,) numpy array."""
    da = ds[name]
    dims = batch_dims + (("component",) if with_component else ())
    arr = np.asarray(da.transpose(*dims).values)
    return arr.reshape((-1, da.sizes["component"]) if with_component else (-1,))


def _propose(path: _Path, ds: xr.Dataset, rows: list[int], batch_dims: tuple[str, ...], z_min: float,
             overlap: float) -> None:
    """Set ``path.proposal`` to the least supported component, or mark the path done."""
    names = path.current
    path.proposal, path.reason = None, ""
    if len(names) <= 1:
        path.done = True
        return
    bic = _flat(ds, "bic", batch_dims, False)[rows]
    if not np.isfinite(bic).all():
        path.done = True  # a failed fit: nothing to decide on
        return
    area = _flat(ds, "area", batch_dims)[rows]
    err = _flat(ds, "area_stderr", batch_dims)[rows]
    center = _flat(ds, "center", batch_dims)[rows]
    fwhm = _flat(ds, "fwhm", batch_dims)[rows]
    at_bound = (_flat(ds, "at_bound", batch_dims)[rows].astype(bool) if "at_bound" in ds
                else np.zeros(area.shape, bool))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(np.isfinite(err) & (err > 0), area / err, np.where(err == 0, np.inf, np.nan))
    zbest = np.nanmax(np.where(np.isfinite(z) | np.isinf(z), z, -np.inf), axis=0)  # best spectrum per component
    total = np.nansum(np.abs(area), axis=0)
    candidates: list[tuple[float, float, str, str]] = []
    twins = _twins(names, center, fwhm, area, at_bound, overlap)
    for j, name in enumerate(names):
        if name in path.protected:
            continue
        if name in twins:
            candidates.append((-1.0, total[j], name, twins[name]))
        elif not zbest[j] >= z_min:
            k = int(np.nanargmax(np.where(np.isfinite(z[:, j]), z[:, j], -np.inf))) if np.isfinite(z[:, j]).any() \
                else int(np.argmax(np.abs(area[:, j])))
            a, s = area[k, j], err[k, j]
            bound = " at a bound" if at_bound[k, j] else ""
            if np.isfinite(s):
                reason = f"area {_g(a)} ± {_g(s)} below {z_min:g} stderr{bound}"
            else:
                reason = f"area {_g(a)} with no stderr (n/a){bound}"
            candidates.append((max(float(zbest[j]), 0.0) if np.isfinite(zbest[j]) else 0.0, total[j], name,
                               reason))
    if not candidates:
        path.done = True
        return
    _, _, path.proposal, path.reason = min(candidates)


def _twins(names, center, fwhm, area, at_bound, overlap: float) -> dict[str, str]:
    """Smaller member of each overlapping pair with a member on a bound, with its reason."""
    out: dict[str, str] = {}
    for r in range(center.shape[0]):
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if not (at_bound[r, i] or at_bound[r, j]):
                    continue
                width = np.nanmax([fwhm[r, i], fwhm[r, j]])
                if not abs(center[r, i] - center[r, j]) < overlap * width:
                    continue
                small, big = (i, j) if abs(area[r, i]) <= abs(area[r, j]) else (j, i)
                out.setdefault(names[small], f"twin of {names[big]} (centers {center[r, small]:.2f}/"
                                             f"{center[r, big]:.2f}, a bound reached)")
    return out


def _decide(path: _Path, before: xr.Dataset, after: xr.Dataset, reduced: tuple[str, ...], rows: list[int],
            batch_dims: tuple[str, ...], tolerance: float) -> None:
    """Accept or reject the proposed removal on ΔBIC."""
    b0 = _flat(before, "bic", batch_dims, False)[rows]
    b1 = _flat(after, "bic", batch_dims, False)[rows]
    ok0 = _flat(before, "success", batch_dims, False)[rows].astype(bool)
    ok1 = _flat(after, "success", batch_dims, False)[rows].astype(bool)
    delta = float(np.sum(b1 - b0))
    converged = ok1.all() or not ok0.all()
    # an unconverged refit only over-states its BIC: a drop it already accepts stands
    if np.isfinite(delta) and delta < tolerance:
        path.dropped[path.proposal] = f"{path.reason}; ΔBIC {delta:+.1f}"
        path.notes.append(f"dropped {path.proposal}: {path.dropped[path.proposal]}")
        path.current = reduced
        path.protected.clear()  # the others' support changed: test them again
    else:
        why = "the refit failed" if not np.isfinite(delta) else f"dropping it raises BIC by {delta:.1f}" + (
            "" if converged else " (refit not converged)")
        path.notes.append(f"kept {path.proposal} ({path.reason}): {why}")
        path.protected.add(path.proposal)
    path.proposal = None


def _g(value: float) -> str:
    return f"{value:.3g}"


# ------------------------------------------------------------------ assembly
def _fill_value(name: str, da: xr.DataArray) -> object:
    if name in _ZERO:
        return 0.0
    if da.dtype == bool:
        return False
    if da.dtype.kind in "US O":
        return ""
    return np.nan


def _expand(ds: xr.Dataset, candidates: tuple[str, ...], full: xr.Dataset) -> xr.Dataset:
    """``ds`` reindexed onto all candidates, dropped rows filled per the module rule.

    Any other dimension whose labels depend on the components (e.g. a
    ``parameter`` dimension) is reindexed onto the full fit's labels, NaN where
    a parameter belongs to a dropped component.
    """
    names = tuple(str(c) for c in ds["component"].values)
    if names == candidates:
        return ds
    other = {d: full.indexes[d] for d in ds.dims if d not in ("component", "component_2") and d in full.indexes
             and d in ds.indexes and not ds.indexes[d].equals(full.indexes[d])}
    if other:
        ds = ds.reindex(other)
    comp_coords = [c for c in ds.coords if c not in ("component", "component_2")
                   and ({"component", "component_2"} & set(ds[c].dims))]
    slim = ds.drop_vars(comp_coords)
    fill = {v: _fill_value(v, slim[v]) for v in slim.data_vars
            if {"component", "component_2"} & set(slim[v].dims)}
    index = {"component": list(candidates)}
    if "component_2" in slim.dims:
        index["component_2"] = list(candidates)
    out = slim.reindex(index, fill_value=fill)
    for v, value in fill.items():  # reindex may upcast bool to object when filling
        if isinstance(value, bool):
            out[v] = out[v].astype(bool)
    return out


def _assemble(full: xr.Dataset, cache: dict, candidates: tuple[str, ...], chosen: list[_Path],
              batch_dims: tuple[str, ...], batch_shape: tuple[int, ...], budget_hit: bool, rule: dict) -> xr.Dataset:
    n_spec = len(chosen)
    groups: dict[tuple[str, ...], list[int]] = {}
    for k, path in enumerate(chosen):
        groups.setdefault(path.current, []).append(k)
    out = full.copy(deep=True)
    for names, members in groups.items():
        if names == candidates:
            continue
        src = _expand(cache[names], candidates, full)
        mask = np.zeros(n_spec, bool)
        mask[members] = True
        mask_da = xr.DataArray(mask.reshape(batch_shape), dims=batch_dims)
        for v in out.data_vars:
            if v not in src or not set(batch_dims) <= set(out[v].dims):
                continue
            merged = xr.where(mask_da, src[v], out[v], keep_attrs=True).transpose(*out[v].dims)
            out[v] = merged.astype(out[v].dtype) if out[v].dtype.kind in "bifc" else merged
    selected = np.array([[c in path.current for c in candidates] for path in chosen], bool)
    out["selected"] = (batch_dims + ("component",), selected.reshape(batch_shape + (len(candidates),)))
    flags = (_flat(out, "flags", batch_dims, False).astype(str) if "flags" in out
             else np.full(n_spec, "", dtype=object))
    messages = _flat(out, "fit_message", batch_dims, False).astype(str) if "fit_message" in out \
        else np.full(n_spec, "", dtype=object)
    flags, messages = flags.astype(object), messages.astype(object)
    notes = (_flat(out, "notes", batch_dims, False).astype(str) if "notes" in out
             else np.full(n_spec, "", dtype=object)).astype(object)
    note_words = (_flat(out, "note_message", batch_dims, False).astype(str) if "note_message" in out
                  else np.full(n_spec, "", dtype=object)).astype(object)
    labels = _labels(full, batch_dims, batch_shape)
    dropped_json: dict[str, dict[str, str]] = {}
    for k, path in enumerate(chosen):
        codes, words, note_codes = [], [], []
        if path.dropped:
            note_codes.append(NOTE_DROPPED)
            dropped_json[labels[k]] = dict(path.dropped)
        last_drop = max([i for i, n in enumerate(path.notes) if n.startswith("dropped")], default=-1)
        dropped_words = [n for i, n in enumerate(path.notes) if n.startswith("dropped") or i > last_drop]
        last = _last_insignificant(out, k, path, batch_dims, rule["z_min"])
        if last:
            codes.append(FLAG_NOTHING)
            words.append(last)
        if budget_hit and not path.done:
            words.append(f"selection stopped after {rule['fits']} fits (budget)")
        flags[k] = _join(flags[k], codes, ",")
        messages[k] = _join(messages[k], words, "; ")
        notes[k] = _join(notes[k], note_codes, ",")
        note_words[k] = _join(note_words[k], dropped_words, "; ")
    out["flags"] = (batch_dims, np.array(list(flags), dtype=str).reshape(batch_shape))
    out["fit_message"] = (batch_dims, np.array(list(messages), dtype=str).reshape(batch_shape))
    out["notes"] = (batch_dims, np.array(list(notes), dtype=str).reshape(batch_shape))
    out["note_message"] = (batch_dims, np.array(list(note_words), dtype=str).reshape(batch_shape))
    out.attrs["components_selected"] = "auto"
    out.attrs["components_dropped"] = json.dumps(dropped_json, ensure_ascii=False)
    out.attrs["selection_rule"] = json.dumps(
        rule | {"rule": "backward elimination: drop the least supported (twin at a bound, or area < z_min stderr) "
                        "while BIC(without) - BIC(with) < bic_tolerance"})
    return out


def _last_insignificant(out: xr.Dataset, k: int, path: _Path, batch_dims: tuple[str, ...], z_min: float) -> str:
    """Words for a spectrum left with one component that is not significant ('' otherwise)."""
    if len(path.current) != 1:
        return ""
    name = path.current[0]
    j = [str(c) for c in out["component"].values].index(name)
    a = _flat(out, "area", batch_dims)[k, j]
    s = _flat(out, "area_stderr", batch_dims)[k, j]
    if np.isfinite(s) and a >= z_min * s:
        return ""
    return f"no component is significant: the last one, {name}, has area {_g(a)} ± {_g(s)}"


def _join(text: str, parts: list[str], sep: str) -> str:
    parts = [p for p in parts if p]
    if not parts:
        return str(text)
    return sep.join([str(text)] + parts) if str(text) else sep.join(parts)


def _labels(ds: xr.Dataset, batch_dims: tuple[str, ...], batch_shape: tuple[int, ...]) -> list[str]:
    """One label per spectrum: its batch coordinate value(s), else its flat index."""
    n = int(np.prod(batch_shape, dtype=int))
    if not batch_dims:
        return ["0"]
    labels = []
    for flat in range(n):
        idx = np.unravel_index(flat, batch_shape)
        parts = []
        for dim, i in zip(batch_dims, idx):
            parts.append(str(ds[dim].values[i]) if dim in ds.coords else str(i))
        labels.append(parts[0] if len(parts) == 1 else ",".join(f"{d}={p}" for d, p in zip(batch_dims, parts)))
    return labels
