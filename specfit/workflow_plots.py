"""Figures of the Raman speciation and 7Li NMR workflows (matplotlib, Agg-safe)."""

from __future__ import annotations

import numpy as np
import xarray as xr


def _series_dim(ds: xr.Dataset) -> str:
    dims = [d for d in ds["fraction" if "fraction" in ds else "center"].dims if d != "component"]
    if len(dims) != 1:
        raise ValueError(f"expected one series dimension, got {dims}")
    return dims[0]


def raman_fits(ds: xr.Dataset, ax=None, *, offset: float | None = None):
    """Stacked fits per sample: data, envelope and each band shaded above the background (cm-1)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(6, 7))[1]
    dim, axis = _series_dim(ds), ds["data"].dims[-1]
    x = ds[axis].values
    step = offset if offset is not None else float(np.nanmax(ds["data"] - ds["background"])) * 0.8
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, label in enumerate(ds[dim].values):
        one = ds.isel({dim: i})
        shift = i * step - one["background"].values
        ax.plot(x, one["data"].values + shift, ".", ms=2, color="0.3")
        ax.plot(x, one["best_fit"].values + shift, color="k", lw=1)
        for k, comp in enumerate(ds["component"].values):
            curve = one["component_curve"].values[k]
            ax.fill_between(x, i * step, curve + i * step, alpha=0.35, color=colors[k % len(colors)],
                            label=str(comp) if i == 0 else None)
        ax.text(x[-1], i * step, f" {label}", va="bottom", fontsize=8)
    ax.set_xlabel("Raman shift (cm$^{-1}$)")
    ax.set_ylabel("intensity - baseline (offset)")
    ax.legend(fontsize=8)
    return ax


def fraction_bars(ds: xr.Dataset, ax=None):
    """Grouped fraction bars: thick error bar = statistical stderr, thin grey bar = baseline spread,
    red cross = the fraction under the other shape model (common vs per-band Voigt shape)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(7, 4))[1]
    dim = _series_dim(ds)
    comps = ds["component"].values
    pos = np.arange(ds.sizes[dim])
    width = 0.8 / len(comps)
    for k, comp in enumerate(comps):
        f = ds["fraction"].sel(component=comp).values * 100
        se = ds["fraction_stderr"].sel(component=comp).values * 100
        xk = pos + (k - (len(comps) - 1) / 2) * width
        ax.bar(xk, f, width, label=str(comp))
        if "fraction_baseline_spread" in ds:
            spread = ds["fraction_baseline_spread"].sel(component=comp).values * 100
            ax.errorbar(xk, f, yerr=spread / 2, fmt="none", ecolor="0.6", elinewidth=1, capsize=4)
        ax.errorbar(xk, f, yerr=se, fmt="none", ecolor="k", elinewidth=2, capsize=0)
        if "fraction_by_shape_model" in ds:
            other = "common" if ds.attrs.get("primary_shape_model") == "per_band" else "per_band"
            alt = ds["fraction_by_shape_model"].sel(component=comp, shape_model=other).values * 100
            ax.plot(xk, alt, "x", color="tab:red", ms=5, label=f"{other} shape" if k == 0 else None)
    ax.set_xticks(pos, [str(v) for v in ds[dim].values])
    ax.set_ylabel("area fraction (%)")
    ax.set_title("black: ±1 stderr (statistical); grey: baseline spread (full range); "
                 "red x: other shape model", fontsize=8)
    ax.legend(fontsize=8)
    return ax


def nmr_overlay(ds: xr.Dataset, axes=None):
    """7Li spectra overlaid with fitted centers marked (left) and shift vs sample with error bars (right)."""
    import matplotlib.pyplot as plt

    if axes is None:
        axes = plt.subplots(1, 2, figsize=(10, 4))[1]
    left, right = axes
    dim, axis = ds["center"].dims[0], ds["data"].dims[-1]
    x = ds[axis].values
    lo, hi = float(ds["center"].min() - 10 * ds["fwhm"].max()), float(ds["center"].max() + 10 * ds["fwhm"].max())
    for i, label in enumerate(ds[dim].values):
        one = ds.isel({dim: i})
        line = left.plot(x, one["data"].values, lw=1, label=str(label))[0]
        left.axvline(float(one["center"]), color=line.get_color(), ls="--", lw=0.8)
    left.set_xlim(hi, lo)  # NMR convention: ppm decreasing to the right
    left.set_xlabel("$^7$Li shift (ppm)")
    left.legend(fontsize=8)
    right.errorbar(np.arange(ds.sizes[dim]), ds["shift_delta"].values, yerr=ds["shift_delta_stderr"].values,
                   fmt="o", capsize=3)
    right.set_xticks(np.arange(ds.sizes[dim]), [str(v) for v in ds[dim].values])
    right.set_ylabel(f"shift vs {ds.attrs.get('reference_sample', 'reference')} (ppm)")
    return axes


__all__ = ["fraction_bars", "nmr_overlay", "raman_fits"]
