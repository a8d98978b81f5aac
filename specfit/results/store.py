"""Result files: saving a result atomically and opening it again, fully loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from specfit._version import __version__
from specfit.atomicio import check_not_input, check_regular_target, record_read, write_bytes
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
        The target is an input file, or cannot be written: :class:`~specfit.errors.OutputError`
        for a device, FIFO or folder as target, a full disk or any failed write (the old file is
        then unchanged and no temporary file is left).
    """
    attrs = ds.attrs
    named = [attrs.get("source_file"), attrs.get("library_path")]
    inputs = attrs.get("inputs", [])
    named += [inputs] if isinstance(inputs, str) else list(np.atleast_1d(inputs))
    protect = tuple(protect) + tuple(str(p) for p in named if p)
    if isinstance(ds, xr.Dataset) and any(v.chunks is not None for v in ds.variables.values()):
        ds = ds.compute()  # one pass over a lazy (dask) result: written variable by variable, each would refit
    path = Path(path)
    check_not_input(path, protect)
    check_regular_target(path)  # refused before the work of serialising
    # serialised in memory: HDF5 never writes to the disk, so a full disk is one clean OSError of a plain
    # file write (an HDF5 file failing mid-write crashed the interpreter when it was closed later)
    data = ds.to_netcdf(engine="h5netcdf", invalid_netcdf=True)
    return write_bytes(path, data, inputs=protect)


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
    _check_version(path, loaded)
    return loaded


def _check_version(path: Path, loaded: xr.Dataset | xr.DataTree) -> None:
    """Refuse a result written by a newer major version of specfit (its schema may mean other things).

    Results without ``specfit_version`` (e.g. a comparison table) open as they are; an older or equal
    major version opens; a newer major one, or a version that does not parse, is a FileFormatError.
    """
    written = loaded.attrs.get("specfit_version")
    if written is None:
        return
    try:
        major = int(str(written).split(".")[0])
    except ValueError:
        raise FileFormatError(f"{path}: specfit_version {written!r} is not a version number "
                              "(edited or damaged result?)") from None
    ours = int(__version__.split(".")[0])
    if major > ours:
        raise FileFormatError(f"{path}: written by specfit {written}, a newer major version than this specfit "
                              f"{__version__}; its result schema may differ: upgrade specfit to open it")
