"""Publication figures of fit results (matplotlib, Agg-safe: no display needed).

:func:`plot` draws the right figure for any result kind (one fit, a series or
global series, an XPS depth profile, a Raman speciation, ⁷Li NMR shifts);
:func:`figures` gives every page when a batch is too large for one.

Conventions (all figures): constrained layout; legends outside the data;
every axis labelled with its unit (from the coordinates' ``units`` attrs);
a residual panel with its own scale under every fit; binding energy and ppm
axes reversed; numeric batch coordinates (etch time) on a numeric axis;
Paul Tol's colour-blind-safe "muted" palette combined with distinct markers
and line styles, so up to 63 series stay distinguishable; spectra whose result
``flags`` are not empty marked in their panel title and in the overview;
a missing standard error drawn as an open symbol and written "n/a", never as
an error bar that looks precise; fraction error bars clipped to 0–100 %.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
import xarray as xr

#: Paul Tol's "muted" qualitative scheme (colour-blind safe), https://personal.sron.nl/~pault/
PALETTE = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", ":", "-.")
FLAG_COLOR = "#CC3311"  # Tol "vibrant" red: flagged spectra
#: Spectrum panels per page before a result is split into pages.
PER_PAGE = 30
#: Pages drawn at most; larger batches are shown as an evenly spaced subset (said on the figure).
MAX_PAGES = 10

RC = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7, "xtick.labelsize": 7,
       "ytick.labelsize": 7, "figure.titlesize": 9, "legend.title_fontsize": 8}
_AXIS_NAMES = {"binding_energy": ("binding energy", "eV"), "kinetic_energy": ("kinetic energy", "eV"),
               "raman_shift": ("Raman shift", "cm-1"), "chemical_shift": ("chemical shift", "ppm"),
               "wavenumber": ("wavenumber", "cm-1")}
_TECHNIQUE_UNITS = {"xps": "eV", "raman": "cm-1", "nmr": "ppm"}


#: Colours of species: Tol "muted" plus orange and blue of Tol "vibrant" and a brown (colour-blind safe and
#: distinct from each other), 12 in all.
SPECIES_PALETTE = PALETTE + ("#EE7733", "#0077BB", "#9A6324")
#: Short codes of flags in panel titles (the figure's footnote spells them out; the peak table has the words).
FLAG_ABBREVIATIONS = {"at_bound": "AB", "stderr_nan": "SE", "insignificant": "INS", "not_converged": "NC",
                      "not_fitted": "NF", "poor_fit": "PF", "background_not_converged": "BG",
                      "charge_reference_at_bound": "CRB", "charge_reference_minor": "CRM",
                      "charge_reference_not_found": "CRN", "charge_references_disagree": "CRD",
                      "resampled_axis": "RS", "ambiguous_assignment": "AMB", "cross_region_mismatch": "XR",
                      "component_dropped": "DR"}


def flag_abbreviation(code: str) -> str:
    """``at_bound`` -> ``AB``; an unknown code -> its words' initials in capitals."""
    code = code.strip()
    return FLAG_ABBREVIATIONS.get(code) or "".join(w[:1] for w in code.split("_")).upper() or code


def _preferred_slot(name: str) -> int:
    import zlib

    return zlib.crc32(str(name).encode("utf-8")) % len(SPECIES_PALETTE)


def species_colors(names) -> dict[str, str]:
    """One colour per species name, stable between runs and figures (the name's CRC-32 picks a colour of
    :data:`SPECIES_PALETTE`); two names of one figure that want the same colour: the later one in sorted
    order takes the next free colour.  Beyond 12 names colours repeat (then hatches tell them apart)."""
    out: dict[str, str] = {}
    used: set[int] = set()
    for name in sorted({str(n) for n in names}):
        slot = _preferred_slot(name)
        if len(used) < len(SPECIES_PALETTE):
            while slot in used:
                slot = (slot + 1) % len(SPECIES_PALETTE)
        used.add(slot)
        out[name] = SPECIES_PALETTE[slot]
    return out


def species_style(name: str, colors: dict[str, str] | None = None) -> dict:
    """Colour (from ``colors`` or :func:`species_colors` of the name alone), marker and line style of a species."""
    import zlib

    color = (colors or {}).get(str(name)) or species_colors([name])[str(name)]
    k = zlib.crc32(str(name).encode("utf-8"))
    return {"color": color, "marker": MARKERS[k % len(MARKERS)], "linestyle": "-"}


