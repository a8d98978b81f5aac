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
FLAG_AMBIGUOUS = "ambiguous_assignment"
NOTE_SWITCHED = "assignment_switched"
#: Look-alikes closer than this in BIC cannot be told apart: "not worth more than a bare mention"
#: (2 ln B < 2, Kass & Raftery 1995, J. Am. Stat. Assoc. 90, 773; ΔBIC approximates 2 ln B).
AMBIGUOUS_BIC = 2.0
#: A spectrum of a series takes another name than the series' only on "very strong" evidence (ΔBIC >= 10).
SWITCH_BIC = 10.0
#: Two members of a look-alike group are two lines only when their fitted centers are at least this
#: many (larger) FWHM apart: the Sparrow limit (below it their sum has no dip; Sparrow 1916).
SPARROW = 0.85

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
                      overlap: float = OVERLAP, max_fits: int | None = None,
                      lookalikes: dict[str, tuple[str, ...]] | None = None, ambiguous_bic: float = AMBIGUOUS_BIC,
                      switch_bic: float = SWITCH_BIC, centers: dict[str, float] | None = None,
                      positions: dict[str, tuple[float, float]] | None = None) -> xr.Dataset:
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
        Most fits allowed (default: no cap).
    lookalikes : dict of str -> tuple of str, optional
        Look-alike groups ``{group: members}`` (:func:`specfit.library.loader.lookalike_groups`):
        one name per line, decided once for the series before the elimination
        (module docstring, "Look-alikes").
    ambiguous_bic : float
        Alternatives of a group closer than this in BIC give the flag ``ambiguous_assignment``.
    switch_bic : float
        A spectrum of a series takes another member than the series' when that is better by this much in
        its own BIC; two members are kept (two lines) when that is better by this much over the series.
    centers : dict of str -> float, optional
        Nominal centers (the library's): among look-alikes within ``ambiguous_bic``, the name whose line
        rests on no range limit, then whose nominal center is nearest to the fitted line, is kept.
    positions : dict of str -> (center, sigma), optional
        The literature position of each look-alike as a Gaussian prior (the library's nominal center, and a
        quarter of its center range as the standard deviation: the range spans the published spread, about
        ±2 sigma). The evidence of a name is its BIC summed over the series plus ``-2 ln`` of that prior at
        the line's fitted center (``((c - c0) / sigma)^2 + 2 ln sigma``, once for the series: the line has
        one position, which every spectrum measures): between two look-alikes that fit a line equally well,
        the position decides, and only when it does not either (a difference below ``ambiguous_bic``) is the
        assignment ambiguous.

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
    if max_fits is not None and lookalikes:
        lookalikes = None  # a capped selection skips the look-alike fits
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
    usable = np.nonzero(np.isfinite(_flat(full, "bic", batch_dims, False)))[0]
    series = [int(i) for i in usable] if usable.size else list(range(n_spec))  # a global fit skips failed spectra
    labels = _labels(full, batch_dims, batch_shape)
    groups = {g: tuple(m for m in candidates if m in members) for g, members in (lookalikes or {}).items()}
    groups = {g: members for g, members in groups.items() if len(members) > 1}
    decisions = _decide_lookalikes(get, candidates, groups, [candidates] * n_spec, series, batch_dims, shared,
                                   labels, ambiguous_bic, switch_bic, pairs=True, nominal=centers,
                                   positions=positions)
    if shared:
        paths = [_Path(decisions.start[0], dropped=dict(decisions.dropped[0]), notes=list(decisions.notes[0]))]
    else:
        paths = [_Path(decisions.start[k], dropped=dict(decisions.dropped[k]), notes=list(decisions.notes[k]))
                 for k in range(n_spec)]
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
    if groups and not budget_hit:
        # the names again, now among the components the data kept: fewer neighbours, steadier BIC
        final = _decide_lookalikes(get, candidates, groups, [p.current for p in chosen], series, batch_dims,
                                   shared, labels, ambiguous_bic, switch_bic, pairs=False, nominal=centers,
                                   positions=positions)
        decisions = _merge_decisions(decisions, final, chosen, paths, shared)
    out = _assemble(full, cache, candidates, chosen, batch_dims, batch_shape, budget_hit,
                    dict(z_min=z_min, bic_tolerance=bic_tolerance, overlap=overlap, shared=shared,
                         fits=len(cache), ambiguous_bic=ambiguous_bic, switch_bic=switch_bic))
    if groups:
        out = _mark_assignments(out, decisions, chosen, batch_dims, batch_shape)
    return out


