"""The report figure of any result: the one place that knows every result kind.

It sits above :mod:`specfit.plotting` (panels, styles) and the workflows'
figures (:mod:`specfit.xps.plots`), so neither imports the other's dispatcher.
"""

from __future__ import annotations

import xarray as xr

from specfit.plotting.panels import (
    MAX_PAGES,
    PER_PAGE,
    RC,
    fitted_union,
    nmr_overview,
    nmr_spectra,
    raman_overview,
    result_kind,
    series_overview,
    series_pages,
    single_figure,
)
from specfit.plotting.xps import depth_profile_figures


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
    ValueError
        When ``result`` is not a specfit result.
    """
    import matplotlib.pyplot as plt

    kind = result_kind(result)
    with plt.rc_context(RC):
        if kind == "depth_profile":
            return depth_profile_figures(result, steps_per_page=max(1, min(6, per_page)))
        if kind == "single":
            return [single_figure(result)]
        if kind == "raman_speciation":
            return series_pages(result, raman_overview(result), per_page=per_page, max_pages=max_pages)
        if kind == "nmr_shifts":
            # one ppm range (union of the fitted windows) in every panel: shifts compare by eye
            xlim = fitted_union(result) if "best_fit" in result else None
            return series_pages(nmr_spectra(result), nmr_overview(result), per_page=per_page,
                                max_pages=max_pages, xlim=xlim)
        return series_pages(result, series_overview(result), per_page=per_page, max_pages=max_pages)


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
