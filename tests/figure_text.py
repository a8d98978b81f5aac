"""Text boxes of a rendered matplotlib figure and their overlaps (the no-overlapping-text check of issue 20)."""

from __future__ import annotations

import itertools


def _in_view(axis, loc: float) -> bool:
    lo, hi = sorted(axis.get_view_interval())
    span = hi - lo
    return lo - 1e-9 * span <= loc <= hi + 1e-9 * span


def drawn_texts(fig) -> list:
    """Every non-empty visible Text drawn in ``fig``: titles, labels, tick labels in view, legends, annotations,
    (sub)figure titles and labels."""
    from matplotlib.axes import Axes
    from matplotlib.figure import SubFigure
    from matplotlib.legend import Legend
    from matplotlib.text import Text

    out = []
    for ax in fig.findobj(Axes):
        if not ax.get_visible():
            continue
        out += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        out += list(ax.texts)
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks():
                loc = tick.get_loc()
                if loc is not None and _in_view(axis, loc):
                    out += [t for t in (tick.label1, tick.label2) if t.get_visible()]
    for legend in fig.findobj(Legend):
        out += list(legend.get_texts()) + [legend.get_title()]
    for sub in [fig] + list(fig.findobj(SubFigure)):
        out += [t for t in (getattr(sub, "_suptitle", None), getattr(sub, "_supxlabel", None),
                            getattr(sub, "_supylabel", None)) if t is not None]
        out += [t for t in sub.texts if isinstance(t, Text)]
    return [t for t in dict.fromkeys(out) if t.get_visible() and t.get_text().strip()]


def text_overlaps(fig, tol_px: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose boxes overlap by more than ``tol_px`` in both directions."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in drawn_texts(fig)]
    bad = []
    for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        if w > tol_px and h > tol_px:
            bad.append((ta[:40], tb[:40]))
    return bad


def texts_outside(fig, tol_px: float = 1.0) -> list[str]:
    """Drawn texts that stick out of the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    out = []
    for t in drawn_texts(fig):
        box = t.get_window_extent(renderer)
        if box.x0 < -tol_px or box.y0 < -tol_px or box.x1 > width + tol_px or box.y1 > height + tol_px:
            out.append(t.get_text()[:40])
    return out