# ------------------------------------------------------------------ look-alikes
@dataclass
class _Lookalikes:
    """The look-alike decisions: per spectrum the starting set, the drops and notes; per group the record."""

    start: list[tuple[str, ...]]
    dropped: list[dict[str, str]]
    notes: list[list[str]]
    switched: list[list[str]]  # per spectrum: words for a name that differs from the series'
    ambiguous: list[list[tuple[tuple[str, ...], str]]]  # per spectrum: (chosen names, words)
    record: dict[str, dict] = field(default_factory=dict)


def _decide_lookalikes(get, candidates: tuple[str, ...], groups: dict[str, tuple[str, ...]],
                       bases: list[tuple[str, ...]], series: list[int], batch_dims: tuple[str, ...], shared: bool,
                       labels: list[str], ambiguous_bic: float, switch_bic: float, pairs: bool,
                       nominal: dict[str, float] | None = None,
                       positions: dict[str, tuple[float, float]] | None = None) -> _Lookalikes:
    """One name (or, with ``pairs``, two well separated lines) per look-alike group and spectrum.

    ``bases[k]`` is spectrum k's current set; a group votes in the spectra whose set holds exactly one of
    its members (or, with ``pairs``, any); each member is tried in that member's place and the name is
    decided on the BIC summed over the voting spectra (the series), switched per spectrum only on very
    strong evidence (``switch_bic``).
    """
    n_spec = len(bases)
    bases = list(bases)
    dec = _Lookalikes(start=bases, dropped=[{} for _ in range(n_spec)], notes=[[] for _ in range(n_spec)],
                      switched=[[] for _ in range(n_spec)], ambiguous=[[] for _ in range(n_spec)])
    for group, members in groups.items():
        held = [sum(m in bases[k] for m in members) for k in range(n_spec)]
        voters = [k for k in series if held[k] == 1 or (pairs and held[k] > 1)]
        if not voters:
            continue

        def variant(k: int, keep: tuple[str, ...], members=members) -> tuple[str, ...]:
            return tuple(c for c in candidates if (c in bases[k] and c not in members) or c in keep)

        def bics(keep: tuple[str, ...], rows: list[int]) -> np.ndarray:
            out = np.full(n_spec, np.nan)
            for k in rows:
                out[k] = _flat(get(variant(k, keep)), "bic", batch_dims, False)[k]
            return out

        def position(keep: tuple[str, ...], rows: list[int]) -> float:
            """-2 ln of the literature-position prior of the kept look-alikes, once for the series.

            The line has one true position along a series: the spectra's fitted centers measure it together
            (their median), so the prior counts once, not once per spectrum."""
            total = 0.0
            for m in keep:
                if not positions or m not in positions:
                    continue
                c0, sigma = positions[m]
                centers = []
                for k in rows:
                    ds = get(variant(k, keep))
                    names = [str(c) for c in ds["component"].values]
                    centers.append(_flat(ds, "center", batch_dims)[k, names.index(m)])
                centers = np.array(centers)
                centers = centers[np.isfinite(centers)]
                if centers.size:
                    total += ((float(np.median(centers)) - c0) / sigma) ** 2 + 2.0 * np.log(sigma)
            return total

        bic = {m: bics((m,), voters) for m in members}
        rows = [k for k in voters if all(np.isfinite(bic[m][k]) for m in members)]
        if not rows:
            continue
        total = {m: float(np.sum(bic[m][rows])) + position((m,), rows) for m in members}
        best = min(members, key=lambda m: (round(total[m], 1), members.index(m)))  # a tie: library order
        # within the ambiguity band, a name whose fitted line sits inside its range beats one on a range limit
        edge = {m: _on_limit(get, variant, m, rows, batch_dims) for m in members}
        close = [m for m in members if total[m] - total[best] < ambiguous_bic]
        # then the nominal center (the library's best estimate) nearest to the fitted line
        near = {m: _distance(get, variant, m, rows, batch_dims, (nominal or {}).get(m)) for m in members}
        best = min(close, key=lambda m: (edge[m], near[m], round(total[m], 1), members.index(m)))
        delta = {m: total[m] - total[best] for m in members if m != best}
        chosen: tuple[str, ...] = (best,)
        record = {"members": list(members), "chosen": best, "alternatives": {m: round(d, 2) for m, d in delta.items()},
                  "delta_bic_per_spectrum": {m: {labels[k]: round(float(bic[m][k] - bic[best][k]), 2) for k in rows}
                                             for m in members if m != best},
                  "switched": {}, "threshold": ambiguous_bic, "switch_threshold": switch_bic}
        if pairs:  # a second line of the same group: only on very strong evidence and well apart (never one line split)
            pair_total = {}
            for other in members:
                if other != best:
                    b = bics(tuple(m for m in members if m in (best, other)), rows)
                    if np.isfinite(b[rows]).all():
                        pair_total[other] = float(np.sum(b[rows]))
            if pair_total:
                other = min(pair_total, key=pair_total.get)
                gain = total[best] - pair_total[other]
                keep = tuple(m for m in members if m in (best, other))
                sep = _separation([get(variant(k, keep)) for k in rows], best, other, rows, batch_dims)
                if gain >= switch_bic and sep >= SPARROW:
                    chosen = keep
                    record["chosen"] = list(keep)
                    record["two_lines"] = (f"{best} and {other}: BIC {-gain:+.1f} against {best} alone, "
                                           f"centers {sep:.2f} FWHM apart")
        scope = " over the series" if len(rows) > 1 else ""
        for k in voters:
            mine, words_delta = chosen, delta
            if not shared and len(chosen) == 1 and k in rows:
                own = min(members, key=lambda m: bic[m][k])
                gain = bic[best][k] - bic[own][k]
                if own != best and gain >= switch_bic:
                    mine = (own,)
                    words_delta = {m: float(bic[m][k] - bic[own][k]) for m in members if m != own}
                    record["switched"][labels[k]] = {"name": own, "delta_bic": round(-gain, 2)}
                    dec.switched[k].append(f"{own} instead of {best} ({group}): ΔBIC {-gain:+.1f} in this "
                                           f"spectrum (a switch needs ≤ -{switch_bic:g})")
            for m in members:
                if m in mine:
                    continue
                d = words_delta.get(m, np.nan)
                how = f"ΔBIC {d:+.1f}{scope if mine == chosen else ' in this spectrum'}"
                dec.dropped[k][m] = f"look-alike of {' and '.join(mine)} ({group}), one name per line: {how}"
                dec.notes[k].append(f"dropped {m}: {dec.dropped[k][m]}")
            close = {m: d for m, d in words_delta.items() if m not in mine and d < ambiguous_bic}
            if close and len(mine) == 1:
                alts = ", ".join(f"{m} (ΔBIC {d:+.1f})" for m, d in sorted(close.items(), key=lambda t: t[1]))
                dec.ambiguous[k].append((mine, f"{mine[0]} could as well be {alts}{scope if mine == chosen else ''}:"
                                               f" look-alikes ({group}) the data cannot tell apart "
                                               f"(ΔBIC < {ambiguous_bic:g})"))
            bases[k] = variant(k, mine)
        dec.record[group] = record
    dec.start = bases
    return dec


