"""The report figure of any result: the one place that knows every result kind.

It sits above :mod:`specfit.plotting.panels` (panels, styles) and the
workflows' figures (:mod:`specfit.plotting.xps`); the figure of each result
kind (:mod:`specfit.results.kinds`) is registered in :data:`FIGURES`.
"""

from __future__ import annotations

from collections.abc import Callable

import xarray as xr

from specfit.plotting.panels import (
    MAX_PAGES,
    PER_PAGE,
    RC,
    fitted_union,
    nmr_overview,
    nmr_single_figure,
    nmr_spectra,
    raman_overview,
    series_overview,
    series_pages,
    single_figure,
)
from specfit.plotting.xps import depth_profile_figures
from specfit.results.kinds import result_kind

#: Result kind (:func:`specfit.results.kinds.result_kind`) -> ``draw(result, per_page, max_pages) -> [Figure]``.
FIGURES: dict[str, Callable] = {}


def register_figure(kind: str) -> Callable:
    """Decorator: the report figure of results of ``kind`` (a new workflow registers its own)."""
    def wrap(draw: Callable) -> Callable:
        FIGURES[kind] = draw
        return draw
    return wrap


@register_figure("depth_profile")
def _depth_profile(result, per_page: int, max_pages: int) -> list:
    return depth_profile_figures(result, steps_per_page=max(1, min(6, per_page)))


@register_figure("single")
def _single(result, per_page: int, max_pages: int) -> list:
    return [single_figure(result)]


@register_figure("raman_speciation")
def _raman(result, per_page: int, max_pages: int) -> list:
    return series_pages(result, raman_overview(result), per_page=per_page, max_pages=max_pages)


@register_figure("nmr_shifts")
def _nmr(result, per_page: int, max_pages: int) -> list:
    if result["success"].size == 1:  # one sample: its line, not a shift against itself
        return [nmr_single_figure(result)]
    # one ppm range (union of the fitted windows) in every panel: shifts compare by eye
    xlim = fitted_union(result) if "best_fit" in result else None
    return series_pages(nmr_spectra(result), nmr_overview(result), per_page=per_page, max_pages=max_pages, xlim=xlim)


@register_figure("series")
@register_figure("global_series")
def _series(result, per_page: int, max_pages: int) -> list:
    return series_pages(result, series_overview(result), per_page=per_page, max_pages=max_pages)


def figures(result, *, per_page: int = PER_PAGE, max_pages: int = MAX_PAGES) -> list:
    """Every page of the report figure of a result (a list of matplotlib Figures).

    Parameters
    ----------
    result : xarray.Dataset or xarray.DataTree
        A result of :func:`specfit.fit`, :func:`specfit.raman.speciation`,
        :func:`specfit.nmr.track_shifts` or :func:`specfit.xps.fit_depth_profile`
        (or the same reopened with :func:`specfit.open_results`).
    per_page : int
        Spectrum panels per page (a depth profile: etch steps per page x regions).
    max_pages : int
        Larger batches are drawn as an evenly spaced subset, said on the page.

    Returns
    -------
    list of matplotlib.figure.Figure

    Raises
    ------
    DataError
        When ``result`` is not a specfit result.
    """
    import matplotlib.pyplot as plt

    draw = FIGURES[result_kind(result)]
    with plt.rc_context(RC):
        return draw(result, per_page, max_pages)


def plot(result, *, per_page: int = PER_PAGE, max_pages: int = MAX_PAGES):
    """The report figure of a result (its first page; :func:`figures` gives all pages).

    ``specfit.plot(ds)`` and ``ds.specfit.plot()`` are this function.

    Parameters
    ----------
    result : xarray.Dataset or xarray.DataTree
        Any specfit result (see :func:`figures`).
    per_page, max_pages : int
        See :func:`figures`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    pages = figures(result, per_page=per_page, max_pages=max_pages)
    for extra in pages[1:]:
        plt.close(extra)
    return pages[0]


def report_figure(ds: xr.Dataset, max_spectra: int = PER_PAGE):
    """First report page of a result (kept for existing callers; see :func:`plot`)."""
    return plot(ds, per_page=max_spectra)




__all__ = ["figures", "plot", "report_figure"]
