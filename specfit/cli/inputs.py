"""Command-line inputs: several spectrum files read into one batch (shared by every subcommand)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from specfit.errors import FileFormatError
from specfit.io import read


def read_input(path: str, *, region: str | None = None, x_column: object = None,
               y_columns: object = None) -> xr.DataArray:
    """One file as a DataArray; a multi-region file needs ``region`` (its message lists them).

    Raises
    ------
    FileFormatError
        Unreadable file, or several regions and none (or an unknown one) chosen.
    """
    kwargs = {k: v for k, v in (("x_column", x_column), ("y_columns", y_columns)) if v is not None}
    obj = read(path, **kwargs)
    if isinstance(obj, xr.DataTree):
        names = list(obj.children)
        if region is None:
            raise FileFormatError(f"{path}: holds {len(names)} regions ({', '.join(names)}) with different axes; "
                                  "choose one with --region NAME (Python: specfit.read(path)[NAME].to_dataset()) "
                                  "or fit them all with 'specfit xps-profile'")
        if region not in names:
            raise FileFormatError(f"{path}: no region {region!r}; it holds {', '.join(names)}")
        node = obj[region]
        da = node.to_dataset()
        var = list(da.data_vars)
        if len(var) != 1:
            raise FileFormatError(f"{path}: region {region!r} holds {len(var)} variables ({', '.join(var)})")
        return da[var[0]]
    if region is not None and obj.attrs.get("region") != region:  # never ignored silently (issue 22)
        if obj.attrs.get("region") is None:
            raise FileFormatError(f"{path}: holds one spectrum without region names; --region {region!r} applies "
                                  "to multi-region files (leave it out)")
        raise FileFormatError(f"{path}: holds one region ({obj.attrs.get('region')}), not {region!r}")
    return obj


def load_inputs(paths: list[str], dim: str = "spectrum", *, region: str | None = None, x_column: object = None,
                y_columns: object = None, args=None) -> xr.DataArray:
    """Read INPUT files into one DataArray; several files are stacked along ``dim``.

    With ``args`` (the parsed command line), ``--coord`` / ``--coord-from-name``
    give the batch its coordinates (one value per file) and the batch
    dimension its name (:func:`specfit.cli.common.batch_dim`).

    Raises
    ------
    FileFormatError
        A file unreadable, or files whose dims or spectral axes differ
        (no silent resampling: the message names both files).
    """
    coords = []
    if args is not None:
        from specfit.cli.common import batch_dim, file_coords

        coords = file_coords(args, paths)  # checked before any file is read
        dim = batch_dim(args)
    arrays = [read_input(p, region=region, x_column=x_column, y_columns=y_columns) for p in paths]
    if len(arrays) == 1:
        return _one_file_coords(arrays[0], coords, paths[0])
    first = arrays[0]
    axis = first.dims[-1]
    for path, da in zip(paths[1:], arrays[1:]):
        if da.dims != first.dims or da.shape != first.shape:
            raise FileFormatError(f"{path}: dims {dict(da.sizes)} differ from {paths[0]}'s {dict(first.sizes)}")
        if not np.allclose(da[axis].values, first[axis].values, rtol=0, atol=1e-9 * np.ptp(first[axis].values)):
            diff = float(np.max(np.abs(da[axis].values - first[axis].values)))
            raise FileFormatError(f"{path}: spectral axis differs from {paths[0]}'s by up to {diff:.4g}; "
                                  "resample to one axis first")
    labels = [Path(p).stem for p in paths]
    if len(set(labels)) < len(labels):
        labels = [str(p) for p in paths]
    stacked = xr.concat([a.assign_coords({axis: first[axis].values}) for a in arrays], dim=dim,
                        coords="minimal", compat="override", join="override", combine_attrs="drop_conflicts")
    stacked = stacked.assign_coords({dim: labels})
    if coords:
        from specfit.cli.common import assign_file_coords

        stacked = assign_file_coords(stacked, dim, coords)
        if dim in [name for name, _, _ in coords]:
            stacked[dim].attrs["files"] = labels
    return stacked


def _one_file_coords(da: xr.DataArray, coords: list, path: str) -> xr.DataArray:
    """One input file: a scalar coordinate per ``--coord`` (a batch file keeps its own batch coordinates)."""
    for name, units, values in coords:
        da = da.assign_coords({name: values[0]})
        if units:
            da[name].attrs["units"] = units
    return da
