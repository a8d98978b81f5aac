"""Chunk-by-chunk fitting of dask-backed DataArrays through ``xarray.apply_ufunc``.

Each chunk of spectra (the spectral axis kept whole) is fitted independently
by the numpy engine, so the same call runs on a laptop's threads or on a
``dask.distributed`` cluster.  A global fit (``share``) couples every
spectrum, so it cannot be split into chunks: the data are loaded and fitted
in one piece.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .library import Library
from .uncertainty import QUANTITIES

_PER_COMPONENT = tuple(QUANTITIES) + tuple(f"{q}_stderr" for q in QUANTITIES) + ("shape",)
_PER_SPECTRUM = ("success", "redchi", "rsquared", "aic", "bic", "nfev", "chisqr", "charge_shift")
_CURVES = ("best_fit", "background")


def fit_dask(data: xr.DataArray, lib: Library, *, share: tuple[str, ...], **options) -> xr.Dataset:
    """Fit a dask-backed ``data`` lazily; returns a Dataset of dask arrays in the result schema."""
    from .fitting import fit

    if share:
        return fit(data.compute(), lib, share=share, **options)
    axis = data.dims[-1]
    window = options.pop("window", None) or lib.window
    if window is not None and axis in data.coords:
        x_all = data[axis].values
        inside = np.nonzero((x_all >= window[0]) & (x_all <= window[1]))[0]
        if inside.size >= 5:
            data = data.isel({axis: inside})
    data = data.chunk({axis: -1})
    x = data[axis].values if axis in data.coords else np.arange(data.sizes[axis], dtype=float)
    probe = fit(xr.DataArray(np.asarray(data.isel({d: 0 for d in data.dims[:-1]}).values), dims=(axis,),
                             coords={axis: x}), lib, window=window, **options)
    n_comp = probe.sizes["component"]

    def block(y: np.ndarray):
        lead = y.shape[:-1]
        flat = xr.DataArray(y.reshape(-1, y.shape[-1]), dims=("_spectrum", axis), coords={axis: x})
        ds = fit(flat, lib, window=window, **options)
        per_comp = np.stack([ds[v].values for v in _PER_COMPONENT], axis=-1)
        per_spec = np.stack([ds[v].values.astype(float) for v in _PER_SPECTRUM], axis=-1)
        curves = np.stack([ds[v].values for v in _CURVES], axis=1)
        comp_curves = ds["component_curve"].values
        return (per_comp.reshape(lead + per_comp.shape[1:]), per_spec.reshape(lead + per_spec.shape[1:]),
                curves.reshape(lead + curves.shape[1:]), comp_curves.reshape(lead + comp_curves.shape[1:]))

    per_comp, per_spec, curves, comp_curves = xr.apply_ufunc(
        block, data, input_core_dims=[[axis]],
        output_core_dims=[["component", "_quantity"], ["_stat"], ["_curve", axis], ["component", axis]],
        dask="parallelized", output_dtypes=[float, float, float, float],
        dask_gufunc_kwargs={"output_sizes": {"component": n_comp, "_quantity": len(_PER_COMPONENT),
                                             "_stat": len(_PER_SPECTRUM), "_curve": len(_CURVES)},
                            "allow_rechunk": True},
    )
    out = xr.Dataset(coords={k: v for k, v in data.coords.items()})
    for k, name in enumerate(_PER_COMPONENT):
        out[name] = per_comp.isel(_quantity=k, drop=True)
    for k, name in enumerate(_PER_SPECTRUM):
        var = per_spec.isel(_stat=k, drop=True)
        out[name] = var.astype(bool) if name == "success" else var.astype(int) if name == "nfev" else var
    out["data"] = data
    for k, name in enumerate(_CURVES):
        out[name] = curves.isel(_curve=k, drop=True)
    out["residual"] = data - out["best_fit"]
    out["component_curve"] = comp_curves
    out = out.assign_coords({name: probe[name] for name in probe.coords if "component" in probe[name].dims})
    out.attrs.update(probe.attrs)
    out.attrs["dask"] = "fitted chunk by chunk (xarray.apply_ufunc, dask='parallelized')"
    return out
