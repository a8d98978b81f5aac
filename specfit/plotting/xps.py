"""Depth-profile figures: atomic % and species % vs etch time, and the fitted spectra of every region and step."""

from __future__ import annotations

import numpy as np
import xarray as xr

from specfit.errors import DataError
from specfit.plotting.panels import (
    FLAG_COLOR,
    coord_label,
    ever_selected,
    fit_axes,
    flag_footnote,
    format_signed,
    merged_legend_entries,
    plot_fit,
    quoted_error,
    series_style,
    species_colors,
    species_style,
    spectrum_flags,
    spectrum_title,
)

_RC = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
       "ytick.labelsize": 7, "figure.titlesize": 9, "legend.title_fontsize": 8}


def _batch_axis(ds: xr.Dataset) -> tuple[str, np.ndarray, str, list[str] | None]:
    """The one batch dimension to plot against: values, axis label with unit, tick labels (None: numeric)."""
    dims = [d for d in ds["atomic_percent"].dims if d != "element"]
    if len(dims) != 1:
        raise DataError(f"depth-profile plot needs one batch dimension, got {dims}")
    dim = dims[0]
    if dim in ds.coords and np.issubdtype(ds[dim].dtype, np.number):
        return dim, np.asarray(ds[dim].values, float), coord_label(ds, dim), None
    for name, coord in ds.coords.items():  # a numeric coordinate along the dimension (--coord etch_time=...)
        if name != dim and coord.dims == (dim,) and np.issubdtype(coord.dtype, np.number):
            return dim, np.asarray(coord.values, float), coord_label(ds, str(name)), None
    ticks = [str(v) for v in ds[dim].values] if dim in ds.coords else [str(i) for i in range(ds.sizes[dim])]
    return dim, np.arange(ds.sizes[dim], dtype=float), coord_label(ds, dim), ticks


def _percent_lines(ax, t, values: xr.DataArray, errors: xr.DataArray, dim: str, names) -> bool:
    """One line per name with ±1 stderr clipped to 0–100 %; NaN stderr as open symbols. True if any NaN."""
    any_nan = False
    for k, name in enumerate(names):
        v = np.asarray(values.sel({dim: name}).values, float)
        e = np.asarray(errors.sel({dim: name}).values, float)
        style = series_style(k)
        known = np.isfinite(e)
        lower = np.where(known, np.minimum(e, np.maximum(v, 0.0)), 0.0)
        upper = np.where(known, np.minimum(e, np.maximum(100.0 - v, 0.0)), 0.0)
        ax.plot(t, v, color=style["color"], linestyle=style["linestyle"], marker=style["marker"], ms=4, lw=1.0,
                label=str(name))
        if known.any():
            ax.errorbar(t[known], v[known], yerr=[lower[known], upper[known]], fmt="none", ecolor=style["color"],
                        elinewidth=0.9, capsize=2.5)
        missing = ~known & np.isfinite(v)
        if missing.any():
            any_nan = True
            ax.plot(t[missing], v[missing], linestyle="none", marker=style["marker"], ms=5.5, mfc="white",
                    mec=style["color"], mew=1.2)
    return any_nan


def _kept_species(tree: xr.DataTree, root: xr.Dataset) -> np.ndarray:
    """Names of the species kept by component selection in at least one step (all without ``selected``)."""
    species = [str(s) for s in root["species"].values]
    if "species_region" not in root.coords or "species_component" not in root.coords:
        return np.array(species)
    kept = []
    for name, region, comp in zip(species, root["species_region"].values, root["species_component"].values):
        region, comp = str(region), str(comp)
        if region in tree.children:
            ds = tree[region].to_dataset()
            if "selected" in ds and "component" in ds.coords and comp in [str(c) for c in ds["component"].values]:
                k = [str(c) for c in ds["component"].values].index(comp)
                if not ever_selected(ds)[k]:
                    continue
        kept.append(name)
    return np.array(kept)


