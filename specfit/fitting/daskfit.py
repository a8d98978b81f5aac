"""Chunk-by-chunk fitting of dask-backed DataArrays, lazily, in the same result schema.

Each chunk of spectra (batch dimensions chunked, the spectral axis whole)
goes through the same pipeline as in-memory data
(:func:`specfit.fitting.pipeline.fit_prepared`, then
:func:`specfit.results.build_dataset`) inside ``xarray.map_blocks``, so the
result carries every variable of the schema -- covariances, flags and
messages included -- as dask arrays.  The map is fitted at ``.compute()``
(``fit`` itself only reads and fits the pilot spectra and the first
spectrum), on whatever scheduler is active: the local threads, or a
``dask.distributed`` cluster once a ``Client`` is connected.  The library
and options travel to the workers with each task (both pickle); no worker
needs the library file.

* Starting values: a map of :data:`~specfit.fitting.pipeline.PILOT_MIN` spectra or
  more starts from a pilot fit of spectra spread over the *whole* map
  (:func:`specfit.fitting.pipeline.pilot_rows`).  Those spectra are read from their
  chunks when ``fit`` is called (spread over the map, they usually touch
  every chunk: one extra pass over the data) and sent with every chunk,
  which refits them, so each chunk starts exactly as the in-memory fit does.
* Progress: the fit is lazy, so the progress to watch is dask's, at compute
  time (``dask.diagnostics.ProgressBar`` on the local scheduler,
  ``distributed.progress`` or the dashboard on a cluster); chunks never
  print a progress bar of their own.
* Resampled uncertainties (``uncertainty="montecarlo"``/``"bootstrap"``)
  are drawn chunk by chunk, each chunk seeded with ``(seed, index of its
  first spectrum)``: reproducible for a given chunking and independent of
  the scheduler, but not the same draws as one in-memory fit.
* A global fit (``share``) couples every spectrum of the series in one least-
  squares problem, so its data are loaded into the calling process and
  fitted there, in one piece, when ``fit`` is called (``attrs["dask"]``
  says so); the result is in memory.
"""

from __future__ import annotations

from dataclasses import replace

import dask.array as dsa
import numpy as np
import xarray as xr

from specfit.fitting.dataset import MAX_STORED_CURVES, build_dataset, curves_note
from specfit.fitting.montecarlo import apply_resampled_errors
from specfit.fitting.pipeline import fit_prepared, pilot_rows
from specfit.fitting.prepare import Prepared, prepare
from specfit.library.loader import Library
from specfit.options import FitOptions

_TEXT = ("flags", "fit_message", "notes", "note_message")


def _fit_in_memory(data: xr.DataArray, lib: Library, options: FitOptions, store_curves: bool | None = None,
                   seed: object = None, pilot: Prepared | None = None) -> xr.Dataset:
    """The in-memory fit of ``data`` from ``pilot``'s start (resampled errors seeded with ``seed``, if asked for)."""
    outcome = fit_prepared(prepare(data, lib, window=options.window, weights=options.weights), lib, options, pilot)
    ds = build_dataset(outcome, store_curves=store_curves)
    if options.uncertainty != "covariance":
        ds = apply_resampled_errors(ds, replace(outcome, options=replace(options, seed=seed)))
    return ds


def _fit_block(block: xr.DataArray, index: xr.DataArray, lib: Library, options: FitOptions,
               store_curves: bool, pilot: Prepared | None) -> xr.Dataset:
    """One chunk; ``index`` holds the flat positions of its spectra in the whole map."""
    seed = None if options.seed is None else (options.seed, int(index.values.flat[0]))
    ds = _fit_in_memory(block, lib, replace(options, progress=False), store_curves, seed, pilot)  # progress: dask's
    for name in _TEXT:
        ds[name] = ds[name].astype(object)
    ds.attrs = {}
    return ds


def _pilot(data: xr.DataArray, lib: Library, options: FitOptions) -> Prepared | None:
    """The pilot spectra of the whole map (the rows the in-memory fit picks), read from their chunks."""
    rows = pilot_rows(int(np.prod(data.shape[:-1], dtype=np.int64)))
    if rows is None or options.start == "library":
        return None
    where = np.unravel_index(rows, data.shape[:-1])
    picked = data.isel({d: xr.DataArray(w, dims="pilot") for d, w in zip(data.dims[:-1], where)})
    return prepare(picked.compute(), lib, window=options.window, weights=options.weights)


def _template(probe: xr.Dataset, data: xr.DataArray) -> xr.Dataset:
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
        ds = _fit_in_memory(data.compute(), lib, options, seed=options.seed)
        ds.attrs["dask"] = ("global fit (share=...): it couples every spectrum of the series, so the data were "
                            "loaded into the calling process and fitted there in one piece when fit() was called; "
                            "the result is in memory, not lazy")
        return ds
    axis = data.dims[-1]
    window = options.window or lib.window
    if window is not None and axis in data.coords:
        x_all = data[axis].values
        inside = np.nonzero((x_all >= window[0]) & (x_all <= window[1]))[0]
        if inside.size >= 5:
            data = data.isel({axis: inside})
    data = data.chunk({axis: -1})
    batch = data.dims[:-1]
    n_spectra = int(np.prod(data.shape[:-1], dtype=np.int64))
    store = n_spectra <= MAX_STORED_CURVES
    index = xr.DataArray(dsa.arange(n_spectra).reshape(data.shape[:-1]).rechunk(data.chunks[:-1]), dims=batch,
                         coords={d: data[d] for d in batch if d in data.indexes})
    pilot = _pilot(data, lib, options)
    first = prepare(data.isel({d: slice(0, 1) for d in batch}).compute(), lib, window=options.window,
                    weights=options.weights)
    probe = build_dataset(fit_prepared(first, lib, options, pilot), store_curves=store)  # shapes, dtypes, attrs
    out = xr.map_blocks(_fit_block, data, args=(index, lib, options, store, pilot), template=_template(probe, data))
    out.attrs.update(probe.attrs)
    out.attrs["curves"] = curves_note(n_spectra, store)
    if options.uncertainty != "covariance":
        out.attrs["uncertainty"] = (f"{options.uncertainty} ({options.n_draws} draws, seed {options.seed}; drawn "
                                    "chunk by chunk, each chunk seeded with (seed, index of its first spectrum))")
    out.attrs["dask"] = "fitted chunk by chunk (xarray.map_blocks over the batch chunks, same pipeline as numpy)"
    return out
