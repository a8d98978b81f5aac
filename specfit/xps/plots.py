"""Depth-profile figures: atomic % and species % vs etch time, and one region's fit."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..plotting import plot_fit


def _batch_axis(ds: xr.Dataset) -> tuple[str, np.ndarray, str]:
    """The one batch dimension to plot against: its values and an axis label (etch time in s if known)."""
    dims = [d for d in ds["atomic_percent"].dims if d != "element"]
    if len(dims) != 1:
        raise ValueError(f"depth-profile plot needs one batch dimension, got {dims}")
    dim = dims[0]
    if "etch_time" in ds.coords and ds["etch_time"].dims == (dim,):
        return dim, np.asarray(ds["etch_time"].values, float), "etch time (s)"
    values = ds[dim].values if dim in ds.coords else np.arange(ds.sizes[dim])
    return dim, np.asarray(values), dim


def plot_depth_profile(tree: xr.DataTree, axes=None):
    """Atomic % per element (left) and species % within each element (right) vs etch time, with 1-sigma bars.

    Parameters
    ----------
    tree : xarray.DataTree
        Result of :func:`specfit.xps.fit_depth_profile` (or reopened from file).
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    root = tree.to_dataset()
    if root["atomic_percent"].ndim == 1:  # a single spectrum per region: one point per curve
        root = root.expand_dims(step=[0])
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    else:
        fig = axes[0].figure
    _, t, label = _batch_axis(root)
    for elem in root["element"].values:
        ap = root["atomic_percent"].sel(element=elem)
        err = root["atomic_percent_stderr"].sel(element=elem)
        axes[0].errorbar(t, ap.values, yerr=np.nan_to_num(err.values), marker="o", ms=3, capsize=2, label=str(elem))
    axes[0].set_ylabel("atomic %")
    for sp in root["species"].values:
        pct = root["species_percent"].sel(species=sp)
        err = root["species_percent_stderr"].sel(species=sp)
        axes[1].errorbar(t, pct.values, yerr=np.nan_to_num(err.values), marker="o", ms=3, capsize=2, label=str(sp))
    axes[1].set_ylabel("species % of its element")
    for ax in axes:
        ax.set_xlabel(label)
        ax.legend(fontsize=7)
    fig.suptitle(f"XPS depth profile, charge reference: {root.attrs.get('charge_reference', 'none')}", fontsize=10)
    return fig


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
    where = ", ".join(f"{d}={one[d].values}" for d in dims)
    return plot_fit(one, ax, title=f"{region} {where} (charge shift {shift:+.2f} eV)")