def _clipped_bar_errors(v: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    known = np.isfinite(e) & np.isfinite(v)
    lower = np.where(known, np.minimum(e, np.maximum(v, 0.0)), 0.0)
    upper = np.where(known, np.minimum(e, np.maximum(100.0 - v, 0.0)), 0.0)
    return known, lower, upper


def _profile_bars(tree: xr.DataTree, root: xr.Dataset, axes, species: np.ndarray) -> None:
    """One etch step: atomic % per element (left) and species % grouped by region (right) as bars, ±1 stderr.

    A line plot over a one-point etch-time axis says nothing; bars do.  Bars
    take the colour of their component in the region's fit panel; a bar
    without a standard error is hatched ("stderr n/a").
    """
    ax0, ax1 = axes
    elements = [str(e) for e in root["element"].values]
    v = np.asarray(root["atomic_percent"].values, float).ravel()
    e = np.asarray(_uncertainty(root, "atomic_percent").values, float).ravel()
    known, lower, upper = _clipped_bar_errors(v, e)
    x = np.arange(len(elements), dtype=float)
    colors = [species_colors(elements)[e] for e in elements]
    ax0.bar(x, np.nan_to_num(v), width=0.7, color=colors, edgecolor=colors, alpha=0.8,
            hatch=[None if k else "///" for k in known])
    ax0.errorbar(x[known], v[known], yerr=[lower[known], upper[known]], fmt="none", ecolor="0.15", elinewidth=0.9,
                 capsize=3)
    ax0.set_xticks(x, elements)
    ax0.set_xlabel("element")
    ax0.set_xlim(-0.6, len(elements) - 0.4)
    any_nan = not known.all()

    regions = [str(r) for r in root["species_region"].sel(species=species).values] if species.size else []
    comps = [str(c) for c in root["species_component"].sel(species=species).values] if species.size else []
    sv = np.asarray(root["species_percent"].sel(species=species).values, float).ravel()
    se = np.asarray(_uncertainty(root, "species_percent").sel(species=species).values, float).ravel()
    known, lower, upper = _clipped_bar_errors(sv, se)
    any_nan |= not known.all()
    pos, centres, order = [], [], []
    cursor = 0.0
    for region in dict.fromkeys(regions):
        members = [i for i, r in enumerate(regions) if r == region]
        pos.extend(cursor + np.arange(len(members)))
        centres.append((region, cursor + (len(members) - 1) / 2, cursor - 0.5, cursor + len(members) - 0.5))
        order.extend(members)
        cursor += len(members) + 1.0
    pos = np.asarray(pos, float)
    order = np.asarray(order, int)
    palette = all_species_colors(tree)
    colors = [palette.get(comps[i], "0.5") for i in order]
    if order.size:
        ax1.bar(pos, np.nan_to_num(sv[order]), width=0.75, color=colors, edgecolor=colors, alpha=0.8,
                hatch=[None if k else "///" for k in known[order]])
        ok = known[order]
        ax1.errorbar(pos[ok], sv[order][ok], yerr=[lower[order][ok], upper[order][ok]], fmt="none", ecolor="0.15",
                     elinewidth=0.9, capsize=2.5)
        ax1.set_xticks(pos, [comps[i] for i in order], rotation=90)
        ax1.set_xlim(pos.min() - 0.7, pos.max() + 0.7)
    for k, (region, centre, left, _right) in enumerate(centres):
        ax1.text(centre, 1.01, _region_label(region), transform=ax1.get_xaxis_transform(), ha="center",
                 va="bottom", fontsize=7.5, fontweight="bold")
        if k:
            ax1.axvline(left - 0.5, color="0.75", lw=0.6)
    ax1.set_xlabel("species (grouped by region)")
    for ax in axes:
        ax.set_ylim(0, 100)
        if any_nan:
            ax.bar([np.nan], [np.nan], color="white", edgecolor="0.3", hatch="///", label="stderr n/a")
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)


def all_species_colors(tree: xr.DataTree) -> dict[str, str]:
    """One colour per species name over every region of a depth profile (LiF in F 1s and in Li 1s alike)."""
    names = []
    for name in tree.children:
        ds = tree[name].to_dataset()
        if "component" in ds.coords:
            names += [str(c) for c in np.atleast_1d(ds["component"].values)]
    return species_colors(names)


def _uncertainty(root: xr.Dataset, name: str) -> xr.DataArray:
    """``<name>_uncertainty`` (combined) when the result has it, else ``<name>_stderr`` (:func:`quoted_error`),
    else NaN."""
    var = quoted_error(root, name)
    return root[var] if var in root else xr.full_like(root[name], np.nan)


def _species_series(tree: xr.DataTree, root: xr.Dataset, dim: str, species: str) -> tuple[np.ndarray, np.ndarray]:
    """Species % and its uncertainty along the steps; NaN (not 0 %) at steps where selection dropped it."""
    v = np.asarray(root["species_percent"].sel(species=species).values, float).copy()
    e = np.asarray(_uncertainty(root, "species_percent").sel(species=species).values, float).copy()
    if "species_region" in root.coords:
        region = str(root["species_region"].sel(species=species).values)
        comp = str(root["species_component"].sel(species=species).values)
        if region in tree.children:
            ds = tree[region].to_dataset()
            if "selected" in ds and comp in [str(c) for c in np.atleast_1d(ds["component"].values)]:
                sel = ds["selected"].sel(component=comp)
                if sel.dims == (dim,):
                    dropped = ~np.asarray(sel.values, bool)
                    v[dropped] = np.nan
                    e[dropped] = np.nan
    return v, e


