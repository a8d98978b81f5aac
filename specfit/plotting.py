"""Matplotlib figures of fit results (Agg-safe: no display needed)."""

from __future__ import annotations

import numpy as np
import xarray as xr


def _batch_dims(ds: xr.Dataset) -> tuple[str, ...]:
    return tuple(ds["success"].dims)


def _spectra(ds: xr.Dataset) -> list[tuple[str, xr.Dataset]]:
    dims = _batch_dims(ds)
    if not dims:
        return [("", ds)]
    stacked = ds.stack(_spectrum=dims)
    out = []
    for i in range(stacked.sizes["_spectrum"]):
        one = stacked.isel(_spectrum=i)
        label = ", ".join(f"{d}={one[d].values}" for d in dims)
        out.append((label, one))
    return out


def plot_fit(ds: xr.Dataset, ax=None, *, title: str = ""):
    """One spectrum's fit: data, envelope, shaded components on the background, residual below.

    Binding-energy axes are drawn reversed (high BE on the left), as XPS users read them.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    axis = ds["data"].dims[-1]
    x = ds[axis].values
    bg = ds["background"].values
    ax.plot(x, ds["data"].values, ".", ms=2.5, color="0.3", label="data")
    for k, name in enumerate(ds["component"].values):
        curve = ds["component_curve"].values[k] + bg
        ax.fill_between(x, bg, curve, alpha=0.35, label=str(name))
    ax.plot(x, bg, "--", color="0.5", lw=1, label="background")
    ax.plot(x, ds["best_fit"].values, color="k", lw=1.2, label="fit")
    resid = ds["residual"].values
    offset = np.nanmin(ds["data"].values) - 1.2 * np.nanmax(np.abs(resid))
    ax.plot(x, resid + offset, color="tab:red", lw=0.8, label="residual")
    ax.axhline(offset, color="tab:red", lw=0.4)
    if axis == "binding_energy" or ds.attrs.get("technique") == "xps":
        ax.set_xlim(max(x), min(x))
    elif axis == "chemical_shift":
        ax.set_xlim(max(x), min(x))
    units = {"binding_energy": "binding energy (eV)", "raman_shift": "Raman shift (cm$^{-1}$)",
             "chemical_shift": "chemical shift (ppm)"}
    ax.set_xlabel(units.get(axis, axis))
    ax.set_ylabel("intensity")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    return ax


def plot_fractions(ds: xr.Dataset, ax=None, *, spread: xr.DataArray | None = None):
    """Bars of component fractions per spectrum with statistical error bars (and a spread if given)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    items = _spectra(ds)
    comps = [str(c) for c in ds["component"].values]
    width = 0.8 / max(len(comps), 1)
    pos = np.arange(len(items))
    for k, name in enumerate(comps):
        vals = np.array([one["fraction"].values[k] for _, one in items]) * 100
        errs = np.array([one["fraction_stderr"].values[k] for _, one in items]) * 100
        ax.bar(pos + k * width, vals, width, yerr=np.nan_to_num(errs), capsize=2, label=name)
        if spread is not None:
            sp = np.asarray(spread.transpose(..., "component").values).reshape(-1, len(comps))[:, k] * 100
            ax.errorbar(pos + k * width + width / 4, vals, yerr=sp, fmt="none", ecolor="k", capsize=4, lw=0.8)
    ax.set_xticks(pos + width * (len(comps) - 1) / 2, [lbl.split("=")[-1] for lbl, _ in items], rotation=30)
    ax.set_ylabel("fraction of fitted area (%)")
    ax.legend(fontsize=7)
    return ax


def report_figure(ds: xr.Dataset, max_spectra: int = 6):
    """Report page: up to ``max_spectra`` fits and the fraction bars of the whole batch."""
    import matplotlib.pyplot as plt

    items = _spectra(ds)[:max_spectra]
    n = len(items)
    ncols = min(3, n)
    nrows = int(np.ceil(n / ncols)) + 1
    fig = plt.figure(figsize=(4.2 * ncols, 3.2 * nrows), layout="constrained")
    for i, (label, one) in enumerate(items):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        plot_fit(one, ax, title=label or ds.attrs.get("library", ""))
    ax = fig.add_subplot(nrows, 1, nrows)
    plot_fractions(ds, ax)
    fig.suptitle(f"specfit {ds.attrs.get('specfit_version', '')}: library {ds.attrs.get('library', '')}, "
                 f"share={ds.attrs.get('share') or 'none'}", fontsize=10)
    return fig