def _distance(get, variant, name: str, rows: list[int], batch_dims: tuple[str, ...],
              nominal: float | None) -> float:
    """Median |fitted center - nominal center| of ``name`` over ``rows`` (0 when no nominal center is known)."""
    if nominal is None:
        return 0.0
    d = []
    for k in rows:
        ds = get(variant(k, (name,)))
        names = [str(c) for c in ds["component"].values]
        d.append(abs(_flat(ds, "center", batch_dims)[k, names.index(name)] - nominal))
    d = np.array(d)
    d = d[np.isfinite(d)]
    return round(float(np.median(d)), 2) if d.size else np.inf


def _on_limit(get, variant, name: str, rows: list[int], batch_dims: tuple[str, ...]) -> int:
    """Spectra of ``rows`` in which ``name`` rests on a limit (``at_bound``) in the fit with it alone."""
    count = 0
    for k in rows:
        ds = get(variant(k, (name,)))
        if "at_bound" in ds:
            names = [str(c) for c in ds["component"].values]
            count += bool(_flat(ds, "at_bound", batch_dims)[k, names.index(name)])
    return count


def _separation(fits: list[xr.Dataset], a: str, b: str, rows: list[int], batch_dims: tuple[str, ...]) -> float:
    """Median over ``rows`` (row k read from ``fits[i]``) of |center a - center b| / the larger FWHM."""
    seps = []
    for ds, k in zip(fits, rows):
        names = [str(c) for c in ds["component"].values]
        center, fwhm = _flat(ds, "center", batch_dims)[k], _flat(ds, "fwhm", batch_dims)[k]
        i, j = names.index(a), names.index(b)
        with np.errstate(all="ignore"):
            seps.append(abs(center[i] - center[j]) / max(fwhm[i], fwhm[j]))
    seps = np.array(seps)
    seps = seps[np.isfinite(seps)]
    return float(np.median(seps)) if seps.size else float("nan")