def _region_flags(tree: xr.DataTree, region: str, dim: str, n: int) -> np.ndarray:
    ds = tree[region].to_dataset()
    if "success" not in ds:
        return np.zeros(n, bool)
    f = spectrum_flags(ds)
    return np.array([bool(v) for v in f.values]) if f.dims == (dim,) else np.zeros(n, bool)


def _series_with_flags(ax, t, v, e, style: dict, label: str, flagged: np.ndarray) -> bool:
    """Line with ±1 uncertainty bars clipped to 0–100 %; bars of flagged steps red and dashed; NaN errors open."""
    known = np.isfinite(e) & np.isfinite(v)
    lower = np.where(known, np.minimum(e, np.maximum(v, 0.0)), 0.0)
    upper = np.where(known, np.minimum(e, np.maximum(100.0 - v, 0.0)), 0.0)
    ax.plot(t, v, color=style["color"], linestyle="-", marker=style["marker"], ms=3.5, lw=1.0, label=label)
    for mask, color, ls in ((known & ~flagged, style["color"], "-"), (known & flagged, FLAG_COLOR, "--")):
        if mask.any():
            bars = ax.errorbar(t[mask], v[mask], yerr=[lower[mask], upper[mask]], fmt="none", ecolor=color,
                               elinewidth=0.9, capsize=2.0)
            bars[2][0].set_linestyle(ls)
    bad = flagged & np.isfinite(v)
    if bad.any():
        ax.plot(t[bad], v[bad], linestyle="none", marker=style["marker"], ms=5.5, mfc="white", mec=FLAG_COLOR,
                mew=1.1)
    missing = ~known & np.isfinite(v)
    if missing.any():
        ax.plot(t[missing], v[missing], linestyle="none", marker=style["marker"], ms=5, mfc="white",
                mec=style["color"], mew=1.1)
    return bool(missing.any())


def _set_steps_axis(ax, t, label: str, ticks: list[str] | None, xlabel: bool = True) -> None:
    if xlabel:
        ax.set_xlabel(label)
    if ticks is not None:
        step = max(1, int(np.ceil(len(ticks) / 8)))
        ax.set_xticks(t[::step], ticks[::step], rotation=30 if max(len(x) for x in ticks) > 4 else 0)
    ax.set_ylim(0, 100)
    ax.set_xlim(*_padded(t))


def _padded(t: np.ndarray) -> tuple[float, float]:
    span = float(np.nanmax(t) - np.nanmin(t)) if t.size > 1 else 1.0
    return float(np.nanmin(t)) - 0.04 * span, float(np.nanmax(t)) + 0.04 * span


