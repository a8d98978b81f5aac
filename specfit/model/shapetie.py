"""One shape parameter for all bands, or one per band.

The shape parameter of strongly overlapped bands (the Lorentzian fraction of Raman
bands 5-6 cm-1 apart with FWHM 4-8 cm-1) trades against the neighbours' areas.
Measured on synthetic six-sample series at SNR 150, 16 series per family of true
shapes (``benchmarks/bench_shape_tie.py``, table in the README):

- one spectrum cannot resolve per-band shapes: free shapes miss the fractions by
  a median 11-15 pp, one common shape by 2.5-6.5 pp, even where the true shapes
  differ; untying the shapes of the spectra whose F-test rejected the common
  shape made the fractions worse, not better;
- a series fitted globally resolves per-band shapes but pays for the extra
  parameters: with one true shape, the common shape kept every fraction within
  2 pp in 47 of 48 series, per-band shapes in 44.  A common shape that the
  series does not reject can still be biased beyond its standard error when the
  true shapes differ, which ``raman.speciation`` shows as ``fraction_shape_spread``.

Policies (library key ``shape_tie``, ``fit(shape_tie=...)``, ``--shape-tie``):

``none``
    every component keeps its own shape parameter;
``all``
    one shape parameter per lineshape, shared by every component whose shape is free;
``auto``
    one shape parameter, unless the shapes are shared across a series (a global
    fit whose ``share`` includes ``width`` or ``shape``) and an F-test on the whole
    series rejects the common shape at ``p < ALPHA``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from specfit.library.loader import Library
from specfit.lineshapes.profiles import get_lineshape

#: Significance level at which a series' data reject one common shape.
ALPHA = 0.01


def tie_shapes(library: Library) -> Library:
    """``library`` with every free shape parameter tied to the first one of the same lineshape.

    Components whose shape is fixed, already linked (``same_shape_as``) or
    follows another component's width and shape (``same_width_as``) are left
    as they are.  The common shape uses the first component's start and range.
    """
    leaders: dict[str, str] = {}
    comps = []
    for comp in library.components:
        free = (get_lineshape(comp.lineshape).shape_name is not None and comp.shape_range[1] > comp.shape_range[0]
                and not comp.same_width_as and not comp.same_shape_as)
        leader = leaders.setdefault(comp.lineshape, comp.name) if free else comp.name
        comps.append(comp if leader == comp.name else replace(comp, same_shape_as=leader))
    return replace(library, components=tuple(comps))


def shape_links(library: Library) -> dict[str, str]:
    """``{component: component whose shape it uses}`` for every ``same_shape_as`` link."""
    return {c.name: c.same_shape_as for c in library.components if c.same_shape_as}


def common_shape_pvalue(cost_free: float, cost_tied: float, n_points: int, n_free: float, n_removed: int) -> float:
    """F-test p-value of one common shape against per-band shapes (nested least-squares models).

    Parameters
    ----------
    cost_free, cost_tied : float
        Weighted residual sums of squares of the per-band and the common-shape fit.
    n_points : int
        Data points of the fit (all spectra of the series).
    n_free : float
        Free parameters of the per-band fit.
    n_removed : int
        Shape parameters the common shape removes.
    """
    dof = n_points - n_free
    if n_removed <= 0 or dof <= 0 or not np.isfinite(cost_free) or cost_free <= 0 or not np.isfinite(cost_tied):
        return float("nan")
    f_stat = max(cost_tied - cost_free, 0.0) / n_removed / (cost_free / dof)
    from scipy import stats  # deferred: scipy.stats costs ~0.5 s of start-up for every CLI call

    return float(stats.f.sf(f_stat, n_removed, dof))