def _merge_decisions(first: _Lookalikes, final: _Lookalikes, chosen: list[_Path], paths: list[_Path],
                     shared: bool) -> _Lookalikes:
    """The second (final) look-alike decision applied to the selected sets; the first kept where it did not vote."""
    for path, k in ((paths[0], 0),) if shared else zip(paths, range(len(paths))):
        path.current = final.start[k]
        for name, why in final.dropped[k].items():
            path.dropped[name] = why
        for name in path.current:
            path.dropped.pop(name, None)
        redecided = {m for words in final.notes[k] for m in [words.split(":")[0].removeprefix("dropped ")]}
        redecided |= {m for g, r in final.record.items() for m in r["members"] if f"({g})" in " ".join(final.notes[k])}
        path.notes = [n for n in path.notes
                      if not any(n.startswith(f"dropped {m}:") for m in set(path.current) | redecided)]
        path.notes += [n for n in final.notes[k] if n not in path.notes]
    for k in range(len(chosen)):
        j = 0 if shared else k
        decided = {w for _, w in final.ambiguous[j]}
        groups_final = {g for g in final.record}
        first.ambiguous[k] = [(names, w) for names, w in first.ambiguous[j]
                              if not any(f"({g})" in w for g in groups_final)] + list(final.ambiguous[j]) \
            if decided or groups_final else first.ambiguous[j]
        first.switched[k] = [w for w in first.switched[j] if not any(f"({g})" in w for g in groups_final)] \
            + final.switched[j]
    first.record.update({g: r | {"decided_on": "selected set"} for g, r in final.record.items()})
    return first


def _mark_assignments(out: xr.Dataset, dec: _Lookalikes, chosen: list[_Path], batch_dims: tuple[str, ...],
                      batch_shape: tuple[int, ...]) -> xr.Dataset:
    """Flag ``ambiguous_assignment`` where a kept name has close alternatives; note the switches; attrs."""
    flags = _flat(out, "flags", batch_dims, False).astype(str).astype(object)
    messages = _flat(out, "fit_message", batch_dims, False).astype(str).astype(object)
    notes = _flat(out, "notes", batch_dims, False).astype(str).astype(object)
    note_words = _flat(out, "note_message", batch_dims, False).astype(str).astype(object)
    for k, path in enumerate(chosen):
        words = [w for names, w in dec.ambiguous[k] if all(n in path.current for n in names)]
        if words:
            flags[k] = _join(flags[k], [FLAG_AMBIGUOUS], ",")
            messages[k] = _join(messages[k], words, "; ")
        if dec.switched[k]:
            notes[k] = _join(notes[k], [NOTE_SWITCHED], ",")
            note_words[k] = _join(note_words[k], dec.switched[k], "; ")
    out["flags"] = (batch_dims, np.array(list(flags), dtype=str).reshape(batch_shape))
    out["fit_message"] = (batch_dims, np.array(list(messages), dtype=str).reshape(batch_shape))
    out["notes"] = (batch_dims, np.array(list(notes), dtype=str).reshape(batch_shape))
    out["note_message"] = (batch_dims, np.array(list(note_words), dtype=str).reshape(batch_shape))
    out.attrs["assignment_alternatives"] = json.dumps(dec.record, ensure_ascii=False)
    return out


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