def plot_depth_profile(tree: xr.DataTree, axes=None, *, where=None):
    """Atomic % per element and, per region, species % within the element vs etch time, ±1 uncertainty.

    The combined uncertainty (``atomic_percent_uncertainty``...) is drawn when
    the result has it, else the standard error; bars are clipped to 0–100 %;
    a missing one is an open symbol ("n/a").  Species are small multiples,
    one panel per region, in one colour per species across every panel and
    every figure (:func:`all_species_colors`); a step whose fit is flagged
    has red dashed bars and an open red-edged symbol; a species that
    component selection dropped at a step is absent there (not 0 %), and one
    dropped at every step is absent altogether.  A numeric batch coordinate
    (etch time) gives a numeric axis with its unit.  A profile of one step is
    drawn as bars (atomic % per element, species % grouped by region).

    Parameters
    ----------
    tree : xarray.DataTree
        Result of :func:`specfit.xps.fit_depth_profile` (or reopened from file).
    axes : pair of matplotlib Axes, optional
        Old form: atomic % in the first, every species in the second.
    where : Figure or SubFigure, optional
        Container of the new layout (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    root = tree.to_dataset()
    species = _kept_species(tree, root)
    with plt.rc_context(_RC):
        batch = [d for d in root["atomic_percent"].dims if d != "element"]
        one_step = not batch or all(root.sizes[d] == 1 for d in batch)
        if axes is None and one_step:
            fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained") if where is None else \
                (where, where.subplots(1, 2))
        if one_step:  # one step: bars, not a one-point axis
            fig = axes[0].figure
            one = root.isel({d: 0 for d in batch}) if batch else root
            _profile_bars(tree, one, axes, species)
            axes[0].set_ylabel("atomic concentration (at.%)")
            axes[1].set_ylabel("species share of its element (%)")
            axes[0].set_title(f"charge reference: {root.attrs.get('charge_reference', 'none')}")
            return fig
        dim, t, label, ticks = _batch_axis(root)
        colors = all_species_colors(tree)
        elements = [str(e) for e in root["element"].values]
        element_colors = species_colors(elements)
        flags = _step_flags(tree, root)
        regions = [str(r) for r in dict.fromkeys(root["species_region"].sel(species=species).values)] \
            if species.size and "species_region" in root.coords else []
        if axes is not None:  # old two-axes form
            fig = axes[0].figure
            left, panels = axes[0], [axes[1]] * max(1, len(regions))
        else:
            fig = plt.figure(figsize=(11, 4.8), layout="constrained") if where is None else where
            cols = min(3, max(1, len(regions)))
            rows = int(np.ceil(max(1, len(regions)) / cols))
            gs = fig.add_gridspec(rows, cols + 1, width_ratios=[1.5] + [1.0] * cols)
            left = fig.add_subplot(gs[:, 0])
            panels = [fig.add_subplot(gs[i // cols, 1 + i % cols]) for i in range(max(1, len(regions)))]
        any_nan = False
        for element in elements:
            v = np.asarray(root["atomic_percent"].sel(element=element).values, float)
            e = np.asarray(_uncertainty(root, "atomic_percent").sel(element=element).values, float)
            any_nan |= _series_with_flags(left, t, v, e, species_style(element, element_colors), element, flags)
        left.set_ylabel("atomic concentration (at.%)")
        _set_steps_axis(left, t, label, ticks)
        left.set_title(f"charge reference: {root.attrs.get('charge_reference', 'none')}")
        if flags.any():
            left.plot(t[flags], np.ones(flags.sum()), linestyle="none", marker=7, ms=4.5, color=FLAG_COLOR,
                      transform=left.get_xaxis_transform(), clip_on=False, label="flagged step")
        if any_nan:
            left.plot([], [], "o", mfc="white", mec="0.3", label="uncertainty n/a")
        left.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), borderaxespad=0.2, frameon=False,
                    ncols=1, handlelength=1.5) if axes is not None else \
            left.legend(loc="lower center", bbox_to_anchor=(0.5, 1.06), frameon=False,
                        ncols=min(4, len(elements) + 1), handlelength=1.5, columnspacing=0.8)
        for i, region in enumerate(regions):
            ax = panels[i]
            rflags = _region_flags(tree, region, dim, t.size)
            for name in [s for s in species if str(root["species_region"].sel(species=s).values) == region]:
                comp = str(root["species_component"].sel(species=name).values)
                v, e = _species_series(tree, root, dim, name)
                _series_with_flags(ax, t, v, e, species_style(comp, colors), comp, rflags)
            if rflags.any():
                ax.plot(t[rflags], np.ones(rflags.sum()), linestyle="none", marker=7, ms=4, color=FLAG_COLOR,
                        transform=ax.get_xaxis_transform(), clip_on=False)
            if axes is None:
                last_row = i + min(3, len(regions)) >= len(regions)  # nothing below this panel
                _set_steps_axis(ax, t, label, ticks, xlabel=last_row)
                if i % min(3, len(regions)) == 0:
                    ax.set_ylabel("species share of its element (%)" if i == 0 else "share (%)")
                else:
                    ax.tick_params(labelleft=False)
                ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False, ncols=3, fontsize=6.5,
                          title=_region_label(region), title_fontsize=7.5, alignment="left", handlelength=1.2,
                          columnspacing=0.7, borderaxespad=0.1)
        if axes is not None:
            panels[0].set_ylabel("species share of its element (%)")
            _set_steps_axis(panels[0], t, label, ticks)
            panels[0].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False,
                             ncols=1 if len(species) <= 12 else 2)
        footnote = flag_footnote(str(v) for r in tree.children if "flags" in tree[r].to_dataset()
                                 for v in np.atleast_1d(tree[r].to_dataset()["flags"].values))
        if footnote and axes is None:
            fig.supxlabel(footnote + "; red dashed bars: flagged steps", fontsize=6.5, color=FLAG_COLOR)
    return fig


def _step_flags(tree: xr.DataTree, root: xr.Dataset) -> np.ndarray:
    """True for steps where any region's fit carries a flag."""
    dim = [d for d in root["atomic_percent"].dims if d != "element"][0]
    out = np.zeros(root.sizes[dim], bool)
    for name in tree.children:
        ds = tree[name].to_dataset()
        if "success" not in ds:
            continue
        f = spectrum_flags(ds)
        if f.dims == (dim,):
            out |= np.array([bool(v) for v in f.values])
    return out


