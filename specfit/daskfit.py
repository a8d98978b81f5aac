"""Chunk-by-chunk fitting of dask-backed DataArrays, lazily, in the same result schema.

Each chunk of spectra (the spectral axis kept whole) goes through the same
pipeline as in-memory data (:func:`specfit.pipeline.fit_prepared` then
:func:`specfit.results.build_dataset`), inside ``xarray.map_blocks``, so the
result carries every variable of the schema -- covariances, flags and
messages included -- as dask arrays, and the same call runs on a laptop's
threads or on a ``dask.distributed`` cluster (the default scheduler of an
active ``Client``).  A global fit (``share``) couples every spectrum of the
series, so its data must be in one process: they are loaded and fitted in one
piece, and ``attrs["dask"]`` says so.
"""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import xarray as xr

from .library import Library
from .options import FitOptions
from .pipeline import fit_prepared
from .prepare import prepare
from .results import MAX_STORED_CURVES, build_dataset

_TEXT = ("flags", "fit_message")


def _fit_block(block: xr.DataArray, lib: Library, options: FitOptions, store_curves: bool,
               keep_attrs: bool = False) -> xr.Dataset:
    prep = prepare(block, lib, window=options.window, weights=options.weights)
    ds = build_dataset(fit_prepared(prep, lib, options), store_curves=store_curves)
    for name in _TEXT:
        ds[name] = ds[name].astype(object)
    if not keep_attrs:
        ds.attrs = {}
    return ds


def _template(probe: xr.Dataset, data: xr.DataArray, axis: str) -> xr.Dataset:
    """Lazy Dataset shaped like the full result, chunked like ``data``'s batch dims."""
    batch = data.dims[:-1]
    chunks = dict(zip(batch, data.chunks[:-1]))
    out = xr.Dataset(coords={k: v for k, v in data.coords.items() if set(v.dims) <= set(batch)})
    for name, var in probe.data_vars.items():
        dims = batch + tuple(d for d in var.dims if d not in batch)
        shape = tuple(data.sizes[d] if d in batch else probe.sizes[d] for d in dims)
        chunk = tuple(chunks[d] if d in batch else (probe.sizes[d],) for d in dims)
        dtype = object if name in _TEXT else var.dtype
        out[name] = xr.Variable(dims, dsa.empty(shape, chunks=chunk, dtype=dtype), attrs=var.attrs)
    for name, coord in probe.coords.items():
        if not set(coord.dims) & set(batch) and name not in out.coords:
            out = out.assign_coords({name: coord})
    return out


def fit_dask(data: xr.DataArray, lib: Library, options: FitOptions) -> xr.Dataset:
    """Fit a dask-backed ``data`` lazily; returns the result schema as dask arrays.

    Parameters
    ----------
    data : xarray.DataArray
        Dask-backed spectra (last dim = spectral axis).
    lib : Library
        Resolved library.
    options : FitOptions
        Validated options.
    """
    if options.share:
        loaded = data.compute()
        ds = build_dataset(fit_prepared(prepare(loaded, lib, window=options.window, weights=options.weights), lib,
                                options))
        ds.attrs["dask"] = ("global fit (share=...): it couples every spectrum of the series, so the data were "
                            "loaded into one process and fitted in one piece")
        return ds
    axis = data.dims[-1]
    window = options.window or lib.window
    if window is not None and axis in data.coords:
        x_all = data[axis].values
        inside = np.nonzero((x_all >= window[0]) & (x_all <= window[1]))[0]
        if inside.size >= 5:
            data = data.isel({axis: inside})
    data = data.chunk({axis: -1})
    n_spectra = int(np.prod(data.shape[:-1], dtype=np.int64))
    store = n_spectra <= MAX_STORED_CURVES
    first = data.isel({d: slice(0, 1) for d in data.dims[:-1]}).compute()
    probe = _fit_block(first, lib, options, store, keep_attrs=True)
    template = _template(probe, data, axis)
    out = xr.map_blocks(_fit_block, data, args=(lib, options, store), template=template)
    out.attrs.update(probe.attrs)
    out.attrs["dask"] = "fitted chunk by chunk (xarray.map_blocks over the batch chunks, same pipeline as numpy)"
    return out
