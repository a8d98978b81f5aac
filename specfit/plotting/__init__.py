"""Figures of results (top of the data flow, beside the CLI): matplotlib, Agg-safe.

``panels`` draws the panels and styles every figure shares; ``xps`` the
depth-profile figures; ``by_kind`` picks the figure of a result by its kind
(:func:`plot`, :func:`figures`).
"""

from __future__ import annotations

from specfit.plotting.by_kind import FIGURES, figures, plot, register_figure, report_figure
from specfit.plotting.panels import (
    MARKERS,
    PALETTE,
    PER_PAGE,
    RC,
    axis_label,
    coord_label,
    format_pm,
    format_signed,
    plot_fit,
    plot_fractions,
    plot_shifts,
    plot_speciation,
    series_style,
    spectrum_flags,
)
from specfit.plotting.xps import plot_depth_profile, plot_region_fit
from specfit.results.kinds import result_kind

__all__ = ["FIGURES", "MARKERS", "PALETTE", "PER_PAGE", "RC", "axis_label", "coord_label", "figures", "format_pm",
           "format_signed", "plot", "plot_depth_profile", "plot_fit", "plot_fractions", "plot_region_fit",
           "plot_shifts", "plot_speciation", "register_figure", "report_figure", "result_kind", "series_style",
           "spectrum_flags"]
