"""Result files: saving a result atomically and opening it again, fully loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from specfit.atomicio import atomic_write, record_read
from specfit.errors import FileFormatError


def save(ds: xr.Dataset | xr.DataTree, path: str | Path, *, protect: tuple[str | Path, ...] = ()) -> Path:
    """Write ``ds`` (a result Dataset or DataTree) to NetCDF4/HDF5 atomically (temp file + rename).

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataTree
        A result.
    path : str or Path
        Target file.
    protect : tuple of paths
        More files that must never be overwritten; files read in this session
        (spectra, libraries, results) and the files named in ``ds.attrs``
        (``source_file``, ``inputs``, ``library_path``) are always protected.

    Raises
    ------
    SpecfitError
        The target is an input file, or cannot be written.
    """
    attrs = ds.attrs
    named = [attrs.get("source_file"), attrs.get("library_path")]
    inputs = attrs.get("inputs", [])
    named += [inputs] if isinstance(inputs, str) else list(np.atleast_1d(inputs))
    protect = tuple(protect) + tuple(str(p) for p in named if p)
    if isinstance(ds, xr.Dataset) and any(v.chunks is not None for v in ds.variables.values()):
        ds = ds.compute()  # one pass over a lazy (dask) result: written variable by variable, each would refit
    return atomic_write(Path(path), lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=True),
                        inputs=protect)


def open_results(path: str | Path) -> xr.Dataset | xr.DataTree:
    """Open a result file written by :func:`save` (fully loaded, file closed).

    Raises
    ------
    FileFormatError
        Missing, damaged or not a NetCDF4/HDF5 file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file")
    try:
        tree = xr.open_datatree(path, engine="h5netcdf")
        with tree:
            loaded = tree.load().copy() if tree.children else tree.to_dataset().load().copy()
    except Exception as exc:  # h5py/h5netcdf raise many types for corrupt files
        raise FileFormatError(f"{path}: not a readable NetCDF4/HDF5 result file ({type(exc).__name__})") from None
    record_read(path)
    return loaded