def plot_region_fit(tree: xr.DataTree, region: str, step: int = 0, ax=None):
    """Fit of one region at one etch step: data, components on the Shirley background, residual, BE reversed.

    Parameters
    ----------
    tree : xarray.DataTree
        Depth-profile result.
    region : str
        Child name (``"F1s"``).
    step : int
        Index along the batch dimension.
    ax : matplotlib Axes, optional
    """
    ds = tree[region].to_dataset()
    dims = ds["success"].dims
    one = ds.isel({d: step for d in dims}) if dims else ds
    shift = float(one["charge_shift"]) if "charge_shift" in one else 0.0
    flags = spectrum_flags(ds)
    flag = str(flags.isel({d: step for d in dims}).values.item()) if dims else str(flags.values.item())
    where = spectrum_title(ds, one, tuple(dims))
    return plot_fit(one, ax, title=f"{region} {where} (charge shift {format_signed(shift)} eV)", flags=flag)


def depth_profile_figures(tree: xr.DataTree, *, steps_per_page: int = 6) -> list:
    """Report pages of a depth profile: the profile, then the fit of every region (columns) at every step (rows).

    Parameters
    ----------
    tree : xarray.DataTree
        Result of :func:`specfit.xps.fit_depth_profile`.
    steps_per_page : int
        Rows of fits per page; further steps continue on the next pages.

    Returns
    -------
    list of matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    regions = [name for name in tree.children if "data" in tree[name].to_dataset()]
    first = tree[regions[0]].to_dataset()
    dims = tuple(first["success"].dims)
    n_steps = int(np.prod([first.sizes[d] for d in dims])) if dims else 1
    pages = [list(range(s, min(s + steps_per_page, n_steps))) for s in range(0, n_steps, steps_per_page)]
    figs = []
    with plt.rc_context(_RC):
        for p, steps in enumerate(pages):
            grid_h = 2.45 * len(steps) + 0.9
            n_rows = int(np.ceil(len(regions) / 3))
            top_h = (3.6 if n_steps == 1 else 1.2 + 2.3 * n_rows) if p == 0 else 0.0
            fig = plt.figure(figsize=(max(8.0, 2.7 * len(regions)), grid_h + top_h), layout="constrained")
            if p == 0:
                top, bottom = fig.subfigures(2, 1, height_ratios=[top_h, grid_h])
                plot_depth_profile(tree, where=top)
            else:
                bottom = fig
            if len(pages) > 1:
                bottom.suptitle(f"fits, steps {steps[0] + 1}–{steps[-1] + 1} of {n_steps}")
            columns = np.atleast_1d(bottom.subfigures(1, len(regions)))
            colors = all_species_colors(tree)
            for col, (region, sub) in enumerate(zip(regions, columns)):
                _region_column(sub, tree[region].to_dataset(), region, steps, first_column=(col == 0),
                               colors=colors)
            figs.append(fig)
    return figs


def _region_label(region: str) -> str:
    """``C1s`` -> ``C 1s``, ``S2p`` -> ``S 2p``."""
    for i, ch in enumerate(region):
        if ch.isdigit():
            return f"{region[:i]} {region[i:]}"
    return region


def _region_column(sub, ds: xr.Dataset, region: str, steps: list[int], *, first_column: bool,
                   colors: dict[str, str] | None = None) -> None:
    dims = tuple(ds["success"].dims)
    flags = spectrum_flags(ds)
    gs = sub.add_gridspec(len(steps), 1)
    axes = []
    for row, step in enumerate(steps):
        ax, rax = fit_axes(sub, gs[row, 0])
        axes.append(ax)
        idx = dict(zip(dims, np.unravel_index(step, tuple(ds.sizes[d] for d in dims)))) if dims else {}
        one = ds.isel(idx) if idx else ds
        flag = str(flags.isel(idx).values.item()) if idx else str(flags.values.item())
        title = spectrum_title(ds, one, dims)
        shift = float(one["charge_shift"]) if "charge_shift" in one else 0.0
        if first_column and "charge_shift" in one:
            charge = f"charge shift {format_signed(shift)} eV"
            title = f"{title} ({charge})" if title else charge
        plot_fit(one, ax, title=title, flags=flag, legend=False, ylabel=first_column, residual_ax=rax, colors=colors)
    handles, labels = merged_legend_entries(axes)
    sub.legend(handles, labels, loc="outside upper center", ncols=3, frameon=False, title=_region_label(region))


__all__ = ["all_species_colors", "depth_profile_figures", "plot_depth_profile", "plot_region_fit"]