def series_style(k: int) -> dict:
    """Colour, marker and line style of series ``k``: every (colour, marker) pair differs up to 63 series."""
    return {"color": PALETTE[k % len(PALETTE)], "marker": MARKERS[k % len(MARKERS)],
            "linestyle": LINESTYLES[(k // len(PALETTE)) % len(LINESTYLES)]}


# ------------------------------------------------------------------ labels and units
def unit_text(units: str) -> str:
    """Units as typeset on an axis: ``cm-1`` -> cm⁻¹ (mathtext), ``1`` -> empty."""
    units = str(units).strip()
    if units in ("", "1"):
        return ""
    for plain, tex in (("cm-1", "cm$^{-1}$"), ("cm^-1", "cm$^{-1}$"), ("s-1", "s$^{-1}$")):
        units = units.replace(plain, tex)
    return units


def _with_units(name: str, units: str) -> str:
    units = unit_text(units)
    return f"{name} ({units})" if units else name


def axis_label(ds: xr.Dataset, axis: str) -> str:
    """Label of the spectral axis with its unit (coordinate attrs, else the technique's)."""
    name, default = _AXIS_NAMES.get(axis, (axis.replace("_", " "), ""))
    attrs = ds[axis].attrs if axis in ds.coords else {}
    units = attrs.get("units") or default or _TECHNIQUE_UNITS.get(str(ds.attrs.get("technique", "")), "")
    # known axes keep their physical name (a reader's long_name may be a raw column header)
    return _with_units(name if axis in _AXIS_NAMES else attrs.get("long_name", name), units)


def coord_label(ds: xr.Dataset, dim: str) -> str:
    """Label of a batch coordinate, e.g. ``etch time (s)``."""
    attrs = ds[dim].attrs if dim in ds.coords else {}
    return _with_units(attrs.get("long_name", dim.replace("_", " ")), attrs.get("units", ""))


def intensity_units(ds: xr.Dataset) -> str:
    """Units of the intensities: the data's ``units`` attr, else ``arb. units``."""
    units = ""
    if "data" in ds:
        units = ds["data"].attrs.get("units", "")
    units = units or ds.attrs.get("data_units", "") or ds.attrs.get("intensity_units", "")
    return str(units) or "arb. units"


def _format_value(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    if isinstance(value, (np.datetime64,)):
        return str(value)[:19]
    return str(value)


def spectrum_title(ds: xr.Dataset, one: xr.Dataset, dims: tuple[str, ...]) -> str:
    """``etch time 30 s`` / ``sample S1`` / ``x 1, y 2`` for one spectrum of a batch."""
    parts = []
    for d in dims:
        value = _format_value(one[d].values.item() if d in one.coords else "")
        units = ds[d].attrs.get("units", "") if d in ds.coords else ""
        name = d.replace("_", " ")
        if value.lower().startswith(name.lower()):  # "sample sample1" -> "sample1"
            name = ""
        parts.append(f"{name} {value} {unit_text(units)}".strip())
    return ", ".join(parts)


def format_pm(value: float, err: float, unit: str = "") -> str:
    """``value ± err`` rounded to two significant digits of ``err``; ``± n/a`` when ``err`` is NaN."""
    unit = f" {unit}" if unit else ""
    if not np.isfinite(value):
        return "n/a"
    if not np.isfinite(err):
        return f"{value:.4g} ± n/a{unit}"
    if err == 0:
        return f"{value:.4g} ± 0{unit}"
    digits = max(0, 1 - int(np.floor(np.log10(abs(err)))))
    return f"{value:.{digits}f} ± {err:.{digits}f}{unit}"


def format_signed(value: float, digits: int = 2) -> str:
    """``+0.12`` / ``-1.17`` / ``0.00``: a signed value whose rounding to zero prints without a sign.

    ``f"{-0.001:+.2f}"`` gives ``-0.00``, a "negative zero" that reads as a shift
    where there is none; here any value that rounds to zero is ``0.00``.
    """
    value = float(value)
    if not np.isfinite(value):
        return "n/a"
    rounded = round(value, digits)
    if rounded == 0:
        return f"{0.0:.{digits}f}"
    return f"{rounded:+.{digits}f}"


def short_flags(codes: str) -> str:
    """``"at_bound,poor_fit"`` -> ``"⚑ AB PF"`` (empty when clean)."""
    items = [flag_abbreviation(c) for c in str(codes).split(",") if c.strip()]
    return "\u2691 " + " ".join(items) if items else ""


def flag_footnote(codes) -> str:
    """``"flags: AB at_bound, PF poor_fit"`` for every code of ``codes`` (an iterable of comma-separated strings)."""
    seen = dict.fromkeys(c.strip() for v in codes for c in str(v).split(",") if c.strip())
    return ("\u2691 flags: " + ", ".join(f"{flag_abbreviation(c)} {c}" for c in seen)) if seen else ""


def doublet_lines(ds: xr.Dataset, x: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Both lines of each spin–orbit doublet of one spectrum (name -> (main, partner) curves).

    From the result's center, fwhm, area and shape and the library's doublet
    (splitting, area ratio); empty when the library cannot be read or has
    changed since the fit (then only the sum is drawn).
    """
    import json

    from specfit.lineshapes.profiles import get_lineshape

    doublets = _library_doublets(str(ds.attrs.get("library_path") or ds.attrs.get("library") or ""),
                                 str(ds.attrs.get("library_hash", "")))
    if not doublets or "component" not in ds.dims or ds["center"].ndim != 1:
        return {}
    try:
        lineshapes = json.loads(ds.attrs.get("lineshapes", "{}"))
    except (TypeError, ValueError):
        lineshapes = {}
    out = {}
    for k, name in enumerate(str(c) for c in ds["component"].values):
        if name not in doublets or name not in lineshapes:
            continue
        splitting, ratio = doublets[name]
        center, fwhm, area = (float(ds[v].values[k]) for v in ("center", "fwhm", "area"))
        shape = float(ds["shape"].values[k]) if "shape" in ds and ds["shape"].ndim == 1 else float(
            lineshapes[name][1])
        if not all(np.isfinite([center, fwhm, area, shape])) or fwhm <= 0:
            continue
        unit = get_lineshape(lineshapes[name][0]).unit
        main = area / (1 + ratio) / fwhm * unit((x - center) / fwhm, shape)
        partner = area * ratio / (1 + ratio) / fwhm * unit((x - center - splitting) / fwhm, shape)
        out[name] = (main, partner)
    return out


def _library_doublets(source: str, digest: str) -> dict[str, tuple[float, float]]:
    lib = _result_library(source, digest)
    return {c.name: (c.doublet.splitting, c.doublet.ratio) for c in lib.components if c.doublet} if lib else {}


def _result_library(source: str, digest: str, _cache: dict = {}):  # noqa: B006 (a cache)
    """The library a result names, if it is installed here and unchanged since the fit (else None)."""
    if not source:
        return None
    if (source, digest) not in _cache:
        try:
            from specfit.library.loader import load_library

            lib = load_library(source)
            _cache[(source, digest)] = lib if not digest or lib.content_hash == digest else None
        except Exception:  # the library is not installed where the result is read
            _cache[(source, digest)] = None
    return _cache[(source, digest)]


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def nucleus_label(ds: xr.Dataset) -> str:
    """``¹³C`` / ``⁷Li``: the nucleus of an NMR result, from its library (which names it) before the data's
    attrs; ``⁷Li`` only when nothing says otherwise."""
    lib = _result_library(str(ds.attrs.get("library_path") or ds.attrs.get("library") or ""),
                          str(ds.attrs.get("library_hash", "")))
    nucleus = (lib.nucleus if lib is not None and lib.nucleus else "") or str(ds.attrs.get("nucleus", "") or "7Li")
    digits = "".join(ch for ch in nucleus if ch.isdigit())
    return digits.translate(_SUPERSCRIPT) + "".join(ch for ch in nucleus if not ch.isdigit())


def wrap_codes(codes: str, width: int, prefix: str = "flag: ") -> str:
    """Comma-separated codes as ``prefix`` + lines of at most ``width`` characters, broken after commas.

    A single code longer than ``width`` stays whole on its own line (codes are
    never cut); the full text of each flag belongs in the peak table.
    """
    items = [c.strip() for c in str(codes).split(",") if c.strip()]
    lines: list[str] = []
    line = prefix.rstrip()
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 else "")
        candidate = f"{line} {piece}" if line else piece
        if line and len(candidate) > width:
            lines.append(line)
            line = piece
        else:
            line = candidate
    lines.append(line)
    return "\n".join(lines)


def _title_chars(ax) -> int:
    """Characters of the title font that fit the width of ``ax`` (estimate from its gridspec cell).

    Before the layout engine has run the axes fills its cell; constrained layout
    then takes tick labels off that width, hence the 0.85 margin.  Characters of
    DejaVu Sans average about 0.6 em.
    """
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties

    width_in = ax.get_window_extent().width / ax.get_figure(root=True).dpi
    size_pt = FontProperties(size=mpl.rcParams["axes.titlesize"]).get_size_in_points()
    return max(12, int(0.85 * width_in * 72.0 / (0.6 * size_pt)))


def _selected_mask(ds: xr.Dataset, n: int) -> np.ndarray:
    """Components kept by component selection in this spectrum (all True without a ``selected`` variable)."""
    if "selected" not in ds or ds["selected"].dims != ("component",):
        return np.ones(n, bool)
    return np.asarray(ds["selected"].values, bool)


def ever_selected(ds: xr.Dataset) -> np.ndarray:
    """Per component: kept by component selection in at least one spectrum of the result."""
    n = ds.sizes.get("component", 1)
    if "selected" not in ds or "component" not in ds["selected"].dims:
        return np.ones(n, bool)
    sel = ds["selected"].astype(bool)
    others = [d for d in sel.dims if d != "component"]
    return np.asarray((sel.any(others) if others else sel).values, bool)


def _scale(values: np.ndarray) -> tuple[float, str]:
    """Power of 1000 to divide intensities by, and its label prefix (``10$^{3}$``)."""
    peak = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
    if peak < 1e6:
        return 1.0, ""
    exp = int(np.floor(np.log10(peak) / 3) * 3)
    return 10.0**exp, f"10$^{{{exp}}}$ "


# ------------------------------------------------------------------ flags
def spectrum_flags(ds: xr.Dataset) -> xr.DataArray:
    """Comma-separated flag codes per spectrum (empty string when clean).

    The result's ``flags`` variable when present; for older results without it,
    derived from ``success`` (``not_converged``), ``at_bound`` and NaN standard
    errors of finite values (``stderr_nan``).
    """
    dims = tuple(ds["success"].dims) if "success" in ds else ()
    if "flags" in ds:
        return ds["flags"].astype(str)
    codes = []
    success = ds["success"] if "success" in ds else xr.DataArray(True)
    checks = [("not_converged", ~success.astype(bool))]
    if "at_bound" in ds:
        ab = ds["at_bound"].astype(bool)
        checks.append(("at_bound", ab.any("component") if "component" in ab.dims else ab))
    nan_err = None
    for q in ("center", "fwhm", "area"):
        if q in ds and f"{q}_stderr" in ds:
            bad = np.isfinite(ds[q]) & ~np.isfinite(ds[f"{q}_stderr"])
            bad = bad.any("component") if "component" in bad.dims else bad
            nan_err = bad if nan_err is None else nan_err | bad
    if nan_err is not None:
        checks.append(("stderr_nan", nan_err & success.astype(bool)))
    shape = tuple(ds.sizes[d] for d in dims)
    out = np.full(shape, "", dtype=object)
    for code, mask in checks:
        m = np.broadcast_to(np.asarray(mask.transpose(*[d for d in dims if d in mask.dims]).values), shape)
        for idx in zip(*np.nonzero(m)) if m.ndim else ([()] if bool(m) else []):
            out[idx] = f"{out[idx]},{code}" if out[idx] else code
    codes = xr.DataArray(out.astype(str), dims=dims, coords={d: ds[d] for d in dims if d in ds.coords})
    return codes


# ------------------------------------------------------------------ one fit
def _finite_span(x: np.ndarray, *ys: np.ndarray) -> tuple[float, float]:
    ok = np.zeros(x.shape, bool)
    for y in ys:
        ok |= np.isfinite(y)
    xs = x[ok] if ok.any() else x
    return float(np.min(xs)), float(np.max(xs))


def _reversed_axis(ds: xr.Dataset, axis: str) -> bool:
    return axis in ("binding_energy", "chemical_shift") or (
        axis not in ("kinetic_energy", "raman_shift") and ds.attrs.get("technique") in ("xps", "nmr"))


def fit_axes(where, spec=None, *, ratio: float = 3.2):
    """A main axes and a residual axes below it (shared x) in a figure, subfigure or gridspec cell.

    Parameters
    ----------
    where : Figure or SubFigure
        Container to add the axes to.
    spec : SubplotSpec, optional
        Cell of a grid; default: the whole container.
    ratio : float
        Height of the main panel over the residual panel.

    Returns
    -------
    (Axes, Axes)
        Main and residual axes.
    """
    gs = (spec.subgridspec(2, 1, height_ratios=[ratio, 1], hspace=0.0) if spec is not None
          else where.add_gridspec(2, 1, height_ratios=[ratio, 1], hspace=0.0))
    ax = where.add_subplot(gs[0])
    rax = where.add_subplot(gs[1], sharex=ax)
    return ax, rax


def plot_fit(ds: xr.Dataset, ax=None, *, title: str = "", legend: bool = True, flags: str = "",
             residual: bool = True, ylabel: bool = True, xlabel: bool = True, component_labels=None,
             residual_ax=None, xlim: tuple[float, float] | None = None, colors: dict[str, str] | None = None):
    """One spectrum's fit: data, components shaded on the background, envelope, and a residual panel.

    The residual is drawn in its own axes directly below the fit with its
    own symmetric scale: ``residual_ax`` when given (see :func:`fit_axes`),
    else a new figure's second panel, else (``ax`` given alone) an inset
    just below ``ax``.  Binding-energy and ppm axes are reversed (high values left).

    Parameters
    ----------
    ds : xarray.Dataset
        One spectrum of a result (no batch dims): ``data``, ``best_fit``,
        optionally ``background``, ``component_curve``, ``residual``.
    ax : matplotlib Axes, optional
        Axes to draw in; a new figure when omitted.
    title : str
        Panel title.
    legend : bool
        Legend to the right, outside the data.
    flags : str
        Flag codes of this spectrum; non-empty marks the panel.
    residual, ylabel, xlabel : bool
        Draw the residual panel / axis labels.
    residual_ax : matplotlib Axes, optional
        Axes of the residual (shares x with ``ax``).
    component_labels : sequence of str, optional
        Legend text of each component (default: the component names).
        Components that component selection dropped (``selected`` False) are
        neither drawn nor listed in the legend.
    xlim : (float, float), optional
        Spectral range shown (either order; the axis direction follows the
        axis kind); default: the fitted window.  Data are drawn inside it.
    colors : dict, optional
        Species name -> colour (default :func:`species_colors` of the components):
        one colour per species in every panel and figure.  A spin–orbit doublet
        is drawn as its sum (filled) and both lines (dashed).

    Returns
    -------
    matplotlib Axes
        The main axes (the residual axes is ``ax.child_axes[0]`` when drawn).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        with plt.rc_context(RC):
            fig = plt.figure(figsize=(6.5, 4.4), layout="constrained")
            ax, new_rax = fit_axes(fig)
        residual_ax = new_rax if residual else None
        if not residual:
            new_rax.remove()
    axis = ds["data"].dims[-1]
    x = np.asarray(ds[axis].values, float)
    data = np.asarray(ds["data"].values, float)
    fit = np.asarray(ds["best_fit"].values, float)
    bg = np.asarray(ds["background"].values, float) if "background" in ds else np.zeros_like(x)
    bg = np.where(np.isfinite(bg), bg, np.nan)
    scale, prefix = _scale(data)
    lo, hi = _finite_span(x, fit) if xlim is None else (float(min(xlim)), float(max(xlim)))
    inside = (x >= lo) & (x <= hi)
    ax.plot(x[inside], data[inside] / scale, "o", ms=1.8, color="0.35", mew=0, label="data", gid="legend:0000")
    if "component_curve" in ds:
        names = [str(c) for c in ds["component"].values]
        labels = list(component_labels) if component_labels is not None else names
        curves = np.asarray(ds["component_curve"].transpose("component", axis).values, float)
        kept = _selected_mask(ds, len(names))
        colors = colors or species_colors(names)
        doublets = doublet_lines(ds, x)
        for k, curve in enumerate(curves):
            if not kept[k]:  # dropped by component selection: area 0, no place in the figure
                continue
            color = colors.get(names[k]) or species_colors([names[k]])[names[k]]
            top = (bg + curve) / scale
            # a colour shared with a species sorted earlier (more than 12 in one figure): hatched
            hatched = any(c == color and n < names[k] for n, c in colors.items())
            ax.fill_between(x, bg / scale, top, color=color, alpha=0.45, lw=0, label=labels[k],
                            hatch="///" if hatched else None, gid=f"legend:{k + 1:04d}")
            ax.plot(x, top, color=color, lw=0.7)
            for line in doublets.get(names[k], ()):  # both spin-orbit lines, dashed, under their sum
                ax.plot(x, (bg + line) / scale, color=color, lw=0.6, linestyle=(0, (3, 1.5)))
    if "background" in ds:
        ax.plot(x, bg / scale, "--", color="0.4", lw=0.9, label="background", gid="legend:8000")
    ax.plot(x, fit / scale, color="black", lw=1.1, label="fit", gid="legend:9000")
    units = intensity_units(ds)
    if ylabel or scale != 1.0:  # a scaled panel always says its scale
        ax.set_ylabel(f"intensity\n({prefix}{units})")  # two short lines: clear of the residual's label
    xmin, xmax = (hi, lo) if _reversed_axis(ds, axis) else (lo, hi)
    ax.set_xlim(xmin, xmax)
    if title:  # wrapped to the panel width: never past the figure edge or into a neighbour
        width = _title_chars(ax)
        short = short_flags(flags)
        width = max(8, width - (len(short) + 2 if short else 0))
        ax.set_title("\n".join(textwrap.fill(line, width) for line in title.splitlines()), loc="left")
    if flags:  # short codes at the right of the title line (the footnote says what they mean), no frame
        ax.set_title(short_flags(flags), loc="right", color=FLAG_COLOR, fontweight="bold")
    if residual:
        resid = np.asarray(ds["residual"].values, float) if "residual" in ds else data - fit
        rax = residual_ax if residual_ax is not None else ax.inset_axes([0.0, -0.34, 1.0, 0.30], sharex=ax)
        rax.plot(x, resid / scale, lw=0.6, color="0.2")
        rax.axhline(0.0, color="0.3", lw=0.5)
        r = float(np.nanmax(np.abs(resid[inside]))) / scale if np.isfinite(resid[inside]).any() else 1.0
        rax.set_ylim(-1.15 * r, 1.15 * r)
        # the residual's top tick and the fit's bottom tick meet at the shared edge: prune both; edge x ticks
        # would meet the next panel's labels
        rax.yaxis.set_major_locator(MaxNLocator(nbins=3, prune="upper"))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, prune="lower"))
        rax.xaxis.set_major_locator(MaxNLocator(nbins=5, prune="both" if ax.get_figure(root=True) is not
                                                ax.get_figure(root=False) or not legend else None))
        if ylabel or scale != 1.0:
            rax.set_ylabel("resid.")
        ax.tick_params(labelbottom=False)
        if xlabel:
            rax.set_xlabel(axis_label(ds, axis))
    elif xlabel:
        ax.set_xlabel(axis_label(ds, axis))
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    return ax


# ------------------------------------------------------------------ batches
@dataclass
class _Spectrum:
    title: str
    flags: str
    ds: xr.Dataset


def _batch_dims(ds: xr.Dataset) -> tuple[str, ...]:
    return tuple(ds["success"].dims)


def _spectra(ds: xr.Dataset) -> list[_Spectrum]:
    """Every spectrum of a result with its title and flags (batch dims stacked in C order)."""
    dims = _batch_dims(ds)
    flags = spectrum_flags(ds)
    if not dims:
        return [_Spectrum("", str(flags.values.item()) if flags.size else "", ds)]
    out = []
    for idx in np.ndindex(*(ds.sizes[d] for d in dims)):
        sel = dict(zip(dims, idx))
        one = ds.isel(sel)
        out.append(_Spectrum(spectrum_title(ds, one, dims), str(flags.isel(sel).values.item()), one))
    return out


def _pick(n: int, per_page: int, max_pages: int) -> tuple[np.ndarray, str]:
    """Indices of the spectra drawn, and a note when only a subset fits."""
    limit = per_page * max_pages
    if n <= limit:
        return np.arange(n), ""
    idx = np.unique(np.linspace(0, n - 1, limit).round().astype(int))
    return idx, f"showing {idx.size} of {n} spectra (evenly spaced)"


def _grid_shape(n: int) -> tuple[int, int]:
    ncols = 1 if n == 1 else 2 if n <= 4 else 3 if n <= 9 else 4 if n <= 16 else 5 if n <= 25 else 6
    return int(np.ceil(n / ncols)), ncols


def merged_legend_entries(axes) -> tuple[list, list[str]]:
    """Legend handles and labels of several fit panels: each label once, data, components, background, fit.

    A component dropped by component selection in the first panel but kept in
    a later one is still listed (in component order).
    """
    seen: dict[str, tuple[str, object]] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in seen:
                seen[label] = (handle.get_gid() or f"legend:{5000 + len(seen):04d}", handle)
    order = sorted(seen, key=lambda label: seen[label][0])
    return [seen[label][1] for label in order], order


def _draw_grid(sub, items: list[_Spectrum], *, heading: str = "", component_labels=None,
               xlim: tuple[float, float] | None = None) -> None:
    """A grid of fit panels in a (sub)figure, one legend above it, outside the data."""
    nrows, ncols = _grid_shape(len(items))
    colors = species_colors(items[0].ds["component"].values) if items and "component" in items[0].ds.dims else {}
    axes = []
    gs = sub.add_gridspec(nrows, ncols)
    for i, item in enumerate(items):
        r, c = divmod(i, ncols)
        ax, rax = fit_axes(sub, gs[r, c])
        plot_fit(item.ds, ax, title=item.title, flags=item.flags, legend=False, ylabel=(c == 0),
                 component_labels=component_labels, residual_ax=rax, xlim=xlim, colors=colors)
        axes.append(ax)
    handles, labels = merged_legend_entries(axes)
    sub.legend(handles, labels, loc="outside upper center", ncols=min(len(labels), 8), frameon=False,
               title=heading or None)  # the heading is the legend's title: one block, nothing overlaps
    footnote = flag_footnote(item.flags for item in items)
    if footnote:
        sub.supxlabel(footnote, fontsize=6.5, color=FLAG_COLOR)


def _overview_dim(ds: xr.Dataset) -> tuple[np.ndarray, str, list[str] | None]:
    """x positions, axis label and tick labels (None: numeric axis) of the batch for overview plots."""
    dims = _batch_dims(ds)
    n = int(np.prod([ds.sizes[d] for d in dims])) if dims else 1
    if len(dims) == 1:
        d = dims[0]
        if d in ds.coords and np.issubdtype(ds[d].dtype, np.number):
            return np.asarray(ds[d].values, float), coord_label(ds, d), None
        values = [_format_value(v) for v in ds[d].values] if d in ds.coords else [str(i) for i in range(n)]
        return np.arange(n, dtype=float), coord_label(ds, d), values
    return np.arange(n, dtype=float), "spectrum (" + " × ".join(dims) + ")", None


def _clipped_errorbar(ax, x, value, err, style: dict, label: str, lo: float = 0.0, hi: float = 100.0,
                      ms: float = 4.0) -> None:
    """Points with ±err clipped to [lo, hi]; NaN errors: open symbols, no bar."""
    value, err = np.asarray(value, float), np.asarray(err, float)
    known = np.isfinite(err)
    lower = np.where(known, np.minimum(err, np.maximum(value - lo, 0.0)), np.nan)
    upper = np.where(known, np.minimum(err, np.maximum(hi - value, 0.0)), np.nan)
    ax.plot(x, value, color=style["color"], linestyle=style["linestyle"], lw=1.0, label=label,
            marker=style["marker"], ms=ms, mfc=style["color"])
    if known.any():
        ax.errorbar(np.asarray(x)[known], value[known], yerr=[lower[known], upper[known]], fmt="none",
                    ecolor=style["color"], elinewidth=0.9, capsize=2.5)
    if (~known & np.isfinite(value)).any():
        ax.plot(np.asarray(x)[~known], value[~known], linestyle="none", marker=style["marker"], ms=ms + 1.5,
                mfc="white", mec=style["color"], mew=1.2)


def _mark_flagged(ax, x, flags: np.ndarray) -> None:
    """A small red triangle above the top spine at each flagged spectrum: never on the data."""
    flagged = np.array([bool(f) for f in np.ravel(flags)])
    if flagged.any():
        ax.plot(np.asarray(x)[flagged], np.full(flagged.sum(), 1.0), linestyle="none", marker=7, ms=4.5,
                color=FLAG_COLOR, transform=ax.get_xaxis_transform(), clip_on=False, label="flagged spectrum")
        ax.set_title(ax.get_title(), pad=8)


def _set_batch_axis(ax, x, label: str, ticks: list[str] | None) -> None:
    ax.set_xlabel(label)
    if ticks is not None:
        step = max(1, int(np.ceil(len(ticks) / 15)))
        shown = ticks[::step]
        crowded = sum(len(t) + 2 for t in shown) > 70
        ax.set_xticks(x[::step], shown, rotation=30 if crowded else 0, ha="right" if crowded else "center")
        ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)


def _has_nan_note(*errs) -> bool:
    return any(bool((~np.isfinite(np.asarray(e, float))).any()) for e in errs)


def plot_fractions(ds: xr.Dataset, ax=None, *, spread: xr.DataArray | None = None):
    """Fraction (%) of each component along the batch, ±1 combined uncertainty (else stderr) clipped to 0–100 %,
    flagged spectra marked.

    Numeric batch coordinates (e.g. ``etch_time`` in s) give a numeric axis;
    labels (samples) give one tick each.  ``spread`` (same dims as
    ``fraction``, fraction units) adds a grey full-range bar beside each point.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        with plt.rc_context(RC):
            _, ax = plt.subplots(figsize=(6.5, 3.5), layout="constrained")
    dims = _batch_dims(ds)
    x, label, ticks = _overview_dim(ds)
    frac = ds["fraction"].transpose(*dims, "component")
    err = ds[quoted_error(ds, "fraction")].transpose(*dims, "component")  # the combined uncertainty when present
    n_comp = frac.sizes["component"]
    vals = np.asarray(frac.values, float).reshape(-1, n_comp) * 100
    errs = np.asarray(err.values, float).reshape(-1, n_comp) * 100
    dx = (np.nanmin(np.diff(np.sort(x))) if x.size > 1 else 1.0) * 0.06 if ticks is not None else 0.0
    kept = ever_selected(ds)
    colors = species_colors(frac["component"].values)
    for k, name in enumerate(frac["component"].values):
        if not kept[k]:  # dropped by component selection in every spectrum
            continue
        xk = x + (k - (n_comp - 1) / 2) * dx
        _clipped_errorbar(ax, xk, vals[:, k], errs[:, k], species_style(str(name), colors), str(name))
        if spread is not None:
            sp = np.asarray(spread.transpose(*dims, "component").values, float).reshape(-1, n_comp)[:, k] * 100
            lo = np.clip(vals[:, k] - sp / 2, 0, 100)
            hi = np.clip(vals[:, k] + sp / 2, 0, 100)
            ax.vlines(xk + dx / 3, lo, hi, color="0.55", lw=3, alpha=0.6,
                      label="baseline spread" if k == 0 else None)
    _mark_flagged(ax, x, spectrum_flags(ds).transpose(*dims).values)
    _set_batch_axis(ax, x, label, ticks)
    ax.set_ylabel("fraction of fitted area (%)")
    top = np.nanmax(np.where(np.isfinite(errs), vals + errs, vals)) if np.isfinite(vals).any() else 100.0
    ax.set_ylim(0, min(100.0, max(10.0, 10 * np.ceil(top / 10) + 5)))
    if _has_nan_note(errs):
        ax.plot([], [], "o", mfc="white", mec="0.3", label="uncertainty n/a")
    _outside_legend(ax)
    return ax


def _outside_legend(ax) -> None:
    """Legend right of the axes, outside the data: series first, then explanatory entries."""
    handles, labels = ax.get_legend_handles_labels()
    notes = ("baseline spread", "flagged spectrum", "stderr n/a")
    order = sorted(range(len(labels)), key=lambda i: (any(labels[i].startswith(n) or "shape model" in labels[i]
                                                          for n in notes), i))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper left",
              bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)


def quoted_error(ds: xr.Dataset, name: str) -> str:
    """The error variable a figure quotes for ``name``: ``<name>_uncertainty`` (statistical and model spread)
    when the result has it, else ``<name>_stderr``."""
    return f"{name}_uncertainty" if f"{name}_uncertainty" in ds else f"{name}_stderr"


def _fraction_text(ds: xr.Dataset) -> list[str]:
    """``LiF 45.2 ± 0.3 %`` per component: ± the combined uncertainty when present, else the stderr (``± n/a``
    when it is NaN)."""
    out = []
    err = quoted_error(ds, "fraction")
    for k, name in enumerate(ds["component"].values):
        f = float(ds["fraction"].values[k]) * 100
        e = float(ds[err].values[k]) * 100
        out.append(f"{name}: {format_pm(f, e, '%')}")
    return out


# ------------------------------------------------------------------ figure kinds
def _new_figure(width: float, height: float):
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width, height), layout="constrained")


def series_pages(ds: xr.Dataset, overview, *, per_page: int, max_pages: int, component_labels=None,
                 xlim: tuple[float, float] | None = None) -> list:
    """Page 1: overview + the first spectra; further pages: more spectra (all over ``xlim`` when given)."""
    if "best_fit" not in ds:  # a large map stores parameters only: overview, and how to get curves
        fig = _new_figure(8.0, 3.6)
        overview(fig)
        fig.supxlabel(f"curves not stored for {ds['success'].size} spectra; rebuild chosen ones with "
                      "specfit.curves(result, data, ...) and plot those", fontsize=7)
        return [fig]
    items = _spectra(ds)
    idx, note = _pick(len(items), per_page, max_pages)
    chosen = [items[i] for i in idx]
    pages = [chosen[i:i + per_page] for i in range(0, len(chosen), per_page)]
    figs = []
    for p, page in enumerate(pages):
        nrows, ncols = _grid_shape(len(page))
        grid_h = 2.5 * nrows + 0.6
        width = max(7.5, 2.75 * ncols)
        top_h = 3.2 if p == 0 else 0.0
        fig = _new_figure(width, grid_h + top_h)
        first, last = int(idx[p * per_page]) + 1, int(idx[min((p + 1) * per_page, idx.size) - 1]) + 1
        heading = f"spectra {first}–{last} of {len(items)}" if len(pages) > 1 or note else ""
        heading = f"{heading}; {note}" if note else heading
        if p == 0:
            top, bottom = fig.subfigures(2, 1, height_ratios=[top_h, grid_h])
            overview(top)
        else:
            bottom = fig
        _draw_grid(bottom, page, heading=heading, component_labels=component_labels, xlim=xlim)
        figs.append(fig)
    return figs


def _caption(ds: xr.Dataset) -> str:
    bits = [f"library {ds.attrs['library']}" if ds.attrs.get("library") else "",
            f"background {ds.attrs['background']}" if ds.attrs.get("background") else "",
            f"shared across the series: {ds.attrs['share']}" if ds.attrs.get("share") else "",
            "bars ±1 u (statistical and model spread)" if "fraction_model_spread" in ds
            and bool(np.isfinite(ds["fraction_model_spread"].values).any()) else "bars ±1 stderr"]
    return "; ".join(b for b in bits if b)


def single_figure(ds: xr.Dataset):
    with_stats = _fraction_text(ds)
    fig = _new_figure(7.0, 4.6)
    ax, rax = fit_axes(fig)
    flags = str(spectrum_flags(ds).values.item())
    plot_fit(ds, ax, title=_caption(ds), flags=flags, component_labels=with_stats, residual_ax=rax)
    if flags:
        fig.supxlabel(flag_footnote([flags]), fontsize=6.5, color=FLAG_COLOR)
    return fig


def _overview(plot, ds: xr.Dataset, title: str | None = None):
    """Drawer of an overview panel for :func:`series_pages`: ``plot(ds, ax)`` on one axes of the subfigure."""
    def draw(sub):
        ax = sub.add_subplot()
        plot(ds, ax)
        if title is not None:
            ax.set_title(title, pad=9)  # clear of the flag markers above the top spine
    return draw


def series_overview(ds: xr.Dataset):
    return _overview(plot_fractions, ds, _caption(ds))


def raman_overview(ds: xr.Dataset):
    return _overview(plot_speciation, ds)


def plot_speciation(ds: xr.Dataset, ax=None):
    """Raman speciation: fractions with ±1 stderr (bars, clipped to 0–100 %), baseline spread (grey band)
    and the fraction under the other shape model (open diamond) per sample."""
    import matplotlib.pyplot as plt

    if ax is None:
        with plt.rc_context(RC):
            _, ax = plt.subplots(figsize=(7.0, 3.6), layout="constrained")
    plot_fractions(ds, ax, spread=ds.get("fraction_baseline_spread"))
    if "fraction_by_shape_model" in ds:
        dims = _batch_dims(ds)
        x, _, ticks = _overview_dim(ds)
        other = "common" if ds.attrs.get("primary_shape_model") == "per_band" else "per_band"
        alt = ds["fraction_by_shape_model"].sel(shape_model=other).transpose(*dims, "component")
        n_comp = alt.sizes["component"]
        vals = np.asarray(alt.values, float).reshape(-1, n_comp) * 100
        dx = (np.nanmin(np.diff(np.sort(x))) if x.size > 1 else 1.0) * 0.06 if ticks is not None else 0.0
        for k in range(n_comp):
            xk = x + (k - (n_comp - 1) / 2) * dx
            ax.plot(xk, vals[:, k], linestyle="none", marker="D", ms=4, mfc="none",
                    mec=species_colors(alt["component"].values)[str(alt["component"].values[k])],
                    label=f"{other.replace('_', '-')} shape model" if k == 0 else None)
        _outside_legend(ax)
    bars = "±1 u (statistical and model spread)" if "fraction_uncertainty" in ds else "±1 stderr (statistical)"
    ax.set_title(f"bars: {bars}; grey: baseline spread (full range over "
                 f"{', '.join(map(str, ds.attrs.get('baselines', []))) or 'baselines'})")
    return ax


def _reference_index(ds: xr.Dataset, x_size: int) -> int | None:
    """Flat index of the reference sample of NMR shifts: by name (attr ``reference_sample``), else 0 ± 0."""
    dims = _batch_dims(ds)
    ref = ds.attrs.get("reference_sample")
    if ref is not None and len(dims) == 1 and dims[0] in ds.coords:
        names = [str(v) for v in ds[dims[0]].values]
        if str(ref) in names:
            return names.index(str(ref))
    val = np.asarray(ds["shift_delta"].values, float).ravel()
    err = np.asarray(ds["shift_delta_stderr"].values, float).ravel()
    zero = np.flatnonzero((val == 0) & (err == 0))
    return int(zero[0]) if zero.size == 1 and x_size == val.size else None


def plot_shifts(ds: xr.Dataset, ax=None):
    """⁷Li shift of every sample relative to the reference sample, ±1 stderr ("n/a" where unknown).

    Samples are points (no line joins them: the samples are not a sequence);
    each is labelled with its value above its error bar, the reference sample
    with "reference".
    """
    import matplotlib.pyplot as plt

    if ax is None:
        with plt.rc_context(RC):
            _, ax = plt.subplots(figsize=(6.5, 3.4), layout="constrained")
    dims = _batch_dims(ds)
    x, label, ticks = _overview_dim(ds)
    val = np.asarray(ds["shift_delta"].transpose(*dims).values, float).ravel()
    err = np.asarray(ds["shift_delta_stderr"].transpose(*dims).values, float).ravel()
    style = dict(series_style(0), linestyle="none")
    _clipped_errorbar(ax, x, val, err, style, "", lo=-np.inf, hi=np.inf, ms=5)
    ax.axhline(0.0, color="0.5", lw=0.6, zorder=0)
    ref = _reference_index(ds, x.size)
    if x.size <= 15:
        upright = x.size <= 6
        for i, (xi, v, e) in enumerate(zip(x, val, err)):
            if not np.isfinite(v):
                continue
            text = "reference" if i == ref else format_pm(v, e)
            top = v + (e if np.isfinite(e) else 0.0)
            ax.annotate(text, (xi, top), textcoords="offset points", xytext=(0, 5), ha="center", va="bottom",
                        fontsize=6.5, rotation=0 if upright else 90,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
    _mark_flagged(ax, x, spectrum_flags(ds).transpose(*dims).values)
    _set_batch_axis(ax, x, label, ticks)
    ax.margins(y=0.25)
    ax.set_ylabel(f"shift vs {ds.attrs.get('reference_sample', 'reference')} (ppm)")
    if ax.get_legend_handles_labels()[1]:
        _outside_legend(ax)
    ax.set_title(f"{nucleus_label(ds)} shift relative to {ds.attrs.get('reference_sample', 'the reference')}, "
                 f"±1 stderr (0 ppm = {ds.attrs.get('reference_compound', 'reference compound')})")
    return ax


def nmr_overview(ds: xr.Dataset):
    return _overview(plot_shifts, ds)


def nmr_single_figure(ds: xr.Dataset):
    """One NMR spectrum: its fit, titled with the line position ± stderr (a shift against itself, 0 ± 0, says
    nothing and is not drawn)."""
    one = ds.squeeze(drop=False)
    if one["success"].ndim:
        one = ds.isel({d: 0 for d in ds["success"].dims})
    fig = _new_figure(7.0, 4.6)
    ax, rax = fit_axes(fig)
    center = float(np.ravel(one["center"].values)[0])
    err = float(np.ravel(one["center_stderr"].values)[0])
    compound = ds.attrs.get("reference_compound")
    title = f"{nucleus_label(ds)} line at {format_pm(center, err, 'ppm')}" + (f" (0 ppm = {compound})"
                                                                             if compound else "")
    flags = str(np.ravel(spectrum_flags(ds).values)[0])
    plot_fit(nmr_spectra(one), ax, title=title, flags=flags, residual_ax=rax,
             xlim=fitted_union(one) if "best_fit" in one else None)
    if flags:
        fig.supxlabel(flag_footnote([flags]), fontsize=6.5, color=FLAG_COLOR)
    return fig


def fitted_union(ds: xr.Dataset) -> tuple[float, float]:
    """Union of the fitted windows of every spectrum of a result (where ``best_fit`` is finite).

    Used as the one spectral range of all panels of NMR shifts, so that line
    positions can be compared by eye across samples.
    """
    axis = ds["best_fit"].dims[-1]
    finite = np.isfinite(ds["best_fit"])
    others = [d for d in finite.dims if d != axis]
    any_fit = np.asarray((finite.any(others) if others else finite).values, bool)
    x = np.asarray(ds[axis].values, float)
    xs = x[any_fit] if any_fit.any() else x
    return float(xs.min()), float(xs.max())


def nmr_spectra(ds: xr.Dataset) -> xr.Dataset:
    """NMR shift results hold data and best fit only: add the residual inside each fitted window."""
    out = ds.copy()
    out["residual"] = ds["data"] - ds["best_fit"]
    return out


__all__ = ["MARKERS", "PALETTE", "PER_PAGE", "RC", "axis_label", "coord_label", "ever_selected", "fit_axes",
           "fitted_union", "format_pm", "format_signed", "intensity_units", "merged_legend_entries", "nmr_overview",
           "nmr_single_figure", "nmr_spectra", "nucleus_label", "plot_fit", "plot_fractions", "plot_shifts",
           "plot_speciation", "raman_overview", "series_overview", "series_pages", "series_style", "single_figure",
           "spectrum_flags", "unit_text", "wrap_codes"]
